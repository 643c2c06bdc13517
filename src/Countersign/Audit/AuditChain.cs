using System.Buffers.Binary;
using System.Data.Common;
using System.Security.Cryptography;
using System.Text;
using Countersign.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;

namespace Countersign.Audit;

/// <summary>
/// Seals the audit rows of a save into a hash chain: each row's hash is SHA-256(previous hash in its chain ‖
/// SHA-256(fields)), fields length-prefixed (docs/architecture.md, "Audit chain"). <see cref="CountersignDb"/>
/// calls it from <c>SaveChangesAsync</c>, inside the caller's transaction.
/// </summary>
internal static class AuditChain
{
    /// <summary>The first key of PostgreSQL's two-key advisory locks for the chains (the second is the chain); any fixed number.</summary>
    public const int LockSpace = 0x4373_4175; // "CsAu"

    /// <summary>The second key of the lock that orders the checkpoint chain.</summary>
    public const int CheckpointLock = -1;

    /// <summary>Rows per PostgreSQL command when a save appends many (the words-shown batches).</summary>
    private const int RowsPerCommand = 200;

    public static readonly byte[] Genesis = new byte[32];

    public static void RequireTransaction(DbContext db)
    {
        if (db.Database.CurrentTransaction is null)
        {
            throw new InvalidOperationException("An audit event must be written in the transaction of the change it records.");
        }
    }

    /// <summary>
    /// SQLite: its write transactions run one at a time, so one chain is enough; the tail is read and the
    /// hashes computed here, and EF inserts the rows with the rest of the save. Ids follow the order the rows
    /// were added (EF orders one table's inserts by their temporary keys; a test over 1,500 rows holds it to that).
    /// </summary>
    public static async Task SealAsync(CountersignDb db, IReadOnlyList<AuditEvent> rows, CancellationToken ct)
    {
        var tail = await db.AuditEvents.Where(e => e.Chain == 0).OrderByDescending(e => e.Seq)
            .Select(e => new { e.Seq, e.Hash }).FirstOrDefaultAsync(ct);
        var (seq, previous) = (tail?.Seq ?? 0, tail?.Hash);
        foreach (var row in rows)
        {
            row.Chain = 0;
            row.Seq = ++seq;
            row.Hash = previous = ComputeHash(previous, row);
        }
    }

    /// <summary>
    /// PostgreSQL: the rows go to a chain no other transaction holds. <c>countersign_audit_chain</c> (created
    /// by the migration <c>AuditChains</c>) tries the chains' advisory locks in order with
    /// <c>pg_try_advisory_xact_lock</c>, takes the first free one, and waits only when all are busy (so an idle
    /// system writes to chain 0, and k concurrent writers to chains 0 … k−1); a second
    /// save in the same transaction reuses its chain, so no transaction ever holds two. The lock is held until
    /// commit, so each chain has one order; different chains append in parallel, across nodes too. The rows go
    /// after the rest of the save, lock, read of the tail and insert in one round trip per
    /// <see cref="RowsPerCommand"/> rows, PostgreSQL's sha256() computing the same hash as <see cref="ComputeHash"/>.
    /// </summary>
    public static async Task AppendAsync(CountersignDb db, IReadOnlyList<AuditEvent> rows, int chains, CancellationToken ct)
    {
        var connection = db.Database.GetDbConnection();
        var transaction = db.Database.CurrentTransaction!.GetDbTransaction();
        foreach (var chunk in rows.Chunk(RowsPerCommand))
        {
            await using var command = connection.CreateCommand();
            command.Transaction = transaction;
            AddAppend(command, chunk, chains);
            await command.ExecuteNonQueryAsync(ct);
        }
    }

    /// <summary>
    /// Whether <see cref="AddAppend"/> may put these rows at the end of a save's own command (<see cref="AuditBatching"/>)
    /// rather than in commands of their own: few enough for one command.
    /// </summary>
    public static bool FitsOneCommand(IReadOnlyList<AuditEvent> rows) => rows.Count <= RowsPerCommand;

