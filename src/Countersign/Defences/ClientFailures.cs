using System.Globalization;
using Countersign.Ephemeral;
using Microsoft.Extensions.Options;

namespace Countersign.Defences;

/// <summary>Failed attempts per client address, which decide when a proof of work is asked for.</summary>
public sealed class ClientFailures(IEphemeralStore store, IOptionsMonitor<DefencesOptions> options)
{
    private CaptchaOptions O => options.CurrentValue.Captcha;

    public bool Enabled => O.Enabled;

    public async Task<bool> RequireCaptchaAsync(string? ip) =>
        O.Enabled && long.Parse(await store.GetAsync(Key(ip)) ?? "0", CultureInfo.InvariantCulture) >= O.AfterFailures;

    public Task RecordAsync(string? ip) => O.Enabled ? store.IncrementAsync(Key(ip), O.FailureWindow) : Task.CompletedTask;

    /// <summary>The address's failures in the current window, counted whether or not the captcha is on now.</summary>
    public async Task<long> CountAsync(string ip) => long.Parse(await store.GetAsync(Key(ip)) ?? "0", CultureInfo.InvariantCulture);

    /// <summary>
    /// Forgets the address's failures, so its next attempt needs no proof of work (the office behind one NAT that one
    /// user's typos gated; the Flask seed's <c>reset_captcha</c>).
    /// </summary>
    public Task ResetAsync(string ip) => store.DeleteAsync(Key(ip));

    /// <summary>How many failures in the window make an address solve a proof of work.</summary>
    public int Threshold => O.AfterFailures;

    private static string Key(string? ip) => "captcha:failures:" + (ip ?? "unknown");
}
