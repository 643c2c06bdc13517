using System.Security.Cryptography;
using Countersign.Accounts;
using Countersign.Operations;
using Countersign.Secrets;
using Countersign.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using OtpNet;
using QRCoder;

namespace Countersign.Totp;

public sealed record TotpEnrolment(string Secret, string OtpauthUri, string QrPngBase64, string QrSvg);

/// <summary>
/// Authenticator-app codes: enrolment, confirmation and verification. The secret is 160 random bits
/// (RFC 4226 §4), encrypted with its own Data Protection purpose; nothing is active until a code confirms
/// the user's app has it. Replay is refused with one conditional update on the last accepted step, which is
/// atomic on one node or many.
/// </summary>
public sealed class TotpService(CountersignDb db, SecretStore secrets, IOptionsMonitor<TotpOptions> options, CountersignMetrics metrics,
    TimeProvider time)
{
    public Task<bool> IsEnabledAsync(Guid userId, CancellationToken ct = default) =>
        db.TotpAuthenticators.AnyAsync(t => t.UserId == userId && t.ConfirmedAt != null, ct);

    /// <summary>Starts (or restarts) enrolment; null when an authenticator is already active.</summary>
    public async Task<TotpEnrolment?> StartAsync(User user, CancellationToken ct = default)
    {
        var secret = RandomNumberGenerator.GetBytes(20);
        // Two enrolments of one user at once both find no row and both insert; the loser of the primary key
        // race starts again and restarts the winner's pending row instead (pen test M1.7: a UNIQUE error, a 500).
        for (var attempt = 0; ; attempt++)
        {
            var existing = await db.TotpAuthenticators.FindAsync([user.Id], ct);
            if (existing?.ConfirmedAt is not null)
            {
                return null;
            }
            if (existing is null)
            {
                db.TotpAuthenticators.Add(new TotpAuthenticator { UserId = user.Id, ProtectedSecret = Protect(secret), CreatedAt = time.GetUtcNow() });
            }
            else
            {
                existing.ProtectedSecret = Protect(secret);
                existing.CreatedAt = time.GetUtcNow();
                existing.LastStep = 0;
            }
            try
            {
                await db.SaveChangesAsync(ct);
                return Describe(user, secret);
            }
            catch (DbUpdateException) when (attempt < 2)
            {
                db.ChangeTracker.Clear();
            }
        }
    }

    /// <summary>
    /// A new secret, active at once, replacing any the user had: stages the change in the caller's unit of work
    /// (the caller saves it with its audit event). For the quad-factor protocol, where registration and TOTP
    /// recovery hand the secret over a channel that three other factors (or an admin) already authenticated;
    /// the next login's code proves the app has it.
    /// </summary>
    public async Task<TotpEnrolment> StageActiveAsync(User user, CancellationToken ct = default)
    {
        var secret = RandomNumberGenerator.GetBytes(20);
        var now = time.GetUtcNow();
        var existing = await db.TotpAuthenticators.FindAsync([user.Id], ct);
        if (existing is null)
        {
            db.TotpAuthenticators.Add(new TotpAuthenticator { UserId = user.Id, ProtectedSecret = Protect(secret), CreatedAt = now, ConfirmedAt = now });
        }
        else
        {
            existing.ProtectedSecret = Protect(secret);
            existing.CreatedAt = now;
            existing.ConfirmedAt = now;
            existing.LastStep = 0;
        }
        return Describe(user, secret);
    }

    /// <summary>The pending enrolment again (the page shows it until confirmed); null when there is none.</summary>
    public async Task<TotpEnrolment?> PendingAsync(User user, CancellationToken ct = default)
    {
        var pending = await db.TotpAuthenticators.AsNoTracking().FirstOrDefaultAsync(t => t.UserId == user.Id && t.ConfirmedAt == null, ct);
        return pending is null ? null : Describe(user, Unprotect(pending.ProtectedSecret));
    }

    /// <summary>Activates a pending enrolment when the code matches. The caller commits with its audit event.</summary>
    public async Task<bool> ConfirmAsync(Guid userId, string code, CancellationToken ct = default)
    {
        if (!await ClaimAsync(userId, code, confirmed: false, ct))
        {
            return false;
        }
        var now = time.GetUtcNow();
        await db.TotpAuthenticators.Where(t => t.UserId == userId).ExecuteUpdateAsync(s => s.SetProperty(t => t.ConfirmedAt, now), ct);
        return true;
    }

    /// <summary>Checks a code of an active authenticator, accepting each step at most once.</summary>
    public Task<bool> VerifyAsync(Guid userId, string code, CancellationToken ct = default) => ClaimAsync(userId, code, confirmed: true, ct);

    /// <summary>
    /// Which step within ±<paramref name="window"/> of now the code matches, without claiming it: the replay guard's
    /// <c>last_step</c> is not moved, so the user can still sign in with it. Enrolled is false without an active
    /// authenticator.
    /// </summary>
    public async Task<(bool Enrolled, int? Offset)> DriftAsync(Guid userId, string code, int window, CancellationToken ct = default)
    {
        var row = await db.TotpAuthenticators.AsNoTracking().FirstOrDefaultAsync(t => t.UserId == userId && t.ConfirmedAt != null, ct);
        if (row is null)
        {
            return (false, null);
        }
        code = new string([.. code.Where(c => !char.IsWhiteSpace(c))]);
        return (true, Rfc6238.MatchingOffset(Unprotect(row.ProtectedSecret), code, time.GetUtcNow(), window));
    }

    public Task<int> RemoveAsync(Guid userId, CancellationToken ct = default) =>
        db.TotpAuthenticators.Where(t => t.UserId == userId).ExecuteDeleteAsync(ct);

    private async Task<bool> ClaimAsync(Guid userId, string code, bool confirmed, CancellationToken ct)
    {
        var row = await db.TotpAuthenticators.AsNoTracking()
            .FirstOrDefaultAsync(t => t.UserId == userId && (t.ConfirmedAt != null) == confirmed, ct);
        code = new string(code.Where(c => !char.IsWhiteSpace(c)).ToArray());
        if (row is null || Rfc6238.MatchingStep(Unprotect(row.ProtectedSecret), code, time.GetUtcNow()) is not { } step)
        {
            return false;
        }
        // RFC 6238 §5.2: "the verifier MUST NOT accept the second attempt of the same OTP". Of two requests
        // with one code, on any node, the database lets exactly one move LastStep forward.
        var claimed = await db.TotpAuthenticators
            .Where(t => t.UserId == userId && t.LastStep < step)
            .ExecuteUpdateAsync(s => s.SetProperty(t => t.LastStep, step), ct) == 1;
        if (!claimed)
        {
            metrics.TotpReplay();
        }
        return claimed;
    }

    private TotpEnrolment Describe(User user, byte[] secret)
    {
        var base32 = Base32Encoding.ToString(secret).TrimEnd('=');
        var issuer = options.CurrentValue.Issuer;
        // The Key Uri Format authenticator apps read: otpauth://totp/ISSUER:ACCOUNT?secret=…&issuer=…
        var uri = $"otpauth://totp/{Uri.EscapeDataString(issuer)}:{Uri.EscapeDataString(user.UserName!)}" +
                  $"?secret={base32}&issuer={Uri.EscapeDataString(issuer)}&algorithm=SHA1&digits={Rfc6238.Digits}&period={Rfc6238.Period}";
        using var generator = new QRCodeGenerator();
        using var data = generator.CreateQrCode(uri, QRCodeGenerator.ECCLevel.M);
        var png = Convert.ToBase64String(new PngByteQRCode(data).GetGraphic(6));
        var svg = new SvgQRCode(data).GetGraphic(6);
        return new(base32, uri, png, svg);
    }

    private byte[] Protect(byte[] secret) => secrets.Protect(SecretStore.TotpPurpose, secret);

    private byte[] Unprotect(byte[] payload) => secrets.Unprotect(SecretStore.TotpPurpose, payload);
}
