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

internal sealed class PasskeysOptionsValidator : Microsoft.Extensions.Options.IValidateOptions<PasskeysOptions>
{
    public Microsoft.Extensions.Options.ValidateOptionsResult Validate(string? name, PasskeysOptions options)
    {
        var errors = new List<string>();
        // A relying party id is a host name (WebAuthn §5.1.2: a registrable domain suffix of the origin), nothing more.
        if (options.RelyingPartyId is { } rp && (rp.Length == 0 || Uri.CheckHostName(rp) is not (UriHostNameType.Dns or UriHostNameType.IPv4 or UriHostNameType.IPv6)))
        {
            errors.Add($"Passkeys:RelyingPartyId must be a host name such as example.com (no scheme, port or path); '{rp}' is not.");
        }
        foreach (var origin in options.Origins)
        {
            if (!Uri.TryCreate(origin, UriKind.Absolute, out var uri) || uri.Scheme is not ("https" or "http")
                || uri.PathAndQuery != "/" || uri.UserInfo.Length > 0 || origin.TrimEnd('/') != uri.GetLeftPart(UriPartial.Authority))
            {
                errors.Add($"Passkeys:Origins: '{origin}' is not an origin such as https://login.example.com (scheme, host and port only).");
            }
        }
        return errors.Count == 0 ? Microsoft.Extensions.Options.ValidateOptionsResult.Success : Microsoft.Extensions.Options.ValidateOptionsResult.Fail(errors);
    }
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
