using Countersign.Totp;

namespace Countersign.SignIn;

/// <summary>An authenticator-app code (RFC 6238), each step accepted once (§5.2).</summary>
public sealed class TotpCheck(TotpService totp) : IFactorCheck
{
    public string Factor => Factors.Totp;

    public bool IsPresented(SignInAttempt attempt) => attempt.TotpCode is not null;

    public async Task<string?> CheckAsync(SignInAccount account, SignInAttempt attempt, CancellationToken ct) =>
        await totp.VerifyAsync(account.User.Id, attempt.TotpCode!, ct) ? null : "wrong_totp_code";
}

/// <summary>A single-use recovery code, spent by the check.</summary>
public sealed class RecoveryCodeCheck(RecoveryCodes codes) : IFactorCheck
{
    public string Factor => Factors.RecoveryCode;

    public bool IsPresented(SignInAttempt attempt) => attempt.RecoveryCode is not null;

    public async Task<string?> CheckAsync(SignInAccount account, SignInAttempt attempt, CancellationToken ct) =>
        await codes.UseAsync(account.User.Id, attempt.RecoveryCode!, ct) ? null : "wrong_recovery_code";
}
