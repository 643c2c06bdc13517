using Countersign.Secrets;
using Countersign.Storage;

namespace Countersign.Totp;

/// <summary>The authenticator seeds, for <c>keys reencrypt</c>.</summary>
internal sealed class TotpSecrets(CountersignDb db) : IProtectedSecrets
{
    public Task<int> ReprotectAsync(SecretStore store, CancellationToken ct) =>
        store.ReprotectAsync(db.TotpAuthenticators, SecretStore.TotpPurpose, t => t.ProtectedSecret, (t, value) => t.ProtectedSecret = value, ct);
}
