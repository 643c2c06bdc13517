using System.CommandLine;
using Countersign.Defences;
using Countersign.Ephemeral;
using Countersign.LocalAdmin;

namespace Countersign.Cli;

/// <summary>
/// The per-address defences (failures that bring the proof of work, rate-limit windows) live in the ephemeral store,
/// like lockouts: with Redis the CLI reads and clears the shared store, with the in-memory store it asks the running
/// server over its local admin socket and says so when none answers (docs/architecture.md, "CLI commands act on live
/// state or refuse").
/// </summary>
internal static class AddressesCommands
{
    public static Command Create(Action<WebApplicationBuilder>? configure)
    {
        var ip = new Argument<string>("ip") { Description = "An IPv4 or IPv6 client address, as the audit and the attempt log show it." };
        var show = new Command("show", "Show an address's recent failures, whether it must solve a proof of work, and its rate-limit counts.") { ip };
        show.SetAction((p, ct) => CountersignCli.WithHostAsync(configure, async (services, ct) =>
        {
            if (AddressDefences.Canonical(p.GetValue(ip)) is not { } address)
            {
                return await BadAsync(p);
            }
            AddressView view;
            if (IsShared(services))
            {
                view = await services.GetRequiredService<AddressDefences>().StatusAsync(address);
            }
            else
            {
                var reply = await services.GetRequiredService<LocalAdminClient>().AddressAsync(address, ct);
                if (reply.Value is not { } live)
                {
                    return await RefuseAsync(p, reply.Error, "read");
                }
                view = live;
            }
            var output = p.InvocationConfiguration.Output;
            await output.WriteLineAsync($"address:          {view.Address}");
            await output.WriteLineAsync($"recent failures:  {view.RecentFailures} (a proof of work from {view.CaptchaAfterFailures})");
            await output.WriteLineAsync($"captcha required: {(view.CaptchaRequired ? "yes" : "no")}");
            foreach (var limit in view.RateLimits)
            {
                await output.WriteLineAsync($"rate limit {limit.Route + ":",-14} {limit.Count} of {limit.Limit}");
            }
            return 0;
        }, ct));

        var reset = new Command("reset", "Forget an address's failures and rate-limit windows on the running server (audited).") { ip };
        reset.SetAction((p, ct) => CountersignCli.WithHostAsync(configure, async (services, ct) =>
        {
            if (AddressDefences.Canonical(p.GetValue(ip)) is not { } address)
            {
                return await BadAsync(p);
            }
            if (IsShared(services))
            {
                await services.GetRequiredService<AddressDefences>().ResetAsync(address, "cli", null, ct);
            }
            else if (await services.GetRequiredService<LocalAdminClient>().ResetAddressAsync(address, ct) is { Value: not true } refused)
            {
                return await RefuseAsync(p, refused.Error, "changed");
            }
            await p.InvocationConfiguration.Output.WriteLineAsync($"Reset {address}.");
            return 0;
        }, ct));
        return new Command("addresses", """
            Per-address defences (proof of work after failures, rate limits). With Redis configured the CLI acts on the shared
            store; with the in-memory store it asks the running server over its local admin socket, as the server's OS user.
            """) { show, reset };
    }

    private static bool IsShared(IServiceProvider services) => services.GetRequiredService<IEphemeralStore>() is not MemoryEphemeralStore;

    private static async Task<int> BadAsync(ParseResult p)
    {
        await p.InvocationConfiguration.Error.WriteLineAsync($"error: not an IP address: {p.GetValue<string>("ip")}");
        return 2;
    }

    private static async Task<int> RefuseAsync(ParseResult p, string? why, string what)
    {
        await p.InvocationConfiguration.Error.WriteLineAsync(
            $"error: {why}; with the in-memory store this state lives only in the server process, so nothing was {what}.");
        return 1;
    }
}
