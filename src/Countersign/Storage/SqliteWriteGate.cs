using System.Collections.Concurrent;
using System.Data.Common;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace Countersign.Storage;

/// <summary>
/// Lets one write at a time into the SQLite file, waiting asynchronously. SQLite has a single writer;
/// without this, concurrent writers meet SQLITE_BUSY, and Microsoft.Data.Sqlite retries by putting the
/// calling thread to sleep until the command timeout (30 s). Under load that loses fairness: one request
/// can keep losing the race for the full 30 s while the sleeping threads starve the pool (seen as 30 s
/// stalls of page POSTs in the browser tests, and ~44 hub connections/s in the fan-out bench).
///
/// A write is a transaction (EF wraps every SaveChanges in one) or a statement run outside one
/// (ExecuteUpdate/ExecuteDelete/raw SQL). The gate is held from the transaction's start to its end, and
/// released when the connection closes if it ends any other way (disposed without commit or rollback).
/// Waiting is bounded: after <see cref="MaxWait"/> the write goes ahead ungated and SQLite's own locking
/// decides, so a write nested inside another's transaction (another DbContext) can never deadlock here.
/// Only this process is gated; a CLI command on the same file meanwhile still meets SQLite's locking.
/// </summary>
internal sealed partial class SqliteWriteGate(ILogger<SqliteWriteGate> logger)
    : DbTransactionInterceptor, IDbConnectionInterceptor, IDbCommandInterceptor, IDisposable
{
    public static readonly TimeSpan MaxWait = TimeSpan.FromSeconds(10);

    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly ConcurrentDictionary<DbConnection, byte> _holders = new();

    // The transaction is begun here rather than by EF, so that a BEGIN that fails (cancelled, or SQLITE_BUSY
    // from another process) gives the gate back: EF reports no failure event for it.
    public override async ValueTask<InterceptionResult<DbTransaction>> TransactionStartingAsync(DbConnection connection,
        TransactionStartingEventData eventData, InterceptionResult<DbTransaction> result, CancellationToken cancellationToken = default)
    {
        await EnterAsync(connection, cancellationToken);
        try
        {
            return InterceptionResult<DbTransaction>.SuppressWithResult(await connection.BeginTransactionAsync(eventData.IsolationLevel, cancellationToken));
        }
        catch
        {
            Exit(connection);
            throw;
        }
    }

    public override InterceptionResult<DbTransaction> TransactionStarting(DbConnection connection, TransactionStartingEventData eventData,
        InterceptionResult<DbTransaction> result)
    {
        Enter(connection);
        try
        {
            return InterceptionResult<DbTransaction>.SuppressWithResult(connection.BeginTransaction(eventData.IsolationLevel));
        }
        catch
        {
            Exit(connection);
            throw;
        }
    }

    public override Task TransactionCommittedAsync(DbTransaction transaction, TransactionEndEventData eventData, CancellationToken cancellationToken = default)
    {
        Exit(eventData.Context?.Database.GetDbConnection());
        return Task.CompletedTask;
    }

    public override void TransactionCommitted(DbTransaction transaction, TransactionEndEventData eventData) => Exit(eventData.Context?.Database.GetDbConnection());

    public override Task TransactionRolledBackAsync(DbTransaction transaction, TransactionEndEventData eventData, CancellationToken cancellationToken = default)
    {
        Exit(eventData.Context?.Database.GetDbConnection());
        return Task.CompletedTask;
    }

    public override void TransactionRolledBack(DbTransaction transaction, TransactionEndEventData eventData) => Exit(eventData.Context?.Database.GetDbConnection());

    public override Task TransactionFailedAsync(DbTransaction transaction, TransactionErrorEventData eventData, CancellationToken cancellationToken = default)
    {
        Exit(eventData.Context?.Database.GetDbConnection());
        return Task.CompletedTask;
    }

    public override void TransactionFailed(DbTransaction transaction, TransactionErrorEventData eventData) => Exit(eventData.Context?.Database.GetDbConnection());

    // A transaction disposed without commit or rollback: EF closes the connection it opened for it.
    Task IDbConnectionInterceptor.ConnectionClosedAsync(DbConnection connection, ConnectionEndEventData eventData)
    {
        Exit(connection);
        return Task.CompletedTask;
    }

    void IDbConnectionInterceptor.ConnectionClosed(DbConnection connection, ConnectionEndEventData eventData) => Exit(connection);

    InterceptionResult IDbConnectionInterceptor.ConnectionDisposing(DbConnection connection, ConnectionEventData eventData, InterceptionResult result)
    {
        Exit(connection);
        return result;
    }

    ValueTask<InterceptionResult> IDbConnectionInterceptor.ConnectionDisposingAsync(DbConnection connection, ConnectionEventData eventData,
        InterceptionResult result)
    {
        Exit(connection);
        return ValueTask.FromResult(result);
    }

    // Statements outside a transaction that may write: held for the statement only.
    async ValueTask<InterceptionResult<int>> IDbCommandInterceptor.NonQueryExecutingAsync(DbCommand command, CommandEventData eventData,
        InterceptionResult<int> result, CancellationToken cancellationToken)
    {
        await EnterStatementAsync(command, cancellationToken);
        return result;
    }

    InterceptionResult<int> IDbCommandInterceptor.NonQueryExecuting(DbCommand command, CommandEventData eventData, InterceptionResult<int> result)
    {
        EnterStatement(command);
        return result;
    }

    ValueTask<int> IDbCommandInterceptor.NonQueryExecutedAsync(DbCommand command, CommandExecutedEventData eventData, int result, CancellationToken cancellationToken)
    {
        ExitStatement(command);
        return ValueTask.FromResult(result);
    }

    int IDbCommandInterceptor.NonQueryExecuted(DbCommand command, CommandExecutedEventData eventData, int result)
    {
        ExitStatement(command);
        return result;
    }

    // EF runs a SaveChanges of one statement without a transaction, as a reader (INSERT … RETURNING):
    // held until the reader is disposed, when SQLite finishes the statement.
    async ValueTask<InterceptionResult<DbDataReader>> IDbCommandInterceptor.ReaderExecutingAsync(DbCommand command, CommandEventData eventData,
        InterceptionResult<DbDataReader> result, CancellationToken cancellationToken)
    {
        if (IsWrite(command))
        {
            await EnterStatementAsync(command, cancellationToken);
        }
        return result;
    }

    InterceptionResult<DbDataReader> IDbCommandInterceptor.ReaderExecuting(DbCommand command, CommandEventData eventData, InterceptionResult<DbDataReader> result)
    {
        if (IsWrite(command))
        {
            EnterStatement(command);
        }
        return result;
    }

    InterceptionResult IDbCommandInterceptor.DataReaderDisposing(DbCommand command, DataReaderDisposingEventData eventData, InterceptionResult result)
    {
        ExitStatement(command);
        return result;
    }

    // A statement inside a transaction is covered by the transaction's hold.
    private Task EnterStatementAsync(DbCommand command, CancellationToken ct) =>
        command.Transaction is null ? EnterAsync(command.Connection!, ct) : Task.CompletedTask;

    private void EnterStatement(DbCommand command)
    {
        if (command.Transaction is null)
        {
            Enter(command.Connection!);
        }
    }

    private void ExitStatement(DbCommand command)
    {
        if (command.Transaction is null)
        {
            Exit(command.Connection);
        }
    }

    private static bool IsWrite(DbCommand command)
    {
        var sql = command.CommandText.AsSpan().TrimStart();
        return sql.StartsWith("INSERT", StringComparison.OrdinalIgnoreCase) || sql.StartsWith("UPDATE", StringComparison.OrdinalIgnoreCase)
            || sql.StartsWith("DELETE", StringComparison.OrdinalIgnoreCase) || sql.StartsWith("REPLACE", StringComparison.OrdinalIgnoreCase);
    }

    Task IDbCommandInterceptor.CommandCanceledAsync(DbCommand command, CommandEndEventData eventData, CancellationToken cancellationToken)
    {
        ExitStatement(command);
        return Task.CompletedTask;
    }

    void IDbCommandInterceptor.CommandCanceled(DbCommand command, CommandEndEventData eventData) => ExitStatement(command);

    Task IDbCommandInterceptor.CommandFailedAsync(DbCommand command, CommandErrorEventData eventData, CancellationToken cancellationToken)
    {
        ExitStatement(command);
        return Task.CompletedTask;
    }

    void IDbCommandInterceptor.CommandFailed(DbCommand command, CommandErrorEventData eventData) => ExitStatement(command);

    private async Task EnterAsync(DbConnection connection, CancellationToken ct)
    {
        if (_holders.ContainsKey(connection))
        {
            return;
        }
        if (await _gate.WaitAsync(MaxWait, ct))
        {
            _holders[connection] = 0;
        }
        else
        {
            LogGateTimeout(logger, MaxWait.TotalSeconds);
        }
    }

    private void Enter(DbConnection connection)
    {
        if (_holders.ContainsKey(connection))
        {
            return;
        }
        if (_gate.Wait(MaxWait))
        {
            _holders[connection] = 0;
        }
        else
        {
            LogGateTimeout(logger, MaxWait.TotalSeconds);
        }
    }

    private void Exit(DbConnection? connection)
    {
        if (connection is not null && _holders.TryRemove(connection, out _))
        {
            _gate.Release();
        }
    }

    public void Dispose() => _gate.Dispose();

    [LoggerMessage(EventId = 30, Level = LogLevel.Warning,
        Message = "A SQLite write waited {Seconds} s for the write gate and goes ahead ungated: the database is overloaded, or a write is nested in another's transaction")]
    private static partial void LogGateTimeout(ILogger logger, double seconds);
}
