using System.Diagnostics;
using Countersign.Audit;
using Countersign.Operations;
using Countersign.Storage;

namespace Countersign.SignIn;

/// <summary>What the attempt log needs to know about an attempt as the core learns it.</summary>
public sealed record SignInTrace(SignInAttempt Attempt, long Started, List<string> Protections)
{
    /// <summary>The name as shown: the account's own spelling once found, else the typed one (canonical, cut to the column).</summary>
    public string Username { get; init; } = Shown(Attempt.Username);

    public string HashMode { get; init; } = "none";

    private static string Shown(string? typed)
    {
        var canonical = typed is null ? "" : Accounts.UsernameNormalizer.Canonical(typed);
        // M3: a 60,000-character name must not become a 60,000-character audit row.
        if (canonical.Length <= 64)
        {
            return canonical;
        }
        // Never half a surrogate pair: PostgreSQL refuses the row (found by the over-long-name test).
        return canonical[..(char.IsHighSurrogate(canonical[63]) ? 63 : 64)] + "…";
    }
}

/// <summary>
/// Records every sign-in outcome: the audit chain for failures and lockouts (successes are audited with
/// the caller's change), the failure count per address, the JSON-lines attempt log, and structured
/// security events for the server log.
/// </summary>
public sealed class SignInRecorder(CountersignDb db, AuditLog audit, AttemptLog attempts, SignInDefences defences, SecurityEvents events,
    CountersignMetrics metrics, TimeProvider time)
{
    /// <summary>A refusal before any credential was checked (rate limit, proof of work, lock), or a 417.</summary>
    public SignInOutcome Refused(SignInTrace trace, string reason, SignInOutcome outcome)
    {
        Log(trace, "refused", reason);
        if (outcome.Status == SignInStatus.CaptchaRequired)
        {
            events.CaptchaRequired(trace.Attempt.Channel, trace.Attempt.Client.Ip);
        }
        return outcome;
    }

    /// <summary>A failed credential: counted against the address, audited (with the lock it caused) and logged.</summary>
    public async Task FailedAsync(SignInTrace trace, SignInAccount? account, string reason, bool lockedNow, CancellationToken ct,
        IReadOnlyList<string>? passed = null)
    {
        var client = trace.Attempt.Client;
        await defences.CountClientFailureAsync(client);
        var userId = account?.User.Id;
        await using (var tx = await db.Database.BeginTransactionAsync(ct))
        {
            audit.Add(db, new(AuditActions.LoginFailed, userId, trace.Username, client.Ip,
                AuditDetail.Of(passed is null ? new { reason, channel = trace.Attempt.Channel } : (object)new { reason, channel = trace.Attempt.Channel, passed })));
            if (lockedNow)
            {
                audit.Add(db, new(AuditActions.LockedOut, userId, trace.Username, client.Ip, null));
            }
            await db.SaveChangesAsync(ct);
            await tx.CommitAsync(ct);
        }
        Log(trace, "failure", reason);
    }

    /// <summary>A proof-of-work solution was presented and refused (forged, expired or replayed).</summary>
    public void CaptchaRejected(SignInTrace trace) => events.CaptchaRejected(trace.Attempt.Channel, trace.Attempt.Client.Ip);

    public void Succeeded(SignInTrace trace) => Log(trace, "success", "ok");

    private void Log(SignInTrace trace, string result, string reason)
    {
        var elapsed = Stopwatch.GetElapsedTime(trace.Started);
        attempts.Write(new Attempt(time.GetUtcNow(), trace.Username, result, reason, trace.HashMode, trace.Protections,
            Math.Round(elapsed.TotalMilliseconds, 2), trace.Attempt.Client.Ip));
        metrics.SignIn(result, reason, elapsed);
        // The span SignInCore opened, when a tracer listens.
        Activity.Current?.SetTag("countersign.signin.result", result).SetTag("countersign.signin.reason", reason);
    }
}
