using System.Net;
using Countersign.Audit;
using Countersign.Storage;

namespace Countersign.Defences;

/// <summary>What the per-address defences hold on one client address right now.</summary>
public sealed record AddressView(string Address, long RecentFailures, int CaptchaAfterFailures, bool CaptchaRequired,
    IReadOnlyList<RateLimitCount> RateLimits);

/// <summary>
/// The per-address state for support (the Flask seed's <c>captcha_status</c>/<c>reset_captcha</c>): the failures that
/// decide the proof of work and the rate-limit windows, and a reset for an office behind one NAT that one user's typos
/// gated. Read and cleared in the ephemeral store the server enforces; the reset is audited with the administrator's name.
/// </summary>
public sealed class AddressDefences(ClientFailures failures, RateLimiter limits, CountersignDb db, AuditLog audit)
{
    /// <summary>
    /// The address in the form the server counts it (<see cref="IPAddress.ToString"/> of the peer), or null for text
    /// that is not an address: the keys are built from it, so no other text reaches the store.
    /// </summary>
    public static string? Canonical(string? text)
    {
        if (string.IsNullOrWhiteSpace(text) || text.Length > 64 || !IPAddress.TryParse(text.Trim(), out var address))
        {
            return null;
        }
        return address.ToString();
    }

    public async Task<AddressView> StatusAsync(string address) => new(address, await failures.CountAsync(address), failures.Threshold,
        await failures.RequireCaptchaAsync(address), await limits.CountsAsync(address));

    public async Task ResetAsync(string address, string? actor, string? clientIp, CancellationToken ct = default)
    {
        await failures.ResetAsync(address);
        await limits.ResetAsync(address);
        await audit.RecordAloneAsync(db, new(AuditActions.AddressReset, null, null, clientIp, AuditDetail.Of(new { actor, address })), ct);
    }
}
