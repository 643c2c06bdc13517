using System.Diagnostics;
using Countersign.Accounts;
using Countersign.Audit;
using Countersign.Storage;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;

namespace Countersign.Sessions;

public sealed record LoginResult(User? User, IList<string> Roles, SessionFamily? Session, TokenPair? Tokens)
{
    public bool Succeeded => User is not null;
}

/// <summary>
/// The one password sign-in pipeline, for the API and the sign-in page alike. Every failure looks the
/// same to the caller: an unknown username, a disabled account and a wrong password all cost one
/// password hash and all return the same result; only the audit log and attempt log say which it was
/// (ASVS 6.3.8, "do not reveal that the user does not exist").
/// </summary>
public sealed class PasswordLogin(
    CountersignDb db,
    ILookupNormalizer normalizer,
    PasswordHasher hasher,
    SessionService sessions,
    AuditLog audit,
    AttemptLog attempts,
    TimeProvider time)
{
    public async Task<LoginResult> SignInAsync(string username, string password, string kind, ClientInfo client, CancellationToken ct = default)
    {
        var started = Stopwatch.GetTimestamp();
        // The account and its roles in one query: one round trip instead of Identity's two.
        var normalized = normalizer.NormalizeName(username);
        var found = await db.Users
            .Where(u => u.NormalizedUserName == normalized)
            .Select(u => new { User = u, Roles = db.UserRoles.Where(ur => ur.UserId == u.Id).Join(db.Roles, ur => ur.RoleId, r => r.Id, (_, r) => r.Name!).ToList() })
            .FirstOrDefaultAsync(ct);
        var user = found?.User;
        var verdict = await hasher.VerifyHashedPasswordAsync(user, user?.PasswordHash, password);
        var reason = user is null ? "unknown_user"
            : user.IsDisabled ? "disabled"
            : verdict == PasswordVerificationResult.Failed ? "wrong_password"
            : null;
        var hashMode = user is null ? "dummy" : PasswordHasher.Mode(user.PasswordHash);
        var shownName = user?.UserName ?? UsernameNormalizer.Canonical(username);

        if (reason is not null)
        {
            await audit.RecordAloneAsync(db, new(AuditActions.LoginFailed, user?.Id, shownName, client.Ip,
                SessionService.Detail(new { reason })), ct);
            Log(shownName, "failure", reason, hashMode, started, client);
            return new(null, [], null, null);
        }

        await using var tx = await db.Database.BeginTransactionAsync(ct);
        if (verdict == PasswordVerificationResult.SuccessRehashNeeded)
        {
            // Lazy migration: the plaintext is only in hand now, so this is the moment to upgrade.
            user!.PasswordHash = hasher.HashPassword(user, password);
            await audit.RecordAsync(db, new(AuditActions.PasswordRehashed, user.Id, user.UserName, client.Ip,
                SessionService.Detail(new { from = hashMode })), ct);
        }
        var session = sessions.Start(user!, kind, client);
        var tokens = kind == SessionKinds.Api ? sessions.Issue(user!, found!.Roles, session.Id) : null;
        await audit.RecordAsync(db, new(AuditActions.LoginSucceeded, user!.Id, user.UserName, client.Ip,
            SessionService.Detail(new { session_id = session.Id, kind })), ct);
        await tx.CommitAsync(ct);
        Log(user.UserName!, "success", "ok", hashMode, started, client);
        return new(user, found!.Roles, session, tokens);
    }

    private void Log(string username, string result, string reason, string hashMode, long started, ClientInfo client) =>
        attempts.Write(new Attempt(time.GetUtcNow(), username, result, reason, hashMode, [],
            Math.Round(Stopwatch.GetElapsedTime(started).TotalMilliseconds, 2), client.Ip));
}
