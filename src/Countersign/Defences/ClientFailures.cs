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

    private static string Key(string? ip) => "captcha:failures:" + (ip ?? "unknown");
}
