using Microsoft.Extensions.Options;

namespace Countersign.Audit;

/// <summary>Section <c>Audit</c>.</summary>
public sealed class AuditOptions
{
    public const string Section = "Audit";

    /// <summary>JSON-lines log of every authentication attempt; empty turns it off.</summary>
    public string? AttemptLogPath { get; set; } = "data/attempts.jsonl";

    /// <summary>
    /// PostgreSQL: how many hash chains audited writes spread over. A write appends to a chain no other
    /// transaction holds, so writers across every node wait for each other only when all chains are busy
    /// (docs/security.md, "Audit"). 1 gives the single chain of earlier versions. SQLite writes one at a
    /// time anyway and always uses one chain.
    /// </summary>
    [System.ComponentModel.DataAnnotations.Range(1, 1024)]
    public int Chains { get; set; } = 16;

    /// <summary>
    /// How often a node binds every chain's head into the signed checkpoint chain (when anything was
    /// appended since the last one). Events after the last checkpoint are protected by their chain's
    /// hashes only: a database rolled back past them loses them undetected.
    /// </summary>
    [System.ComponentModel.DataAnnotations.Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan CheckpointInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// A second PostgreSQL database (or schema) that keeps the durable copy of the audit chain, where the role
    /// this connects as may only INSERT and SELECT (docs/operations.md, "A separate audit database"). The main
    /// database's audit rows stay the transactional outbox; a background shipper copies them here. Off (null)
    /// by default; needs <c>Storage:Provider=Postgres</c>.
    /// </summary>
    public string? ConnectionString { get; set; }

    /// <summary>
    /// The audit database's owner, used by <c>countersign db migrate</c> alone to create its tables and grant
    /// the role of <see cref="ConnectionString"/> INSERT and SELECT only. The nodes never need it: give it to
    /// the migrate command only (an environment variable for that one run).
    /// </summary>
    public string? MigrationConnectionString { get; set; }

    /// <summary>How often each node looks for committed audit rows to ship (one node ships at a time).</summary>
    public TimeSpan ShipInterval { get; set; } = TimeSpan.FromSeconds(1);

    public bool SeparateDatabase => !string.IsNullOrWhiteSpace(ConnectionString);
}

internal sealed class AuditOptionsValidator(IConfiguration configuration) : IValidateOptions<AuditOptions>
{
    public ValidateOptionsResult Validate(string? name, AuditOptions options)
    {
        var errors = new List<string>();
        foreach (var (key, value) in new[] { ("ConnectionString", options.ConnectionString), ("MigrationConnectionString", options.MigrationConnectionString) })
        {
            try
            {
                _ = string.IsNullOrWhiteSpace(value) ? null : new Npgsql.NpgsqlConnectionStringBuilder(value).ConnectionString;
            }
            catch (ArgumentException e)
            {
                errors.Add($"Audit:{key} is not a valid PostgreSQL connection string: {e.Message}");
            }
        }
        if (options.SeparateDatabase && configuration.ComposeTime<Storage.StorageOptions>(Storage.StorageOptions.Section).Provider != Storage.StorageProvider.Postgres)
        {
            // The shipper reads the outbox in PostgreSQL's parallel chains; embedded SQLite keeps its audit in its own file.
            errors.Add("Audit:ConnectionString (a separate audit database) needs Storage:Provider=Postgres.");
        }
        if (!options.SeparateDatabase && !string.IsNullOrWhiteSpace(options.MigrationConnectionString))
        {
            errors.Add("Audit:MigrationConnectionString is set but Audit:ConnectionString is not: set both, or neither.");
        }
        if (options.ShipInterval < TimeSpan.FromMilliseconds(10) || options.ShipInterval > TimeSpan.FromHours(1))
        {
            errors.Add($"Audit:ShipInterval must be between 10 ms and 1 hour, not {options.ShipInterval}.");
        }
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
