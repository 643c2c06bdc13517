using Countersign.Secrets;
using Countersign.Storage;

namespace Countersign.CallVerification;

/// <summary>The pairs' word secrets, for <c>keys reencrypt</c>.</summary>
internal sealed class PairSecrets(CountersignDb db) : IProtectedSecrets
{
    public Task<int> ReprotectAsync(SecretStore store, CancellationToken ct) =>
        store.ReprotectAsync(db.Set<Pair>(), SecretStore.PairPurpose, p => p.ProtectedSecret, (p, value) => p.ProtectedSecret = value, ct);
}
