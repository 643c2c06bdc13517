using System.CommandLine;
using Countersign.CallVerification;

namespace Countersign.Cli;

internal static class PairsCommands
{
    public static Command Create(Action<WebApplicationBuilder>? configure)
    {
        var advisor = new Argument<string>("advisor") { Description = "Username of an account with the advisor role." };
        var client = new Argument<string>("client") { Description = "Username of an account with the client role." };
        var add = new Command("add", "Pair an advisor with a client (a new 256-bit secret, stored encrypted).") { advisor, client };
        add.SetAction((p, ct) => CountersignCli.WithHostAsync(configure, async (services, ct) =>
        {
            var (pair, error) = await services.GetRequiredService<PairService>().CreateAsync(p.GetValue(advisor)!, p.GetValue(client)!, "cli", ct);
            if (pair is null)
            {
                await Console.Error.WriteLineAsync("error: " + CallsApi.Describe(error));
                return 1;
            }
            Console.WriteLine($"Paired {p.GetValue(advisor)} with {p.GetValue(client)} ({pair.Id}).");
            return 0;
        }, ct));

        var id = new Argument<Guid>("pair-id");
        var remove = new Command("remove", "Remove a pair.") { id };
        remove.SetAction((p, ct) => CountersignCli.WithHostAsync(configure, async (services, ct) =>
        {
            if (!await services.GetRequiredService<PairService>().RemoveAsync(p.GetValue(id), "cli", ct))
            {
                await Console.Error.WriteLineAsync("error: no such pair");
                return 1;
            }
            Console.WriteLine("Removed.");
            return 0;
        }, ct));

        var list = new Command("list", "List the pairs.");
        list.SetAction((_, ct) => CountersignCli.WithHostAsync(configure, async (services, ct) =>
        {
            Console.WriteLine($"{"ID",-36}  {"ADVISOR",-24} CLIENT");
            foreach (var pair in await services.GetRequiredService<PairService>().ListAsync(ct))
            {
                Console.WriteLine($"{pair.Id,-36}  {pair.Advisor,-24} {pair.Client}");
            }
            return 0;
        }, ct));

        var file = new Argument<FileInfo>("file") { Description = "CSV with lines advisor,client (a header line is skipped)." };
        var import = new Command("import", "Create many pairs from a CSV file.") { file };
        import.SetAction((p, ct) => CountersignCli.WithHostAsync(configure, async (services, ct) =>
        {
            var pairs = services.GetRequiredService<PairService>();
            int created = 0, refused = 0, line = 0;
            foreach (var text in await File.ReadAllLinesAsync(p.GetValue(file)!.FullName, ct))
            {
                line++;
                var parts = text.Split(',', 2, StringSplitOptions.TrimEntries);
                if (parts.Length != 2 || (line == 1 && parts[0].Equals("advisor", StringComparison.OrdinalIgnoreCase)) || parts[0].Length == 0)
                {
                    continue;
                }
                var (_, error) = await pairs.CreateAsync(parts[0], parts[1], "cli", ct);
                if (error == PairError.None)
                {
                    created++;
                }
                else
                {
                    refused++;
                    await Console.Error.WriteLineAsync($"line {line}: {CallsApi.Describe(error)}");
                }
            }
            Console.WriteLine($"Created {created} pair(s), {refused} refused.");
            return refused == 0 ? 0 : 1;
        }, ct));
        return new Command("pairs", "Advisor–client pairs for call verification.") { add, remove, list, import };
    }
}
