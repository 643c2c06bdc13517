using Countersign.Secrets;
using Countersign.Storage;
using Microsoft.EntityFrameworkCore;

namespace Countersign.CallVerification;

/// <summary>The pairs' word secrets, for <c>keys reencrypt</c>.</summary>
internal sealed class PairSecrets(CountersignDb db) : IProtectedSecrets
{
    public async Task<int> ReprotectAsync(SecretStore store, CancellationToken ct)
    {
        var count = 0;
        await foreach (var pair in db.Set<Pair>().AsAsyncEnumerable().WithCancellation(ct))
        {
            pair.ProtectedSecret = store.Reprotect(SecretStore.PairPurpose, pair.ProtectedSecret);
            count++;
        }
        return count;
    }
}
