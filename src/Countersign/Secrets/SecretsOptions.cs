using Microsoft.Extensions.Options;

namespace Countersign.Secrets;

/// <summary>
/// Section <c>Secrets</c>. The master key (wraps the Data Protection key ring) and the password peppers
/// never live in the database. Give them through configuration (env
/// <c>COUNTERSIGN__Secrets__MasterKey</c>, <c>COUNTERSIGN__Secrets__Peppers__1</c>) or let the server
/// generate <see cref="KeyFile"/> on first run.
/// </summary>
public sealed class SecretsOptions
{
    public const string Section = "Secrets";

    public string KeyFile { get; set; } = "data/keys.json";

    /// <summary>Base64, 32 bytes.</summary>
    public string? MasterKey { get; set; }

    /// <summary>Pepper version → base64 pepper (≥ 32 bytes). The highest version hashes new passwords.</summary>
    public Dictionary<string, string> Peppers { get; set; } = [];
}

internal sealed class SecretsOptionsValidator : IValidateOptions<SecretsOptions>
{
    public ValidateOptionsResult Validate(string? name, SecretsOptions o)
    {
        var errors = new List<string>();
        if (o.MasterKey is not null && Decode(o.MasterKey) is not { Length: 32 })
        {
            errors.Add("Secrets:MasterKey must be 32 bytes in base64.");
        }
        foreach (var (version, pepper) in o.Peppers)
        {
            if (!int.TryParse(version, out var v) || v < 1)
            {
                errors.Add($"Secrets:Peppers:{version}: the version must be a positive whole number.");
            }
            if (Decode(pepper) is not { Length: >= 32 })
            {
                errors.Add($"Secrets:Peppers:{version} must be at least 32 bytes in base64.");
            }
        }
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    internal static byte[]? Decode(string base64)
    {
        try
        {
            return Convert.FromBase64String(base64);
        }
        catch (FormatException)
        {
            return null;
        }
    }
}
