using System.Text.Json;

namespace Countersign.Audit;

/// <summary>The small JSON object an audit row carries in <see cref="AuditEvent.Detail"/>; never a secret.</summary>
public static class AuditDetail
{
    public static string Of(object value) => JsonSerializer.Serialize(value);
}
