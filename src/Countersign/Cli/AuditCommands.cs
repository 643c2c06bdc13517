using System.CommandLine;
using Countersign.Audit;
using Countersign.Storage;

namespace Countersign.Cli;

internal static class AuditCommands
{
    public static Command Create(Action<WebApplicationBuilder>? configure)
    {
        var verify = new Command("verify", "Walk the audit hash chain: prints `ok N events`, or the first broken row and exits 1.");
        verify.SetAction((_, ct) => CountersignCli.WithHostAsync(configure, async (services, ct) =>
        {
            var (count, broken) = await AuditLog.VerifyAsync(services.GetRequiredService<CountersignDb>(), ct);
            if (broken is { } id)
            {
                Console.WriteLine($"broken at event {id} (after {count} good events)");
                return 1;
            }
            Console.WriteLine($"ok {count} events");
            return 0;
        }, ct));
        return new Command("audit", "The audit log.") { verify };
    }
}
