using System.Diagnostics;
using System.Linq.Expressions;
using Countersign.Accounts;
using Countersign.Audit;
using Countersign.Defences;
using Countersign.Storage;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;

namespace Countersign.Sessions;

public enum LoginOutcome
{
    Succeeded,
    InvalidCredentials,
    /// <summary>The username is locked; a solved challenge lets an attempt through anyway.</summary>
    Locked,
    /// <summary>This client address failed too often; every attempt needs a solved challenge.</summary>
    CaptchaRequired,
    /// <summary>The password is right and a second factor is needed (HTTP 417).</summary>
    SecondFactorRequired,
    /// <summary>The second factor is wrong, reused or spent (HTTP 400).</summary>
    InvalidSecondFactor,
}

/// <summary>What a client presents: the password and, when asked for, one second factor.</summary>
public sealed record LoginAttempt(string Username, string Password, string? Captcha = null, string? TotpCode = null, string? RecoveryCode = null);

public sealed record LoginResult(LoginOutcome Outcome, User? User = null, IList<string>? Roles = null,
    SessionFamily? Session = null, TokenPair? Tokens = null, DateTimeOffset? LockedUntil = null)
{
    /// <summary>The second factors the user has (<c>totp</c>, <c>recovery_code</c>, <c>passkey</c>), when one is asked for.</summary>
    public IReadOnlyList<string> Methods { get; init; } = [];

    public bool Succeeded => Outcome == LoginOutcome.Succeeded;
}

