using System.Runtime.CompilerServices;
using Microsoft.Extensions.Options;
using Npgsql;
using NpgsqlTypes;

namespace Countersign.Audit;

/// <summary>
/// The separate audit database (<see cref="AuditOptions.ConnectionString"/>): a copy of the main database's
/// audit chains and checkpoints, row for row with their hashes, in tables the application's role may only
/// append to and read (ASVS 16.4.2, 16.4.3: logs protected from modification and kept apart from the system
/// they record). Its schema is plain SQL, set up by <see cref="MigrateAsync"/>; <see cref="AuditShipper"/>
/// writes to it, <see cref="AuditVerifier"/> reads it.
/// </summary>
public sealed class AuditTrail(IOptions<AuditOptions> options) : IAsyncDisposable
{
    // Names unlike the main database's (audit_events), so that an audit "database" that is in fact the main
    // one, or a schema beside it, can never be mistaken for the outbox.
    internal const string Events = "audit_trail_events";
    internal const string Checkpoints = "audit_trail_checkpoints";

    /// <summary>The second key of the advisory lock (in the audit database) held by the node that ships a round.</summary>
    private const int ShipLock = -2;

    private const string Columns = """ "Chain", "Seq", "Id", "At", "Action", "UserId", "Username", "ClientIp", "Detail", "Hash" """;

    private readonly NpgsqlDataSource _source = NpgsqlDataSource.Create(options.Value.ConnectionString!);

    public ValueTask<NpgsqlConnection> OpenAsync(CancellationToken ct) => _source.OpenConnectionAsync(ct);

    public ValueTask DisposeAsync() => _source.DisposeAsync();

    /// <summary>
    /// Creates the tables (if missing) as the owner of <paramref name="ownerConnectionString"/>, and lets the role of
    /// <paramref name="writerConnectionString"/> INSERT and SELECT only. Run again at every <c>db migrate</c>: each
    /// statement is idempotent, so the grants are put back if someone widened them. Returns what it did, for the CLI.
    /// </summary>
    public static async Task<string> MigrateAsync(string ownerConnectionString, string writerConnectionString, CancellationToken ct)
    {
        var writer = await WhoAsync(writerConnectionString, ct);
        var owner = await WhoAsync(ownerConnectionString, ct);
        if (writer.Database != owner.Database)
        {
            throw new InvalidOperationException(
                $"Audit:MigrationConnectionString reaches database {owner.Database}, Audit:ConnectionString reaches {writer.Database}: they must name the same audit database.");
        }
        if (writer.Role == owner.Role)
        {
            // An owner can grant itself UPDATE again and drop the triggers: the writer must be someone else.
            throw new InvalidOperationException(
                $"Audit:ConnectionString connects as {writer.Role}, the owner of the audit tables: give the nodes a role of their own, which may only INSERT and SELECT.");
        }
        if (writer.Superuser)
        {
            throw new InvalidOperationException(
                $"Audit:ConnectionString connects as {writer.Role}, a PostgreSQL superuser, whom no grant binds: give the nodes an ordinary role.");
        }
        var role = Quote(writer.Role);
        await using var connection = new NpgsqlConnection(ownerConnectionString);
        await connection.OpenAsync(ct);
        await using var command = connection.CreateCommand();
        command.CommandText = $"""
            CREATE TABLE IF NOT EXISTS {Events} (
                "Chain" integer NOT NULL,
                "Seq" bigint NOT NULL,
                "Id" bigint NOT NULL,
                "At" timestamp with time zone NOT NULL,
                "Action" character varying(64) NOT NULL,
                "UserId" uuid,
                "Username" character varying(256),
                "ClientIp" character varying(64),
                "Detail" character varying(4096),
                "Hash" bytea NOT NULL,
                PRIMARY KEY ("Chain", "Seq"));
            CREATE TABLE IF NOT EXISTS {Checkpoints} (
                "Id" bigint PRIMARY KEY,
                "At" timestamp with time zone NOT NULL,
                "Heads" text NOT NULL,
                "Hash" bytea NOT NULL,
                "Mac" bytea NOT NULL);

            -- Grants bind every role but the owner and superusers; these triggers refuse the owner too (a superuser
            -- can still disable them: docs/security.md, "A separate audit database"). Statement triggers, so even an
            -- UPDATE or DELETE that matches no row is refused, and TRUNCATE (which fires no row trigger) as well.
            CREATE OR REPLACE FUNCTION audit_trail_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION 'the audit trail is append-only: % on % refused', TG_OP, TG_TABLE_NAME
                    USING ERRCODE = 'insufficient_privilege';
            END
            $$;
            CREATE OR REPLACE TRIGGER append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON {Events}
                FOR EACH STATEMENT EXECUTE FUNCTION audit_trail_append_only();
            CREATE OR REPLACE TRIGGER append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON {Checkpoints}
                FOR EACH STATEMENT EXECUTE FUNCTION audit_trail_append_only();

            -- No one but the owner may change rows, whatever was granted since the last migrate (a reader's
            -- SELECT stays); the nodes' role may add rows and read them, nothing else.
            REVOKE ALL ON {Events}, {Checkpoints} FROM PUBLIC;
            DO $$
            DECLARE grantee regrole;
            BEGIN
                FOR grantee IN SELECT DISTINCT a.grantee::regrole FROM pg_class c, aclexplode(c.relacl) a
                    WHERE c.oid IN ('{Events}'::regclass, '{Checkpoints}'::regclass) AND a.grantee NOT IN (0, c.relowner)
                LOOP
                    EXECUTE format('REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON {Events}, {Checkpoints} FROM %s', grantee);
                END LOOP;
            END
            $$;
            GRANT SELECT, INSERT ON {Events}, {Checkpoints} TO {role};
            """;
        await command.ExecuteNonQueryAsync(ct);
        return $"audit database {owner.Database}: tables owned by {owner.Role}, {writer.Role} may INSERT and SELECT only";
    }

