using Countersign.Accounts;
using Countersign.Audit;
using Countersign.Operations;
using Microsoft.AspNetCore.Identity;

namespace Countersign.SignIn;

/// <summary>
/// A password change the user asks for from a session (the account page, <c>PUT /api/me/password</c>): one proof first,
/// the current password or a fresh second factor (ASVS 6.2.3), checked by the sign-in core with its limits and lockout.
/// </summary>
public sealed record PasswordChangeRequest
{
    public required Guid UserId { get; init; }

    /// <summary>The session the change comes from: it stays signed in, every other one ends (ASVS 7.4.3).</summary>
    public Guid? KeepSession { get; init; }

    public string? CurrentPassword { get; init; }

    public string? TotpCode { get; init; }

    public string? RecoveryCode { get; init; }

    public string? Captcha { get; init; }

    public required string NewPassword { get; init; }

    public required ClientInfo Client { get; init; }

    /// <summary><c>api</c> or <c>browser</c>, for the audit.</summary>
    public required string Channel { get; init; }
}

/// <summary>How a change ended: <see cref="Policy"/> refused the new password, or <see cref="Proof"/> is the core's verdict on the proof.</summary>
public sealed record PasswordChangeOutcome(IdentityResult Policy, SignInOutcome? Proof)
{
    public bool NoProof => Policy.Succeeded && Proof is null;

    public bool Changed => Proof?.Succeeded == true;
}

/// <summary>
/// Changes a signed-in user's password. The policy speaks first, so a refused password never spends a recovery code or
/// counts toward the lockout; the proof goes through <see cref="SignInCore.CheckAsync"/>, so a wrong current password is
/// a failed sign-in like any other (rate limit, proof of work, lockout, audit, attempt log); the new hash, the end of the
/// other sign-ins and the audit event commit together.
/// </summary>
public sealed class PasswordChange(SignInCore core, AccountAdmin accounts, UserManager<User> users)
{
    public const string Channel = "password_change";

    public async Task<PasswordChangeOutcome> ChangeAsync(PasswordChangeRequest request, CancellationToken ct = default)
    {
        if (await users.FindByIdAsync(request.UserId.ToString()) is not { } user)
        {
            return new(IdentityResult.Success, new(SignInStatus.InvalidCredentials));
        }
        var policy = await accounts.CheckPasswordAsync(user, request.NewPassword);
        if (policy.Succeeded && request.CurrentPassword is { } current && string.Equals(current, request.NewPassword, StringComparison.Ordinal))
        {
            policy = IdentityResult.Failed(new IdentityError { Code = "PasswordUnchanged", Description = "Choose a password other than the current one." });
        }
        if (!policy.Succeeded)
        {
            return new(policy, null);
        }
        // One proof is enough: whichever the user gave, the password first.
        string[]? required = !string.IsNullOrEmpty(request.CurrentPassword) ? [Factors.Password]
            : !string.IsNullOrWhiteSpace(request.TotpCode) ? [Factors.Totp]
            : !string.IsNullOrWhiteSpace(request.RecoveryCode) ? [Factors.RecoveryCode]
            : null;
        if (required is null)
        {
            return new(policy, null);
        }
        var proof = await core.CheckAsync(new SignInAttempt
        {
            Channel = Channel,
            Client = request.Client,
            UserId = user.Id,
            Password = required[0] == Factors.Password ? request.CurrentPassword : null,
            TotpCode = required[0] == Factors.Totp ? request.TotpCode!.Replace(" ", "", StringComparison.Ordinal) : null,
            RecoveryCode = required[0] == Factors.RecoveryCode ? request.RecoveryCode!.Trim() : null,
            Captcha = request.Captcha,
            Required = required,
        }, async (account, ct) =>
        {
            await accounts.StagePasswordAsync(account.User, request.NewPassword, request.KeepSession ?? Guid.Empty, ct);
            return new AuditEntry(AuditActions.PasswordChanged, account.User.Id, account.User.UserName, request.Client.Ip,
                AuditDetail.Of(new { actor = "self", proof = required[0], channel = request.Channel }));
        }, ct);
        return new(policy, proof);
    }
}