/// <summary>
/// The one password sign-in pipeline, for the API and the sign-in page alike. Every credential failure
/// looks the same to the caller: an unknown username, a disabled account and a wrong password all cost
/// one password hash and all return the same result; only the audit log and attempt log say which it was
/// (ASVS 6.3.8, "do not reveal that the user does not exist"). Lockout and the proof-of-work requirement
/// are decided before the hash, so refused attempts cost the server almost nothing.
/// </summary>
public sealed class PasswordLogin(
    CountersignDb db,
    ILookupNormalizer normalizer,
    PasswordHasher hasher,
    SessionService sessions,
    Lockout lockout,
    ClientFailures clientFailures,
    Captcha captcha,
    Totp.TotpService totp,
    Totp.RecoveryCodes recoveryCodes,
    AuditLog audit,
    AttemptLog attempts,
    TimeProvider time)
{
    public async Task<LoginResult> SignInAsync(LoginAttempt attempt, string kind, ClientInfo client, CancellationToken ct = default)
    {
        var started = Stopwatch.GetTimestamp();
        var (username, password) = (UsernameNormalizer.ForSignIn(attempt.Username), attempt.Password);
        var normalized = normalizer.NormalizeName(username)!;
        var shownName = UsernameNormalizer.Canonical(username);
        var solved = attempt.Captcha is not null && await captcha.VerifyAsync(attempt.Captcha);
        var protections = Protections(solved);

        if (!solved && await clientFailures.RequireCaptchaAsync(client.Ip))
        {
            Log(shownName, "refused", "captcha_required", "none", protections, started, client);
            return new(LoginOutcome.CaptchaRequired);
        }
        long? reserved = null;
        if (lockout.Enabled && !solved)
        {
            if (await lockout.LockedUntilAsync(normalized) is { } until)
            {
                Log(shownName, "refused", "locked", "none", protections, started, client);
                return new(LoginOutcome.Locked, LockedUntil: until);
            }
            var (allowed, count) = await lockout.ReserveAsync(normalized);
            if (!allowed)
            {
                Log(shownName, "refused", "locked", "none", protections, started, client);
                return new(LoginOutcome.Locked, LockedUntil: await lockout.LockedUntilAsync(normalized));
            }
            reserved = count;
        }

        var found = await FindAccountAsync(u => u.NormalizedUserName == normalized, ct);
        var user = found?.User;
        var verdict = await hasher.VerifyHashedPasswordAsync(user, user?.PasswordHash, password);
        var reason = user is null ? "unknown_user"
            : user.IsDisabled ? "disabled"
            : verdict == PasswordVerificationResult.Failed ? "wrong_password"
            : null;
        var hashMode = user is null ? "dummy" : PasswordHasher.Mode(user.PasswordHash);
        shownName = user?.UserName ?? shownName;

        if (reason is not null)
        {
            await FailAsync(normalized, reserved, user, shownName, reason, hashMode, protections, started, client, ct);
            return new(LoginOutcome.InvalidCredentials);
        }

        var methods = found!.Methods;
        if (methods.Count > 0)
        {
            if (attempt.TotpCode is null && attempt.RecoveryCode is null)
            {
                // Neither failure nor success: the reserved attempt stays counted until a full sign-in clears it.
                Log(shownName, "refused", "second_factor_required", hashMode, protections, started, client);
                return new(LoginOutcome.SecondFactorRequired, user) { Methods = methods };
            }
            var secondFactor = await CheckSecondFactorAsync(user!, attempt, ct);
            if (secondFactor is not null)
            {
                await FailAsync(normalized, reserved, user, shownName, secondFactor, hashMode, protections, started, client, ct);
                return new(LoginOutcome.InvalidSecondFactor, user) { Methods = methods };
            }
        }
        return await SucceedAsync(user!, found.Roles, verdict == PasswordVerificationResult.SuccessRehashNeeded ? password : null,
            hashMode, kind, protections, started, client, ct);
    }

    /// <summary>
    /// The browser's second step: the password was checked by <see cref="SignInAsync"/> moments ago (the
    /// caller holds a signed, single-use step token for this user), now the code.
    /// </summary>
    public async Task<LoginResult> CompleteSecondFactorAsync(Guid userId, string? totpCode, string? recoveryCode, string kind, ClientInfo client,
        CancellationToken ct = default)
    {
        var started = Stopwatch.GetTimestamp();
        var found = await FindAccountAsync(u => u.Id == userId, ct);
        if (found is null || found.User.IsDisabled)
        {
            return new(LoginOutcome.InvalidCredentials);
        }
        var user = found.User;
        var protections = Protections(solved: false);
        var normalized = user.NormalizedUserName!;
        if (lockout.Enabled && await lockout.LockedUntilAsync(normalized) is { } until)
        {
            Log(user.UserName!, "refused", "locked", "none", protections, started, client);
            return new(LoginOutcome.Locked, LockedUntil: until);
        }
        var failure = await CheckSecondFactorAsync(user, new LoginAttempt(user.UserName!, "", null, totpCode, recoveryCode), ct);
        if (failure is not null)
        {
            await FailAsync(normalized, null, user, user.UserName!, failure, "none", protections, started, client, ct);
            return new(LoginOutcome.InvalidSecondFactor, user) { Methods = found.Methods };
        }
        return await SucceedAsync(user, found.Roles, null, PasswordHasher.Mode(user.PasswordHash), kind, protections, started, client, ct);
    }

    /// <summary>
    /// A passkey proved the user (a phishing-resistant factor on its own): start the session, unless the
    /// account is disabled or its username is locked.
    /// </summary>
    public async Task<LoginResult> PasskeySignInAsync(User user, string kind, ClientInfo client, CancellationToken ct = default)
    {
        var started = Stopwatch.GetTimestamp();
        var protections = Protections(solved: false);
        if (user.IsDisabled || (lockout.Enabled && await lockout.LockedUntilAsync(user.NormalizedUserName!) is not null))
        {
            Log(user.UserName!, "refused", user.IsDisabled ? "disabled" : "locked", "passkey", protections, started, client);
            return new(LoginOutcome.InvalidCredentials);
        }
        var account = await FindAccountAsync(u => u.Id == user.Id, ct);
        return await SucceedAsync(user, account!.Roles, null, "passkey", kind, protections, started, client, ct);
    }

    /// <summary>An account with what sign-in needs to know about it, read in one query.</summary>
    private sealed record Account(User User, List<string> Roles, bool HasTotp, bool HasPasskey)
    {
        /// <summary>The second factors the user has set up; empty means the password is enough.</summary>
        public List<string> Methods => [.. HasTotp ? ["totp", "recovery_code"] : Array.Empty<string>(), .. HasPasskey ? ["passkey"] : Array.Empty<string>()];
    }

    /// <summary>
    /// The account, its roles and whether it has second factors, in one round trip (Identity would take
    /// three): the same query for every username, known or not, so its cost says nothing either.
    /// </summary>
    private Task<Account?> FindAccountAsync(Expression<Func<User, bool>> match, CancellationToken ct) =>
        db.Users.Where(match)
            .Select(u => new Account(
                u,
                db.UserRoles.Where(ur => ur.UserId == u.Id).Join(db.Roles, ur => ur.RoleId, r => r.Id, (_, r) => r.Name!).ToList(),
                db.TotpAuthenticators.Any(t => t.UserId == u.Id && t.ConfirmedAt != null),
                db.UserPasskeys.Any(p => p.UserId == u.Id)))
            .FirstOrDefaultAsync(ct);

    /// <summary>Null when the second factor is good; otherwise the reason for the audit log.</summary>
    private async Task<string?> CheckSecondFactorAsync(User user, LoginAttempt attempt, CancellationToken ct)
    {
        if (attempt.TotpCode is { } code)
        {
            return await totp.VerifyAsync(user.Id, code, ct) ? null : "wrong_totp_code";
        }
        return attempt.RecoveryCode is { } recovery && await recoveryCodes.UseAsync(user.Id, recovery, ct) ? null : "wrong_recovery_code";
    }

    /// <summary>A failed password or second factor: counted per username and per address, audited, logged.</summary>
    private async Task FailAsync(string normalized, long? reserved, User? user, string shownName, string reason, string hashMode,
        List<string> protections, long started, ClientInfo client, CancellationToken ct)
    {
        await clientFailures.RecordAsync(client.Ip);
        var lockedNow = lockout.Enabled && await lockout.RecordFailureAsync(normalized, reserved);
        await using (var tx = await db.Database.BeginTransactionAsync(ct))
        {
            await audit.RecordAsync(db, new(AuditActions.LoginFailed, user?.Id, shownName, client.Ip, SessionService.Detail(new { reason })), ct);
            if (lockedNow)
            {
                await audit.RecordAsync(db, new(AuditActions.LockedOut, user?.Id, shownName, client.Ip, null), ct);
            }
            await tx.CommitAsync(ct);
        }
        Log(shownName, "failure", reason, hashMode, protections, started, client);
    }

    private async Task<LoginResult> SucceedAsync(User user, IList<string> roles, string? rehashPassword, string hashMode, string kind,
        List<string> protections, long started, ClientInfo client, CancellationToken ct)
    {
        var normalized = user.NormalizedUserName!;
        if (lockout.Enabled)
        {
            await lockout.ClearAsync(normalized);
        }
        await using var transaction = await db.Database.BeginTransactionAsync(ct);
        if (rehashPassword is not null)
        {
            // Lazy migration: the plaintext is only in hand now, so this is the moment to upgrade.
            user.PasswordHash = hasher.HashPassword(user, rehashPassword);
            await audit.RecordAsync(db, new(AuditActions.PasswordRehashed, user.Id, user.UserName, client.Ip,
                SessionService.Detail(new { from = hashMode })), ct);
        }
        var session = sessions.Start(user, kind, client);
        var tokens = kind == SessionKinds.Api ? sessions.Issue(user, roles, session.Id) : null;
        await audit.RecordAsync(db, new(AuditActions.LoginSucceeded, user.Id, user.UserName, client.Ip,
            SessionService.Detail(new { session_id = session.Id, kind })), ct);
        await transaction.CommitAsync(ct);
        Log(user.UserName!, "success", "ok", hashMode, protections, started, client);
        return new(LoginOutcome.Succeeded, user, roles, session, tokens);
    }

    private List<string> Protections(bool solved)
    {
        var active = new List<string>();
        if (lockout.Enabled) active.Add("lockout");
        if (clientFailures.Enabled) active.Add(solved ? "captcha_solved" : "captcha");
        return active;
    }

    private void Log(string username, string result, string reason, string hashMode, List<string> protections, long started, ClientInfo client) =>
        attempts.Write(new Attempt(time.GetUtcNow(), username, result, reason, hashMode, protections,
            Math.Round(Stopwatch.GetElapsedTime(started).TotalMilliseconds, 2), client.Ip));
}
