using System.Security.Cryptography;
using Countersign.Ephemeral;
using Microsoft.AspNetCore.DataProtection;

namespace Countersign.Sessions;

/// <summary>
/// The browser's ticket from the password step to the second-factor step: signed, five minutes long,
/// naming the user and spendable once (the nonce goes into the ephemeral store, shared by every node).
/// The password is never sent twice.
/// </summary>
public sealed class StepTokens(IDataProtectionProvider protection, IEphemeralStore store)
{
    private static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(5);

    private ITimeLimitedDataProtector Protector => protection.CreateProtector("Countersign.Sessions.MfaStep.v1").ToTimeLimitedDataProtector();

    public string Create(Guid userId) =>
        Protector.Protect($"{userId:N}.{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16))}", Lifetime);

    /// <summary>The user the token names, without spending it (to prepare a passkey request).</summary>
    public Guid? Peek(string token) => Read(token)?.UserId;

    /// <summary>The user the token names, once: a token presented twice, forged or expired yields null.</summary>
    public async Task<Guid?> SpendAsync(string? token) =>
        Read(token) is { } step && await store.SetIfAbsentAsync("mfastep:" + step.Nonce, "1", Lifetime + TimeSpan.FromMinutes(1))
            ? step.UserId
            : null;

    private ITimeLimitedDataProtector ChangeProtector =>
        protection.CreateProtector("Countersign.Sessions.PasswordChangeStep.v1").ToTimeLimitedDataProtector();

    /// <summary>
    /// The ticket from a finished sign-in to the page that replaces a password someone else chose: the user and the
    /// factors that passed (a purpose of its own, so a second-factor ticket can never stand in for it).
    /// </summary>
    public string CreateForPasswordChange(Guid userId, IEnumerable<string> factors) =>
        ChangeProtector.Protect($"{userId:N}.{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16))}.{string.Join(',', factors)}", Lifetime);

    /// <summary>The user a password-change ticket names, without spending it (the page checks the policy first).</summary>
    public Guid? PeekPasswordChange(string? token) => ReadChange(token)?.UserId;

    /// <summary>
    /// Where a password-change ticket and the return URL cross to <c>/login/new-password</c>: TempData keys shared by the
    /// sign-ins that end there (the password form and the passkey endpoint).
    /// </summary>
    public const string PasswordChangeStepKey = "PasswordChangeStep";

    public const string PasswordChangeReturnKey = "PasswordChangeReturnUrl";

    /// <summary>Which factors a password-change ticket says passed, without spending it (the page asks for what is missing).</summary>
    public IReadOnlyList<string>? PeekPasswordChangeFactors(string? token) => ReadChange(token)?.Factors;

    /// <summary>The user and factors of a password-change ticket, once.</summary>
    public async Task<(Guid UserId, string[] Factors)?> SpendPasswordChangeAsync(string? token) =>
        ReadChange(token) is { } step && await store.SetIfAbsentAsync("pwstep:" + step.Nonce, "1", Lifetime + TimeSpan.FromMinutes(1))
            ? (step.UserId, step.Factors)
            : null;

    private (Guid UserId, string Nonce, string[] Factors)? ReadChange(string? token)
    {
        if (string.IsNullOrEmpty(token))
        {
            return null;
        }
        try
        {
            var parts = ChangeProtector.Unprotect(token).Split('.');
            return parts.Length == 3 && Guid.TryParseExact(parts[0], "N", out var userId)
                ? (userId, parts[1], parts[2].Split(',', StringSplitOptions.RemoveEmptyEntries))
                : null;
        }
        catch (CryptographicException)
        {
            return null;
        }
    }

    private (Guid UserId, string Nonce)? Read(string? token)
    {
        if (string.IsNullOrEmpty(token))
        {
            return null;
        }
        try
        {
            var parts = Protector.Unprotect(token).Split('.');
            return parts.Length == 2 && Guid.TryParseExact(parts[0], "N", out var userId) ? (userId, parts[1]) : null;
        }
        catch (CryptographicException)
        {
            return null;
        }
    }
}
