using System.Collections.Frozen;
using Countersign.Operations;

namespace Countersign.SignIn;

/// <summary>The factors a sign-in can rest on, by the names the audit, the attempt log and 417's <c>methods</c> use.</summary>
public static class Factors
{
    public const string Password = "password";
    public const string Totp = "totp";
    public const string RecoveryCode = "recovery_code";
    public const string Passkey = "passkey";
    /// <summary>A face compared with the enrolled template (quad-factor protocol; never a factor on its own).</summary>
    public const string Face = "face";
    /// <summary>A request signed by the enrolled device key, from the enrolled MAC (quad-factor protocol).</summary>
    public const string DeviceKey = "device_key";
    /// <summary>Possession of a key being enrolled: the request is signed by it (registration, device replacement).</summary>
    public const string NewDeviceKey = "new_device_key";
}

/// <summary>
/// One attempt to prove who someone is, on any channel: what they present and where it comes from.
/// Nothing HTTP is in here, so the API, the pages and the protocols to come all describe an attempt alike.
/// </summary>
public sealed record SignInAttempt
{
    /// <summary>Where the attempt came from (<c>api</c>, <c>browser</c>, <c>mfa_reset</c>, ...), for the audit and the attempt log.</summary>
    public required string Channel { get; init; }

    public required ClientInfo Client { get; init; }

    /// <summary>The account by name, as typed (a first step).</summary>
    public string? Username { get; init; }

    /// <summary>The account by id, for a later step: the one a spent step token or a passkey assertion named.</summary>
    public Guid? UserId { get; init; }

    public string? Password { get; init; }

    public string? TotpCode { get; init; }

    public string? RecoveryCode { get; init; }

    /// <summary>
    /// The password to set when the account must change its password (<see cref="Accounts.User.PasswordChangeRequired"/>),
    /// already checked against the policy by the caller; ignored for any other account.
    /// </summary>
    public string? NewPassword { get; init; }

    /// <summary>The base64 payload of a solved proof-of-work challenge, when one was asked for.</summary>
    public string? Captcha { get; init; }

    /// <summary>
    /// Factors the caller proved itself moments ago: <see cref="Factors.Password"/> for a browser's second step
    /// (its single-use step token), <see cref="Factors.Passkey"/> for a WebAuthn assertion.
    /// </summary>
    public IReadOnlySet<string> Proven { get; init; } = FrozenSet<string>.Empty;

    /// <summary>What further factor checks read (a face photo, a device signature), by factor name.</summary>
    public IReadOnlyDictionary<string, object> Evidence { get; init; } = FrozenDictionary<string, object>.Empty;

    /// <summary>
    /// Factors that must all pass. Null is the usual rule: the password (or a passkey alone), then one of the
    /// account's second factors when it has any.
    /// </summary>
    public IReadOnlyList<string>? Required { get; init; }

    /// <summary>True when this attempt presents a code that a second-factor rate limit should count.</summary>
    internal bool PresentsCode => TotpCode is not null || RecoveryCode is not null;
}
