namespace Countersign.Totp;

/// <summary>Section <c>Totp</c>.</summary>
public sealed class TotpOptions
{
    public const string Section = "Totp";

    /// <summary>The name authenticator apps show beside the account.</summary>
    public string Issuer { get; set; } = "Countersign";
}

internal sealed class TotpOptionsValidator : Microsoft.Extensions.Options.IValidateOptions<TotpOptions>
{
    // The otpauth URI's label is "issuer:account"; a colon in the issuer would split it in the wrong place.
    public Microsoft.Extensions.Options.ValidateOptionsResult Validate(string? name, TotpOptions options) =>
        string.IsNullOrWhiteSpace(options.Issuer) || options.Issuer.Contains(':', StringComparison.Ordinal)
            ? Microsoft.Extensions.Options.ValidateOptionsResult.Fail("Totp:Issuer must be a non-empty name without ':' (authenticator apps show it).")
            : Microsoft.Extensions.Options.ValidateOptionsResult.Success;
}
