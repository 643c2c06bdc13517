using System.Buffers.Binary;
using System.Data.Common;
using System.Security.Cryptography;
using System.Text;
using Countersign.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;

namespace Countersign.Audit;

/// <summary>
/// Seals the audit rows of a save into the hash chain: each row's hash is SHA-256(previous hash ‖
/// SHA-256(fields)), fields length-prefixed (docs/architecture.md, "Audit chain"). <see cref="CountersignDb"/>
/// calls it from <c>SaveChangesAsync</c>, inside the caller's transaction.
/// </summary>
internal static class AuditChain
{
    // Any fixed number: every node takes this PostgreSQL advisory lock to append, so the chain has one order.
    private const long ChainLock = 0x436F_756E_7465_72;

    /// <summary>Rows per PostgreSQL command when a save appends many (the words-shown batches).</summary>
    private const int RowsPerCommand = 200;

    private static readonly byte[] Genesis = new byte[32];

    public static void RequireTransaction(DbContext db)
    {
        if (db.Database.CurrentTransaction is null)
        {
            throw new InvalidOperationException("An audit event must be written in the transaction of the change it records.");
        }
    }

    /// <summary>
    /// SQLite: its write transactions run one at a time, so the tail is read and the hashes computed here,
    /// and EF inserts the rows with the rest of the save. Ids follow the order the rows were added (EF orders
    /// one table's inserts by their temporary keys; a test over 1,500 rows holds it to that).
    /// </summary>
    public static async Task SealAsync(CountersignDb db, IReadOnlyList<AuditEvent> rows, CancellationToken ct)
    {
        var previous = await db.AuditEvents.OrderByDescending(e => e.Id).Select(e => e.Hash).FirstOrDefaultAsync(ct);
        foreach (var row in rows)
        {
            row.Hash = previous = ComputeHash(previous, row);
        }
    }

    /// <summary>
    /// PostgreSQL: every node appends under one advisory lock held until commit, so the chain has one order.
    /// The rows go after the rest of the save, lock, read of the tail and insert in one round trip per
    /// <see cref="RowsPerCommand"/> rows, PostgreSQL's sha256() computing the same hash as
    /// <see cref="ComputeHash"/>: the lock is taken as late as possible and held for one round trip plus
    /// the commit.
    /// </summary>
    public static async Task AppendAsync(CountersignDb db, IReadOnlyList<AuditEvent> rows, CancellationToken ct)
    {
        var connection = db.Database.GetDbConnection();
        var transaction = db.Database.CurrentTransaction!.GetDbTransaction();
        var first = true;
        foreach (var chunk in rows.Chunk(RowsPerCommand))
        {
            await using var command = connection.CreateCommand();
            command.Transaction = transaction;
            var sql = new StringBuilder();
            if (first)
            {
                sql.Append("SELECT pg_advisory_xact_lock(").Append(ChainLock).Append(");\n");
                first = false;
            }
            for (var i = 0; i < chunk.Length; i++)
            {
                var row = chunk[i];
                var p = $"@p{i}_";
                sql.Append(System.Globalization.CultureInfo.InvariantCulture, $"""
                    INSERT INTO audit_events ("At", "Action", "UserId", "Username", "ClientIp", "Detail", "Hash")
                    SELECT {p}at, {p}action, {p}user, {p}name, {p}ip, {p}detail,
                           sha256(coalesce((SELECT "Hash" FROM audit_events ORDER BY "Id" DESC LIMIT 1), @genesis) || {p}fields);

                    """);
                Add(command, p + "at", row.At);
                Add(command, p + "action", row.Action);
                Add(command, p + "user", row.UserId);
                Add(command, p + "name", row.Username);
                Add(command, p + "ip", row.ClientIp);
                Add(command, p + "detail", row.Detail);
                Add(command, p + "fields", FieldsDigest(row));
            }
            Add(command, "genesis", Genesis);
            command.CommandText = sql.ToString();
            await command.ExecuteNonQueryAsync(ct);
        }
    }

    private static void Add(DbCommand command, string name, object? value)
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
    private static byte[] FieldsDigest(AuditEvent row)
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
