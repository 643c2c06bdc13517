using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;
using Microsoft.Extensions.Options;

namespace Countersign.Storage;

public static class StorageSetup
{
    public static IHostApplicationBuilder AddStorage(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<StorageOptions>().BindConfiguration(StorageOptions.Section).ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<StorageOptions>, StorageOptionsValidator>();

        var options = builder.Configuration.GetSection(StorageOptions.Section).Get<StorageOptions>() ?? new();
        var connectionString = options.EffectiveConnectionString;
        if (options.Provider == StorageProvider.Postgres)
        {
            builder.Services.AddDbContextPool<CountersignDb, PostgresCountersignDb>((services, db) =>
                db.UseNpgsql(Tuned(connectionString)).AddInterceptors(services.GetRequiredService<Audit.SecurityEvents>()));
        }
        else
        {
            EnsureSqliteFolder(connectionString);
            builder.Services.AddSingleton<SqliteWriteGate>();
            builder.Services.AddDbContextPool<CountersignDb, SqliteCountersignDb>((services, db) =>
                db.UseSqlite(connectionString).AddInterceptors(services.GetRequiredService<SqliteWriteGate>(),
                    services.GetRequiredService<Audit.SecurityEvents>()));
        }
        builder.Services.AddSingleton<Audit.SecurityEvents>();
        builder.Services.AddHealthChecks().AddDbContextCheck<CountersignDb>("database", tags: ["ready"]);
        return builder;
    }

    /// <summary>Brings the schema up to date; <c>countersign db migrate</c> and embedded start-up call it.</summary>
    public static async Task<IReadOnlyList<string>> MigrateAsync(IServiceProvider services, CancellationToken ct = default)
    {
        await using var scope = services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<CountersignDb>();
        var pending = (await db.Database.GetPendingMigrationsAsync(ct)).ToList();
        await db.Database.MigrateAsync(ct);
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

    private static void EnsureSqliteFolder(string connectionString)
    {
        var file = new SqliteConnectionStringBuilder(connectionString).DataSource;
        var folder = Path.GetDirectoryName(Path.GetFullPath(file));
        if (!string.IsNullOrEmpty(folder) && file != ":memory:")
        {
            Directory.CreateDirectory(folder);
        }
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