    private sealed record Who(string Role, string Database, bool Superuser);

    private static async Task<Who> WhoAsync(string connectionString, CancellationToken ct)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(ct);
        await using var command = new NpgsqlCommand(
            "SELECT current_user, current_database(), rolsuper FROM pg_roles WHERE rolname = current_user", connection);
        await using var reader = await command.ExecuteReaderAsync(ct);
        await reader.ReadAsync(ct);
        return new Who(reader.GetString(0), reader.GetString(1), reader.GetBoolean(2));
    }

    private static string Quote(string identifier) => "\"" + identifier.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";

    /// <summary>Takes the shipping lock for this transaction if no other node holds it; false when one does.</summary>
    internal static async Task<bool> TryLeadAsync(NpgsqlConnection connection, NpgsqlTransaction tx, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand($"SELECT pg_try_advisory_xact_lock({AuditChain.LockSpace}, {ShipLock})", connection, tx);
        return (bool)(await command.ExecuteScalarAsync(ct))!;
    }

    /// <summary>
    /// Each chain's last number in <paramref name="table"/>: the chains found with a loose index scan (one probe
    /// of the (Chain, Seq) index per chain, however long the chains), then the last number of each.
    /// </summary>
    internal static async Task<Dictionary<int, long>> HeadsAsync(NpgsqlConnection connection, NpgsqlTransaction? tx, string table, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand($"""
            WITH RECURSIVE chains AS (
                SELECT min("Chain") AS c FROM {table}
                UNION ALL
                SELECT (SELECT min("Chain") FROM {table} WHERE "Chain" > chains.c) FROM chains WHERE chains.c IS NOT NULL)
            SELECT c, (SELECT max("Seq") FROM {table} WHERE "Chain" = chains.c) FROM chains WHERE c IS NOT NULL
            """, connection, tx);
        var heads = new Dictionary<int, long>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            heads[reader.GetInt32(0)] = reader.GetInt64(1);
        }
        return heads;
    }

    /// <summary>Copies rows as they are, hashes included; a (chain, seq) already there is left alone, so a round repeated by another node adds nothing.</summary>
    internal static async Task InsertEventsAsync(NpgsqlConnection connection, NpgsqlTransaction tx, IReadOnlyList<AuditEvent> rows, CancellationToken ct)
    {
        if (rows.Count == 0)
        {
            return;
        }
        await using var command = new NpgsqlCommand($"""
            INSERT INTO {Events} ({Columns})
            SELECT * FROM unnest(@chain, @seq, @id, @at, @action, @user, @name, @ip, @detail, @hash)
            ON CONFLICT ("Chain", "Seq") DO NOTHING
            """, connection, tx);
        command.Parameters.Add(new NpgsqlParameter<int[]>("chain", [.. rows.Select(r => r.Chain)]));
        command.Parameters.Add(new NpgsqlParameter<long[]>("seq", [.. rows.Select(r => r.Seq)]));
        command.Parameters.Add(new NpgsqlParameter<long[]>("id", [.. rows.Select(r => r.Id)]));
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset[]>("at", [.. rows.Select(r => r.At)]));
        command.Parameters.Add(new NpgsqlParameter<string[]>("action", [.. rows.Select(r => r.Action)]));
        command.Parameters.Add(new NpgsqlParameter<Guid?[]>("user", [.. rows.Select(r => r.UserId)]) { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Uuid });
        command.Parameters.Add(Texts("name", rows.Select(r => r.Username)));
        command.Parameters.Add(Texts("ip", rows.Select(r => r.ClientIp)));
        command.Parameters.Add(Texts("detail", rows.Select(r => r.Detail)));
        command.Parameters.Add(new NpgsqlParameter<byte[][]>("hash", [.. rows.Select(r => r.Hash)]));
        await command.ExecuteNonQueryAsync(ct);
    }

    private static NpgsqlParameter<string?[]> Texts(string name, IEnumerable<string?> values) =>
        new(name, [.. values]) { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text };

    internal static async Task InsertCheckpointsAsync(NpgsqlConnection connection, NpgsqlTransaction tx, IReadOnlyList<AuditCheckpoint> rows, CancellationToken ct)
    {
        if (rows.Count == 0)
        {
            return;
        }
        await using var command = new NpgsqlCommand($"""
            INSERT INTO {Checkpoints} ("Id", "At", "Heads", "Hash", "Mac")
            SELECT * FROM unnest(@id, @at, @heads, @hash, @mac)
            ON CONFLICT ("Id") DO NOTHING
            """, connection, tx);
        command.Parameters.Add(new NpgsqlParameter<long[]>("id", [.. rows.Select(r => r.Id)]));
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset[]>("at", [.. rows.Select(r => r.At)]));
        command.Parameters.Add(new NpgsqlParameter<string[]>("heads", [.. rows.Select(r => r.Heads)]));
        command.Parameters.Add(new NpgsqlParameter<byte[][]>("hash", [.. rows.Select(r => r.Hash)]));
        command.Parameters.Add(new NpgsqlParameter<byte[][]>("mac", [.. rows.Select(r => r.Mac)]));
        await command.ExecuteNonQueryAsync(ct);
    }

    internal static async Task<long> LastCheckpointAsync(NpgsqlConnection connection, NpgsqlTransaction? tx, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand($"""SELECT coalesce(max("Id"), 0) FROM {Checkpoints}""", connection, tx);
        return (long)(await command.ExecuteScalarAsync(ct))!;
    }

    /// <summary>Every checkpoint, oldest first, for <see cref="AuditVerifier"/>.</summary>
    public async IAsyncEnumerable<AuditCheckpoint> ReadCheckpointsAsync([EnumeratorCancellation] CancellationToken ct = default)
    {
        await using var connection = await OpenAsync(ct);
        await using var command = new NpgsqlCommand($"""SELECT "Id", "At", "Heads", "Hash", "Mac" FROM {Checkpoints} ORDER BY "Id" """, connection);
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            yield return new AuditCheckpoint
            {
                Id = reader.GetInt64(0),
                At = reader.GetFieldValue<DateTimeOffset>(1),
                Heads = reader.GetString(2),
                Hash = reader.GetFieldValue<byte[]>(3),
                Mac = reader.GetFieldValue<byte[]>(4),
            };
        }
    }

    /// <summary>Every event in chain order (chain, then number), streamed, for <see cref="AuditVerifier"/>.</summary>
    public async IAsyncEnumerable<AuditEvent> ReadEventsAsync([EnumeratorCancellation] CancellationToken ct = default)
    {
        await using var connection = await OpenAsync(ct);
        await using var command = new NpgsqlCommand($"""SELECT {Columns} FROM {Events} ORDER BY "Chain", "Seq" """, connection);
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            yield return new AuditEvent
            {
                Chain = reader.GetInt32(0),
                Seq = reader.GetInt64(1),
                Id = reader.GetInt64(2),
                At = reader.GetFieldValue<DateTimeOffset>(3),
                Action = reader.GetString(4),
                UserId = reader.IsDBNull(5) ? null : reader.GetGuid(5),
                Username = reader.IsDBNull(6) ? null : reader.GetString(6),
                ClientIp = reader.IsDBNull(7) ? null : reader.GetString(7),
                Detail = reader.IsDBNull(8) ? null : reader.GetString(8),
                Hash = reader.GetFieldValue<byte[]>(9),
            };
        }
    }
}
