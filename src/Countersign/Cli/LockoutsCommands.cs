using System.CommandLine;
using System.Globalization;
using Countersign.Defences;
using Countersign.Ephemeral;
using Countersign.LocalAdmin;
using Microsoft.AspNetCore.Identity;

namespace Countersign.Cli;

/// <summary>
/// Lockouts live in the ephemeral store. With Redis that store is shared, so the CLI reads and clears it
/// directly; with the in-memory store it exists only inside the running server, so the CLI asks the server
/// over its local admin socket, and says so plainly when no server answers rather than report a change
/// that did not happen.
/// </summary>
internal static class LockoutsCommands
{
    public static Command Create(Action<WebApplicationBuilder>? configure)
    {
        var name = new Argument<string>("username") { Description = "Any username, whether or not the account exists." };
        var show = new Command("show", "Show a username's failed attempts and lock, as the running server sees them.") { name };
        show.SetAction((p, ct) => CountersignCli.WithHostAsync(configure, async (services, ct) =>
        {
            var username = p.GetValue(name)!;
            LockoutView view;
            if (IsShared(services))
            {
                var status = await services.GetRequiredService<Lockout>().StatusAsync(services.GetRequiredService<ILookupNormalizer>().NormalizeName(username)!);
                view = new(username, status.FailedCount, status.LockedUntil, status.RemainingAttempts);
            }
            else
            {
                var reply = await services.GetRequiredService<LocalAdminClient>().LockoutAsync(username, ct);
                if (reply.Value is not { } live)
                {
                    return await RefuseAsync(p, reply.Error, "read");
                }
                view = live;
            }
            var output = p.InvocationConfiguration.Output;
            await output.WriteLineAsync($"failed attempts:    {view.FailedCount}");
            await output.WriteLineAsync($"locked until:       {(view.LockedUntil is { } until ? until.ToString("u", CultureInfo.InvariantCulture) : "not locked")}");
            await output.WriteLineAsync($"remaining attempts: {view.RemainingAttempts}");
            return 0;
        }, ct));

        var unlock = new Command("unlock", "Clear a username's failed attempts and lock on the running server (audited).") { name };
        unlock.SetAction((p, ct) => CountersignCli.WithHostAsync(configure, async (services, ct) =>
        {
            var username = p.GetValue(name)!;
            if (IsShared(services))
            {
                await services.GetRequiredService<LockoutAdmin>().UnlockAsync(username, "cli", null, ct);
            }
            else if (await services.GetRequiredService<LocalAdminClient>().UnlockAsync(username, ct) is { Value: not true } refused)
            {
                return await RefuseAsync(p, refused.Error, "changed");
            }
            await p.InvocationConfiguration.Output.WriteLineAsync($"Unlocked {username}.");
            return 0;
        }, ct));
        return new Command("lockouts", """
            Account lockout. With Redis configured the CLI acts on the shared store; with the in-memory store it asks
            the running server over its local admin socket (LocalAdmin:SocketPath), as the server's OS user.
            """) { show, unlock };
    }

    private static bool IsShared(IServiceProvider services) => services.GetRequiredService<IEphemeralStore>() is not MemoryEphemeralStore;

    private static async Task<int> RefuseAsync(ParseResult p, string? why, string what)
    {
        await p.InvocationConfiguration.Error.WriteLineAsync(
            $"error: {why}; with the in-memory store lockouts live only in the server process, so nothing was {what}.");
        return 1;
    }
}
