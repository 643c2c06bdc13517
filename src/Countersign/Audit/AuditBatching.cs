using System.Data.Common;
using Countersign.Storage;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace Countersign.Audit;

/// <summary>
/// PostgreSQL: puts a save's audit rows (<see cref="AuditChain.AddAppend"/>) at the end of the save's first command, so
/// that the change and the events that record it reach the database in one round trip, not two; one fewer on every
/// sign-in and refresh (docs/benchmarks.md). The order within the transaction is as before: the save's statements, then
/// the chain's lock, held to the commit. An error in the appended statements fails the save like any other: Npgsql
/// raises it when EF's reader passes or closes over it, and the transaction is rolled back (AuditChainTests). Only
/// the asynchronous reader is intercepted: a save with audit rows is always asynchronous (CountersignDb refuses a
/// synchronous one) and EF sends a save as a reader; a save whose command this misses sends its events on their own.
/// </summary>
internal sealed class AuditBatching : DbCommandInterceptor
{
    public static readonly AuditBatching Instance = new();

    /// <summary>
    /// The chain's lock is a <c>SELECT</c> of a function, a statement of its own (<see cref="AuditChain.AddAppend"/>), so
    /// EF Core finds its one-row result after the save's own results and warns of "an unexpected trailing result set":
    /// on every sign-in and refresh, a line in the operator's log and the cost of writing it (SaveWarningsTests). The
    /// statements this adds are the only ones in a save that EF Core did not write, so the result is expected.
    /// </summary>
    public static void ExpectTheChainLocksResult(WarningsConfigurationBuilder warnings) =>
        warnings.Ignore(RelationalEventId.UnexpectedTrailingResultSetWhenSaving);

    public override ValueTask<InterceptionResult<DbDataReader>> ReaderExecutingAsync(DbCommand command, CommandEventData eventData,
        InterceptionResult<DbDataReader> result, CancellationToken cancellationToken = default)
    {
        if (eventData.CommandSource == CommandSource.SaveChanges && eventData.Context is CountersignDb db
            && db.TakeAuditForBatch() is { } audit)
        {
            AuditChain.AddAppend(command, audit.Rows, audit.Chains);
        }
        return ValueTask.FromResult(result);
    }
}
