using System.CommandLine;
using Countersign.Audit;
using Countersign.Secrets;
using Countersign.Storage;

namespace Countersign.Cli;

internal static class AuditCommands
{
    public static Command Create(Action<WebApplicationBuilder>? configure)
    {
        var verify = new Command("verify", """
            Check the audit log: every hash chain row by row, the signed checkpoint chain, and that each head a
            checkpoint recorded is still there. Prints `ok N events in C chains, K checkpoints`, or the first
            problem (naming the row or checkpoint) and exits 1. With Audit:ConnectionString set it checks the
            separate audit database instead, and says how many rows still wait in the main database to be shipped.
            """);
        verify.SetAction((p, ct) => CountersignCli.WithHostAsync(configure, async (services, ct) =>
        {
            var keys = services.GetRequiredService<KeyMaterial>();
            var trail = services.GetService<AuditTrail>();
            var result = trail is null
                ? await AuditVerifier.VerifyAsync(services.GetRequiredService<CountersignDb>(), keys, ct)
                : await AuditVerifier.VerifyAsync(trail, keys, ct);
            var where = trail is null ? "" : " in the audit database";
            if (!result.Intact)
            {
                await p.InvocationConfiguration.Output.WriteLineAsync($"broken{where}: {result.Problem} ({result.Events} events in {result.Chains} chains, {result.Checkpoints} checkpoints read)");
                return 1;
            }
            await p.InvocationConfiguration.Output.WriteLineAsync($"ok {result.Events} events in {result.Chains} chains, {result.Checkpoints} checkpoints{where}");
            if (trail is not null)
            {
                var (events, checkpoints) = await services.GetRequiredService<AuditShipper>().WaitingAsync(ct);
                await p.InvocationConfiguration.Output.WriteLineAsync($"waiting in the main database to be shipped: {events} events, {checkpoints} checkpoints");
            }
            return 0;
        }, ct));
        var checkpoint = new Command("checkpoint", "Sign every chain's head into the checkpoint chain now (the server does it every Audit:CheckpointInterval).");
        checkpoint.SetAction((_, ct) => CountersignCli.WithHostAsync(configure, async (services, ct) =>
        {
            var written = await services.GetRequiredService<AuditCheckpoints>().WriteAsync(services.GetRequiredService<CountersignDb>(), ct);
            Console.WriteLine(written is null ? "nothing new since the last checkpoint" : $"checkpoint {written.Id}: {written.Heads}");
            return 0;
        }, ct));
        return new Command("audit", "The audit log.") { verify, checkpoint };
    }
}
