using Microsoft.EntityFrameworkCore;
namespace Countersign.Passkeys;

/// <summary>Section <c>Passkeys</c> (WebAuthn).</summary>
public sealed class PasskeysOptions
{
    public const string Section = "Passkeys";

    /// <summary>The relying party id, a registrable domain such as <c>example.com</c>; default: the request's host.</summary>
    public string? RelyingPartyId { get; set; }

    /// <summary>Origins allowed to use passkeys, e.g. <c>https://login.example.com</c>; default: the request's own origin.</summary>
    public List<string> Origins { get; set; } = [];
}

/// <summary>When a passkey last signed someone in; Identity's passkey record keeps no such date.</summary>
public sealed class PasskeyUse
{
    public required byte[] CredentialId { get; set; }
    public Guid UserId { get; set; }
    public DateTimeOffset LastUsedAt { get; set; }
}

internal sealed class PasskeyUseConfiguration : Microsoft.EntityFrameworkCore.IEntityTypeConfiguration<PasskeyUse>
{
    public void Configure(Microsoft.EntityFrameworkCore.Metadata.Builders.EntityTypeBuilder<PasskeyUse> e)
    {
        e.ToTable("passkey_uses");
        e.HasKey(x => x.CredentialId);
        e.HasIndex(x => x.UserId);
    }
}
