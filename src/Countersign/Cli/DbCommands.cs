using System.CommandLine;
using Countersign.Storage;

namespace Countersign.Cli;

internal static class DbCommands
{
    public static Command Create(Action<WebApplicationBuilder>? configure)
    {
        var migrate = new Command("migrate", "Apply pending schema migrations (needed once per release on PostgreSQL).");
        migrate.SetAction((_, ct) => CountersignCli.WithHostAsync(configure, async (services, ct) =>
        {
            var applied = await StorageSetup.MigrateAsync(services, ct);
            Console.WriteLine(applied.Count == 0 ? "The schema is up to date." : $"Applied {applied.Count} migration(s): {string.Join(", ", applied)}");
            return 0;
        }, ct, prepare: false));
        return new Command("db", "Database maintenance.") { migrate };
    }
}
