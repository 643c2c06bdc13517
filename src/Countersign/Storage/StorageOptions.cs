using Microsoft.Extensions.Options;

namespace Countersign.Storage;

public enum StorageProvider
{
    Sqlite,
    Postgres,
}

public sealed class StorageOptions
{
    public const string Section = "Storage";

    public StorageProvider Provider { get; set; } = StorageProvider.Sqlite;

    /// <summary>Defaults to <c>Data Source=data/countersign.db</c> for SQLite; required for PostgreSQL.</summary>
    public string? ConnectionString { get; set; }

    /// <summary>
    /// Apply pending migrations when the server starts. Defaults to on for SQLite (nothing to set up) and
    /// off for PostgreSQL, where <c>countersign db migrate</c> is run once per release instead of by every node.
    /// </summary>
    public bool? MigrateAtStart { get; set; }

    public string EffectiveConnectionString =>
        ConnectionString ?? (Provider == StorageProvider.Sqlite ? "Data Source=data/countersign.db" : "");

    public bool EffectiveMigrateAtStart => MigrateAtStart ?? Provider == StorageProvider.Sqlite;
}

internal sealed class StorageOptionsValidator : IValidateOptions<StorageOptions>
{
    public ValidateOptionsResult Validate(string? name, StorageOptions options)
    {
        if (options.Provider == StorageProvider.Postgres && string.IsNullOrWhiteSpace(options.ConnectionString))
        {
            return ValidateOptionsResult.Fail(
                "Storage:ConnectionString is required when Storage:Provider is Postgres.");
        }
        try
        {
            _ = options.Provider == StorageProvider.Postgres
                ? new Npgsql.NpgsqlConnectionStringBuilder(options.EffectiveConnectionString).ConnectionString
                : new Microsoft.Data.Sqlite.SqliteConnectionStringBuilder(options.EffectiveConnectionString).ConnectionString;
        }
        catch (ArgumentException e)
        {
            return ValidateOptionsResult.Fail($"Storage:ConnectionString is not a valid {options.Provider} connection string: {e.Message}");
        }
        return ValidateOptionsResult.Success;
    }
}
