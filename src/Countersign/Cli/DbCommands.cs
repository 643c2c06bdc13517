using System.CommandLine;
using Countersign.Audit;
using Countersign.Storage;
using Microsoft.Extensions.Options;

namespace Countersign.Cli;

internal static class DbCommands
{
    public static Command Create(Action<WebApplicationBuilder>? configure)
    {
        var migrate = new Command("migrate", """
            Apply pending schema migrations (needed once per release on PostgreSQL). With Audit:ConnectionString set,
            also create the separate audit database's tables as the owner in Audit:MigrationConnectionString, and
            let the role of Audit:ConnectionString only INSERT and SELECT there.
            """);
        migrate.SetAction((p, ct) => CountersignCli.WithHostAsync(QuietProbe(configure), async (services, ct) =>
        {
            var applied = await StorageSetup.MigrateAsync(services, ct);
            await p.InvocationConfiguration.Output.WriteLineAsync(applied.Count == 0 ? "The schema is up to date." : $"Applied {applied.Count} migration(s): {string.Join(", ", applied)}");
            var audit = services.GetRequiredService<IOptions<AuditOptions>>().Value;
            if (audit.SeparateDatabase)
            {
                if (string.IsNullOrWhiteSpace(audit.MigrationConnectionString))
                {
                    throw new InvalidOperationException(
                        "Audit:ConnectionString is set: `db migrate` also needs Audit:MigrationConnectionString, the audit database's owner, to create its tables and grants.");
                }
                await p.InvocationConfiguration.Output.WriteLineAsync(await AuditTrail.MigrateAsync(audit.MigrationConnectionString, audit.ConnectionString!, ct));
            }
            return 0;
        }, ct, prepare: false));
        return new Command("db", "Database maintenance.") { migrate };
    }

    /// <summary>
    /// On a new database EF Core's first look at <c>__EFMigrationsHistory</c> fails by design and logs that as an
    /// error, which reads like a failed migration to whoever runs the command. A statement that really fails still
    /// throws, and the command reports it as its one-line error.
    /// </summary>
    private static Action<WebApplicationBuilder> QuietProbe(Action<WebApplicationBuilder>? configure) => builder =>
    {
        configure?.Invoke(builder);
        builder.Logging.AddFilter("Microsoft.EntityFrameworkCore.Database.Command", LogLevel.None);
    };
}
