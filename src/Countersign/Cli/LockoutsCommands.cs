using System.CommandLine;
using Countersign.Defences;
using Microsoft.AspNetCore.Identity;

namespace Countersign.Cli;

internal static class LockoutsCommands
{
    public static Command Create(Action<WebApplicationBuilder>? configure)
    {
        var name = new Argument<string>("username") { Description = "Any username, whether or not the account exists." };
        var show = new Command("show", "Show a username's failed attempts and lock.") { name };
        show.SetAction((p, ct) => CountersignCli.WithHostAsync(configure, async (services, ct) =>
        {
            var normalized = services.GetRequiredService<ILookupNormalizer>().NormalizeName(p.GetValue(name))!;
            var status = await services.GetRequiredService<Lockout>().StatusAsync(normalized);
            Console.WriteLine($"failed attempts:    {status.FailedCount}");
            Console.WriteLine($"locked until:       {(status.LockedUntil is { } until ? until.ToString("u", System.Globalization.CultureInfo.InvariantCulture) : "not locked")}");
            Console.WriteLine($"remaining attempts: {status.RemainingAttempts}");
            return 0;
        }, ct));
        var unlock = new Command("unlock", "Clear a username's failed attempts and lock (audited).") { name };
        unlock.SetAction((p, ct) => CountersignCli.WithHostAsync(configure, async (services, ct) =>
        {
            await services.GetRequiredService<LockoutAdmin>().UnlockAsync(p.GetValue(name)!, "cli", null, ct);
            Console.WriteLine($"Unlocked {p.GetValue(name)}.");
            return 0;
        }, ct));
        return new Command("lockouts", "Account lockout (kept in the ephemeral store: with the in-memory store only the server process sees it).") { show, unlock };
    }
}
