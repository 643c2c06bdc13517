namespace Countersign.SignIn;

/// <summary>
/// A factor beyond the password that the sign-in core checks. Register one in DI and the core runs it for
/// every attempt that presents it or requires it, on every channel, with no change to the callers: TOTP and
/// recovery codes are two (SignIn/CodeFactorChecks.cs); a face and a device key will be two more.
/// </summary>
public interface IFactorCheck
{
    /// <summary>The factor's name (<see cref="Factors"/>).</summary>
    string Factor { get; }

    /// <summary>Whether the attempt carries this factor at all.</summary>
    bool IsPresented(SignInAttempt attempt);

    /// <summary>Null when the factor passes; otherwise the reason, for the audit and attempt log only.</summary>
    Task<string?> CheckAsync(SignInAccount account, SignInAttempt attempt, CancellationToken ct);
}