    /// <summary>
    /// Adds to the end of <paramref name="command"/> the statements that append <paramref name="rows"/> (at most
    /// <see cref="RowsPerCommand"/>) to a chain: the chain's lock, then one insert per row. The parameters' names start
    /// with <c>audit</c>, unlike EF's (<c>@p0</c> …), so the save's own statements may come before them in one command.
    /// </summary>
    internal static void AddAppend(DbCommand command, IReadOnlyList<AuditEvent> rows, int chains)
    {
        var before = command.CommandText.TrimEnd();
        var sql = new StringBuilder(before);
        if (before.Length > 0)
        {
            sql.Append(before.EndsWith(';') ? "\n" : ";\n");
        }
        // The lock is its own statement, so that the inserts' reads of the tail (each statement sees what was committed
        // when it began, in READ COMMITTED) come after it: a read in the same statement as the lock could miss the
        // previous holder's rows.
        sql.Append("SELECT countersign_audit_chain(@audit_chains);\n");
        for (var i = 0; i < rows.Count; i++)
        {
            var row = rows[i];
            var p = $"@audit{i}_";
            sql.Append(System.Globalization.CultureInfo.InvariantCulture, $"""
                INSERT INTO audit_events ("At", "Action", "UserId", "Username", "ClientIp", "Detail", "Chain", "Seq", "Hash")
                SELECT {p}at, {p}action, {p}user, {p}name, {p}ip, {p}detail, k.c, coalesce(t."Seq", 0) + 1,
                       sha256(coalesce(t."Hash", @audit_genesis) || {p}fields)
                FROM (SELECT current_setting('countersign.audit_chain')::integer AS c) k
                LEFT JOIN LATERAL (SELECT "Seq", "Hash" FROM audit_events WHERE "Chain" = k.c ORDER BY "Seq" DESC LIMIT 1) t ON true;

                """);
            Add(command, p + "at", row.At);
            Add(command, p + "action", row.Action);
            Add(command, p + "user", row.UserId);
            Add(command, p + "name", row.Username);
            Add(command, p + "ip", row.ClientIp);
            Add(command, p + "detail", row.Detail);
            Add(command, p + "fields", FieldsDigest(row));
        }
        Add(command, "audit_genesis", Genesis);
        Add(command, "audit_chains", chains);
        command.CommandText = sql.ToString();
    }

    internal static void Add(DbCommand command, string name, object? value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value ?? DBNull.Value;
        if (value is null)
        {
            // Untyped nulls would make PostgreSQL guess; say what the column is.
            ((Npgsql.NpgsqlParameter)parameter).NpgsqlDbType = name.EndsWith("user", StringComparison.Ordinal)
                ? NpgsqlTypes.NpgsqlDbType.Uuid
                : NpgsqlTypes.NpgsqlDbType.Text;
        }
        command.Parameters.Add(parameter);
    }

    /// <summary>SHA-256 of the previous row's hash followed by the digest of this row's fields.</summary>
    public static byte[] ComputeHash(byte[]? previous, AuditEvent row) =>
        SHA256.HashData([.. previous ?? Genesis, .. FieldsDigest(row)]);

    /// <summary>SHA-256 over every field, each length-prefixed so that no two rows can encode alike.</summary>
    internal static byte[] FieldsDigest(AuditEvent row)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Span<byte> number = stackalloc byte[8];
        BinaryPrimitives.WriteInt64BigEndian(number, (row.At.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / 10);
        hash.AppendData(number);
        foreach (var field in new[] { row.Action, row.UserId?.ToString("N"), row.Username, row.ClientIp, row.Detail })
        {
            var bytes = field is null ? [] : Encoding.UTF8.GetBytes(field);
            BinaryPrimitives.WriteInt64BigEndian(number, field is null ? -1 : bytes.Length);
            hash.AppendData(number);
            hash.AppendData(bytes);
        }
        return hash.GetHashAndReset();
    }

    // Both databases keep microseconds; hashing finer ticks would not survive the round trip.
    public static DateTimeOffset TruncateToMicroseconds(DateTimeOffset t) => new(t.Ticks - t.Ticks % 10, TimeSpan.Zero);
}
