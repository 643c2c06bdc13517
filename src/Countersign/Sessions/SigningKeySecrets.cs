using Countersign.Secrets;
using Countersign.Storage;

namespace Countersign.Sessions;

/// <summary>The token-signing private keys, for <c>keys reencrypt</c>.</summary>
internal sealed class SigningKeySecrets(CountersignDb db) : IProtectedSecrets
{
    public Task<int> ReprotectAsync(SecretStore store, CancellationToken ct) =>
        store.ReprotectAsync(db.SigningKeys, SecretStore.SigningKeyPurpose, k => k.ProtectedPrivateKey, (k, value) => k.ProtectedPrivateKey = value, ct);
}
