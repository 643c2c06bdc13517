using System.Diagnostics;
using Countersign.Accounts;
using Countersign.Audit;
using Countersign.Defences;
using Countersign.Operations;
using Countersign.Sessions;
using Countersign.Storage;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;

namespace Countersign.SignIn;

/// <summary>
/// What a caller does once every factor has passed: add its change to the unit of work (start a session,
/// turn a factor off) and return the audit event that records it. The core saves the change, its own
/// (a password re-hash) and the event in one transaction.
/// </summary>
public delegate Task<AuditEntry> SuccessStep(SignInAccount account, CancellationToken ct);

/// <summary>
/// The one credential check, for every channel: the API's login, the page's two steps, the passkey's
/// second step, MFA reset, and the channels to come. Its steps, always in this order (docs/architecture.md):
/// <list type="number">
/// <item>rate limit per client address (the login limit, and the second-factor limit when a code is presented);</item>
/// <item>username shape: longer than registration allows is refused before any work;</item>
/// <item>proof of work, when this address failed too often;</item>
/// <item>lockout per username: a place among the attempts being checked, or the lock;</item>
/// <item>the account, its roles and second factors, in one query;</item>
/// <item>the password, hashed for unknown users too (a dummy), so every failure costs the same;</item>
/// <item>second factors, and any further factor checks (<see cref="IFactorCheck"/>);</item>
/// <item>the outcome: counted against the username and the address, audited, written to the attempt log.</item>
/// </list>
/// Every credential failure looks the same to the caller; only the audit and the attempt log say which it
/// was (ASVS 6.3.8, "do not reveal that the user does not exist").
/// </summary>
public sealed class SignInCore(
    CountersignDb db,
    ILookupNormalizer normalizer,
    PasswordHasher hasher,
    SignInDefences defences,
    IEnumerable<IFactorCheck> checks,
    SessionService sessions,
    AuditLog audit,
    SignInRecorder recorder,
    AccountAdmin accounts)
{
    private readonly Dictionary<string, IFactorCheck> _checks = checks.ToDictionary(c => c.Factor);

    /// <summary>Checks the attempt and, when it passes, starts a session of <paramref name="sessionKind"/> (tokens for the API).</summary>
    public async Task<SignInOutcome> SignInAsync(SignInAttempt attempt, string sessionKind, CancellationToken ct = default)
    {
        SessionFamily? session = null;
        TokenPair? tokens = null;
        var changeFirst = false;
        var outcome = await CheckAsync(attempt, async (account, ct) =>
        {
            var user = account.User;
            // A password someone else chose (an administrator's one-time password, demo seed) opens nothing until the
            // user replaces it (ASVS 6.4.1): no session, no tokens, on every channel that starts one.
            if (user.PasswordChangeRequired)
            {
                if (attempt.NewPassword is not { } fresh || await IsCurrentPasswordAsync(attempt, user, fresh))
                {
                    changeFirst = true;
                    return new AuditEntry(AuditActions.PasswordChangeRequired, user.Id, user.UserName, attempt.Client.Ip,
                        AuditDetail.Of(new { channel = attempt.Channel }));
                }
                // The old sign-ins end with the old password; the session started below is not saved yet, so it stays.
                await accounts.StagePasswordAsync(user, fresh, ct);
                user.PasswordChangeRequired = false;
                audit.Add(db, new(AuditActions.PasswordChanged, user.Id, user.UserName, attempt.Client.Ip,
                    AuditDetail.Of(new { actor = "self", required = true, channel = attempt.Channel })));
            }
            session = sessions.Start(user, sessionKind, attempt.Client);
            tokens = sessionKind == SessionKinds.Api ? sessions.Issue(user, [.. account.Roles], session.Id) : null;
            return new AuditEntry(AuditActions.LoginSucceeded, user.Id, user.UserName, attempt.Client.Ip,
                AuditDetail.Of(new { session_id = session.Id, kind = sessionKind, channel = attempt.Channel }));
        }, ct);
        if (changeFirst)
        {
            return outcome with { Status = SignInStatus.PasswordChangeRequired };
        }
        return outcome.Succeeded ? outcome with { Session = session, Tokens = tokens } : outcome;
    }

    /// <summary>
    /// Whether the "new" password is the one being replaced: compared as typed when the attempt carries it, else
    /// against the stored hash (the browser's later step proved the password without sending it again).
    /// </summary>
    private async Task<bool> IsCurrentPasswordAsync(SignInAttempt attempt, User user, string fresh) =>
        attempt.Password is { } typed
            ? string.Equals(typed, fresh, StringComparison.Ordinal)
            : await hasher.VerifyHashedPasswordAsync(user, user.PasswordHash, fresh) != PasswordVerificationResult.Failed;

    /// <summary>Checks the attempt and, when it passes, runs <paramref name="onSuccess"/> in the same transaction as the audit.</summary>
    public async Task<SignInOutcome> CheckAsync(SignInAttempt attempt, SuccessStep onSuccess, CancellationToken ct = default)
    {
        // One span per attempt for OTLP tracing (Metrics:OtlpEndpoint); null, and free, when nothing listens.
        using var span = CountersignMetrics.Tracing.StartActivity("countersign.signin");
        span?.SetTag("countersign.signin.channel", attempt.Channel);
        var trace = new SignInTrace(attempt, Stopwatch.GetTimestamp(), defences.Protections(solved: false));

        // 1. Rate limit per address, before anything costs the server.
        if (await defences.RateLimitAsync(attempt) is { } wait)
        {
            return recorder.Refused(trace, "rate_limited", new(SignInStatus.RateLimited) { RetryAfter = wait });
        }

        // 2. A name longer than any account can have is not looked up, hashed or kept whole in the audit.
        if (attempt.Username is { } typed && !UsernameValidator.IsPlausible(typed))
        {
            await recorder.FailedAsync(trace, null, "username_too_long", lockedNow: false, ct);
            return new(SignInStatus.InvalidCredentials);
        }

        // 3. Proof of work for an address that failed too often.
        var solved = await defences.SolvedAsync(attempt.Captcha);
        if (attempt.Captcha is not null && !solved)
        {
            recorder.CaptchaRejected(trace);
        }
        trace = trace with { Protections = defences.Protections(solved) };
        if (!solved && await defences.CaptchaRequiredAsync(attempt.Client))
        {
            return recorder.Refused(trace, "captcha_required", new(SignInStatus.CaptchaRequired) { Challenge = defences.NewChallenge() });
        }

        // 4–5. The account (a later step knows it first), and a place among the username's attempts being checked.
        SignInAccount? account = null;
        string normalized;
        if (attempt.Username is { } username)
        {
            normalized = normalizer.NormalizeName(username)!;
        }
        else
        {
            account = attempt.UserId is { } id ? Account(await ById.For(db)(db, id, ct)) : null;
            if (account is null)
            {
                await recorder.FailedAsync(trace, null, "unknown_user", lockedNow: false, ct);
                return new(SignInStatus.InvalidCredentials);
            }
            normalized = account.User.NormalizedUserName!;
            trace = trace with { Username = account.User.UserName! };
        }
        var admitted = false;
        if (defences.LockoutEnabled && !solved)
        {
            switch (await defences.EnterLockoutAsync(normalized, ct))
            {
                case LockoutEntry.Locked:
                    return recorder.Refused(trace, "locked", await defences.LockedAsync(normalized));
                case LockoutEntry.Busy:
                    return recorder.Refused(trace, "busy", new(SignInStatus.RateLimited) { RetryAfter = TimeSpan.FromSeconds(1) });
            }
            admitted = true;
        }

        // 6–8. The factors; only a failure counts against the username.
        Verdict verdict;
        try
        {
            account ??= Account(await ByName.For(db)(db, normalized, ct));
            verdict = await CheckFactorsAsync(attempt, account, trace, onSuccess, ct);
        }
        catch when (admitted)
        {
            await defences.LeaveLockoutAsync(normalized, admitted, Settle.Neither);
            throw;
        }
        var failed = verdict.FailureReason is not null;
        var lockedNow = await defences.LeaveLockoutAsync(normalized, admitted,
            failed ? Settle.Failure : verdict.Outcome.Succeeded ? Settle.Success : Settle.Neither);
        if (failed)
        {
            await recorder.FailedAsync(verdict.Trace, account, verdict.FailureReason!, lockedNow, ct, verdict.Passed);
        }
        else if (verdict.Outcome.Status == SignInStatus.MfaRequired)
        {
            recorder.Refused(verdict.Trace, "second_factor_required", verdict.Outcome);
        }
        return verdict.Outcome;
    }

    /// <summary>The outcome of the factor checks; a failure is recorded by the caller once the lockout has counted it.</summary>
    private sealed record Verdict(SignInOutcome Outcome, SignInTrace Trace, string? FailureReason = null, IReadOnlyList<string>? Passed = null);

    private async Task<Verdict> CheckFactorsAsync(SignInAttempt attempt, SignInAccount? account, SignInTrace trace, SuccessStep onSuccess,
        CancellationToken ct)
    {
        var user = account?.User;
        var passed = new List<string>(attempt.Proven);

        // 6. The password, unless an earlier step or a passkey proved the user. Unknown users hash a dummy.
        var needsPassword = attempt.Required is { } required
            ? required.Contains(Factors.Password) && !attempt.Proven.Contains(Factors.Password)
            : !attempt.Proven.Contains(Factors.Password) && !attempt.Proven.Contains(Factors.Passkey);
        var hashMode = !needsPassword ? (attempt.Proven.Contains(Factors.Passkey) ? "passkey" : "none") : user is null ? "dummy" : PasswordHasher.Mode(user.PasswordHash);
        trace = trace with { Username = user?.UserName ?? trace.Username, HashMode = hashMode };
        string? rehash = null;
        if (needsPassword)
        {
            var result = await hasher.VerifyHashedPasswordAsync(user, user?.PasswordHash, attempt.Password ?? "");
            if (user is not null && !user.IsDisabled && attempt.Password is not null && result != PasswordVerificationResult.Failed)
            {
                rehash = result == PasswordVerificationResult.SuccessRehashNeeded ? attempt.Password : null;
                passed.Insert(0, Factors.Password);
            }
            else
            {
                return new(new(SignInStatus.InvalidCredentials), trace, user is null ? "unknown_user" : user.IsDisabled ? "disabled" : "wrong_password");
            }
        }
        else if (user is null || user.IsDisabled)
        {
            // No password to hash on this channel (/login/forgot requires a recovery code and a TOTP code instead), so the
            // work a real account costs is those factors' own checks: run them against an account that does not exist,
            // where they cost the same queries and match nothing. Without it an unknown or disabled name answered before
            // any query, and its speed told which names exist (ASVS V2.2 / 6.3.8, timing enumeration).
            if (attempt.Required is { } factors)
            {
                await CheckRequiredAsync(attempt, Nobody, factors, [], ct);
            }
            return new(new(SignInStatus.InvalidCredentials), trace, user is null ? "unknown_user" : "disabled");
        }

        // 7. Second factors: the usual rule, or every factor the channel requires.
        if (await (attempt.Required is { } all
                ? CheckRequiredAsync(attempt, account!, all, passed, ct)
                : CheckUsualAsync(attempt, account!, passed, ct)) is { } refusal)
        {
            // With required factors the audit names the ones that passed too, beside the reason that lists the failed.
            return new(refusal.Outcome, trace, refusal.Outcome.Status == SignInStatus.MfaRequired ? null : refusal.Reason,
                attempt.Required is null ? null : passed);
        }

        // 8. Success: the caller's change, the re-hash and the audit in one transaction.
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        if (rehash is not null)
        {
            // Lazy migration: the plaintext is only in hand now, so this is the moment to upgrade.
            user!.PasswordHash = hasher.HashPassword(user, rehash);
            audit.Add(db, new(AuditActions.PasswordRehashed, user.Id, user.UserName, attempt.Client.Ip,
                AuditDetail.Of(new { from = hashMode })));
        }
        audit.Add(db, await onSuccess(account!, ct));
        await db.SaveChangesAsync(ct);
        await tx.CommitAsync(ct);
        recorder.Succeeded(trace);
        return new(new(SignInStatus.Succeeded) { Account = account, Factors = passed }, trace);
    }

    /// <summary>An account no row belongs to (a fresh random id), for the dummy factor checks above.</summary>
    private static SignInAccount Nobody => new(new User { Id = Guid.NewGuid() }, [], []);

    private sealed record Refusal(SignInOutcome Outcome, string Reason);

    /// <summary>Password or passkey first; then, when the account has second factors, one of them.</summary>
    private async Task<Refusal?> CheckUsualAsync(SignInAttempt attempt, SignInAccount account, List<string> passed, CancellationToken ct)
    {
        // A passkey is phishing-resistant on its own; an account without second factors needs only the password.
        if (account.Methods.Count == 0 || attempt.Proven.Contains(Factors.Passkey))
        {
            return null;
        }
        var presented = _checks.Values.FirstOrDefault(c => account.Methods.Contains(c.Factor) && c.IsPresented(attempt));
        if (presented is null)
        {
            return new(new(SignInStatus.MfaRequired) { Account = account, Methods = account.Methods }, "second_factor_required");
        }
        if (await presented.CheckAsync(account, attempt, ct) is { } reason)
        {
            return new(new(SignInStatus.InvalidMfaCode) { Account = account, Methods = account.Methods }, reason);
        }
        passed.Add(presented.Factor);
        return null;
    }

    /// <summary>
    /// Every required factor, all checked even after one fails, so the time taken does not say which failed;
    /// the audit lists the ones that failed.
    /// </summary>
    private async Task<Refusal?> CheckRequiredAsync(SignInAttempt attempt, SignInAccount account, IReadOnlyList<string> required,
        List<string> passed, CancellationToken ct)
    {
        var failures = new List<string>();
        foreach (var factor in required.Where(f => f != Factors.Password && !attempt.Proven.Contains(f)))
        {
            if (!_checks.TryGetValue(factor, out var check))
            {
                throw new InvalidOperationException($"No factor check is registered for '{factor}'.");
            }
            if (!check.IsPresented(attempt))
            {
                failures.Add("missing_" + factor);
            }
            else if (await check.CheckAsync(account, attempt, ct) is { } reason)
            {
                failures.Add(reason);
            }
            else
            {
                passed.Add(factor);
            }
        }
        return failures.Count == 0
            ? null
            : new(new(SignInStatus.InvalidMfaCode) { Account = account, Methods = account.Methods }, string.Join(",", failures));
    }

    /// <summary>What the one account query returns (<see cref="ByName"/>, <see cref="ById"/>).</summary>
    private sealed record AccountRow(User User, List<string> Roles, bool HasTotp, bool HasPasskey);

    // The account, its roles and whether it has second factors, in one round trip (Identity would take three): the
    // same query for every username, known or not, so its cost says nothing either. Compiled (Storage/CompiledQuery.cs):
    // finding the cached plan of an uncompiled query walks and hashes its expression tree on every sign-in
    // (docs/benchmarks.md, "Why the login overhead is above 1.15").
    private static readonly CompiledQuery<Func<CountersignDb, string, CancellationToken, Task<AccountRow?>>> ByName = new(() =>
        EF.CompileAsyncQuery((CountersignDb db, string normalized, CancellationToken token) => db.Users
            .Where(u => u.NormalizedUserName == normalized)
            .Select(u => new AccountRow(u,
                db.UserRoles.Where(ur => ur.UserId == u.Id).Join(db.Roles, ur => ur.RoleId, r => r.Id, (_, r) => r.Name!).ToList(),
                db.TotpAuthenticators.Any(t => t.UserId == u.Id && t.ConfirmedAt != null),
                db.UserPasskeys.Any(p => p.UserId == u.Id)))
            .FirstOrDefault()));

    private static readonly CompiledQuery<Func<CountersignDb, Guid, CancellationToken, Task<AccountRow?>>> ById = new(() =>
        EF.CompileAsyncQuery((CountersignDb db, Guid id, CancellationToken token) => db.Users
            .Where(u => u.Id == id)
            .Select(u => new AccountRow(u,
                db.UserRoles.Where(ur => ur.UserId == u.Id).Join(db.Roles, ur => ur.RoleId, r => r.Id, (_, r) => r.Name!).ToList(),
                db.TotpAuthenticators.Any(t => t.UserId == u.Id && t.ConfirmedAt != null),
                db.UserPasskeys.Any(p => p.UserId == u.Id)))
            .FirstOrDefault()));

    private static SignInAccount? Account(AccountRow? found)
    {
        if (found is null)
        {
            return null;
        }
        List<string> methods = [.. found.HasTotp ? [Factors.Totp, Factors.RecoveryCode] : Array.Empty<string>(),
            .. found.HasPasskey ? [Factors.Passkey] : Array.Empty<string>()];
        return new(found.User, found.Roles, methods);
    }
}
