namespace Countersign.Totp;

/// <summary>Section <c>Totp</c>.</summary>
public sealed class TotpOptions
{
    public const string Section = "Totp";

    /// <summary>The name authenticator apps show beside the account.</summary>
    public string Issuer { get; set; } = "Countersign";
}
