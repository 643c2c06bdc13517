using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.EntityFrameworkCore.Design;
using Microsoft.Extensions.Options;

namespace Countersign.Storage;

public static class StorageSetup
{
    public static IHostApplicationBuilder AddStorage(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<StorageOptions>().BindValidated(StorageOptions.Section);
        builder.Services.AddSingleton<IValidateOptions<StorageOptions>, StorageOptionsValidator>();

        // Only the provider is needed to compose; the connection string is read from the validated options.
        if (builder.Configuration.ComposeTime<StorageOptions>(StorageOptions.Section).Provider == StorageProvider.Postgres)
        {
            builder.Services.AddDbContextPool<CountersignDb, PostgresCountersignDb>((services, db) =>
                db.UseNpgsql(Tuned(services.GetRequiredService<IOptions<StorageOptions>>().Value.EffectiveConnectionString))
                    .ConfigureWarnings(SkipModelDiffAtMigrate).ConfigureWarnings(Audit.AuditBatching.ExpectTheChainLocksResult)
                    .AddInterceptors(services.GetRequiredService<AfterCommit>(), Audit.AuditBatching.Instance)
                    .AddInterceptors(services.GetServices<IInterceptor>()));
        }
        else
        {
            builder.Services.AddSingleton<SqliteWriteGate>();
            builder.Services.AddDbContextPool<CountersignDb, SqliteCountersignDb>((services, db) =>
            {
                var connectionString = services.GetRequiredService<IOptions<StorageOptions>>().Value.EffectiveConnectionString;
                EnsureSqliteFolder(connectionString);
                db.UseSqlite(connectionString).ConfigureWarnings(SkipModelDiffAtMigrate)
                    .AddInterceptors(services.GetRequiredService<SqliteWriteGate>(), services.GetRequiredService<AfterCommit>())
                    .AddInterceptors(services.GetServices<IInterceptor>());
            });
        }
        builder.Services.AddSingleton<Audit.SecurityEvents>();
        builder.Services.AddSingleton<AfterCommit>();
        // Any other IInterceptor in the container joins them (a test counting commands, say).
        builder.Services.AddHealthChecks().AddDbContextCheck<CountersignDb>("database", tags: ["ready"]);
        return builder;
    }

    /// <summary>
    /// EF Core's <c>Migrate</c> first checks for model changes that no migration covers, by building the design-time
    /// model a second time and diffing it with the snapshot: ~0.1–0.3 s of every fresh start (docs/benchmarks.md
    /// "Footprint"). That is a check on the source tree, not on the database, so a test makes it instead
    /// (MigrationsTests: <c>HasPendingModelChanges</c> for each provider), where a missing migration fails the build
    /// rather than an operator's start; ignoring the warning is what makes <c>Migrate</c> skip the work.
    /// </summary>
    private static void SkipModelDiffAtMigrate(WarningsConfigurationBuilder warnings) =>
        warnings.Ignore(RelationalEventId.PendingModelChangesWarning);

    /// <summary>Brings the schema up to date; <c>countersign db migrate</c> and embedded start-up call it.</summary>
    public static async Task<IReadOnlyList<string>> MigrateAsync(IServiceProvider services, CancellationToken ct = default)
    {
        await using var scope = services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<CountersignDb>();
        var pending = (await db.Database.GetPendingMigrationsAsync(ct)).ToList();
        // Nothing to apply: a restart of a migrated database skips EF Core's Migrate, whose check for model changes
        // missing from the migrations builds the design-time model and diffs it with the snapshot (inside the 1.7 s that
        // preparing took in a restart, docs/benchmarks.md "Footprint"). A fresh database, every test run's, still gets it.
        if (pending.Count > 0)
        {
            await db.Database.MigrateAsync(ct);
        }
        if (db.Database.IsSqlite())
        {
            // WAL lets readers run beside the single writer; the setting persists in the file.
            await db.Database.ExecuteSqlRawAsync("PRAGMA journal_mode=WAL;", ct);
        }
        return pending;
    }

    /// <summary>
    /// Every request runs the same few statements, so prepared statements pay off, and nothing here keeps
    /// session state on a connection, so the DISCARD ALL round trip on each return to the pool is waste.
    /// Measured on 2 vCPUs: refresh rotations went from ~650/s to ~1,050/s (docs/benchmarks.md).
    /// Values set in the connection string win.
    /// </summary>
    internal static string Tuned(string connectionString)
    {
        var builder = new Npgsql.NpgsqlConnectionStringBuilder(connectionString);
        if (builder.MaxAutoPrepare == 0)
        {
            builder.MaxAutoPrepare = 32;
            builder.AutoPrepareMinUsages = 2;
        }
        if (!connectionString.Contains("reset", StringComparison.OrdinalIgnoreCase))
        {
            builder.NoResetOnClose = true;
        }
        return builder.ConnectionString;
    }

    /// <summary>
    /// The data folder is created 0700 and the database file 0600 before SQLite opens it; SQLite gives its
    /// <c>-wal</c> and <c>-shm</c> files the database file's mode, so all three stay private (they hold password
    /// hashes and encrypted secrets; ASVS 4.0 §14.1.x least privilege on files).
    /// </summary>
    private static void EnsureSqliteFolder(string connectionString)
    {
        var file = new SqliteConnectionStringBuilder(connectionString).DataSource;
        if (string.IsNullOrEmpty(file) || file == ":memory:")
        {
            return;
        }
        var folder = Path.GetDirectoryName(Path.GetFullPath(file));
        if (!string.IsNullOrEmpty(folder))
        {
            PrivateFiles.CreateFolder(folder);
        }
        PrivateFiles.Touch(Path.GetFullPath(file));
    }
}

/// <summary>
/// Lets <c>dotnet ef migrations add</c> build each provider's context without a running host. Identity
/// reads its schema version (Version3 adds passkeys) from IdentityOptions, so design time gets the same.
/// </summary>
internal sealed class DesignTimeFactory : IDesignTimeDbContextFactory<SqliteCountersignDb>, IDesignTimeDbContextFactory<PostgresCountersignDb>
{
    private static readonly IServiceProvider IdentityServices = new ServiceCollection()
        .Configure<Microsoft.AspNetCore.Identity.IdentityOptions>(o => o.Stores.SchemaVersion = Microsoft.AspNetCore.Identity.IdentitySchemaVersions.Version3)
        .BuildServiceProvider();

    SqliteCountersignDb IDesignTimeDbContextFactory<SqliteCountersignDb>.CreateDbContext(string[] args) =>
        new(new DbContextOptionsBuilder<SqliteCountersignDb>().UseSqlite("Data Source=design.db")
            .UseApplicationServiceProvider(IdentityServices).Options);

    PostgresCountersignDb IDesignTimeDbContextFactory<PostgresCountersignDb>.CreateDbContext(string[] args) =>
        new(new DbContextOptionsBuilder<PostgresCountersignDb>().UseNpgsql("Host=localhost")
            .UseApplicationServiceProvider(IdentityServices).Options);
}
