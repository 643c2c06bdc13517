using Countersign.Secrets;
using Countersign.Storage;
using Microsoft.EntityFrameworkCore;

namespace Countersign.Sessions;

/// <summary>The token-signing private keys, for <c>keys reencrypt</c>.</summary>
internal sealed class SigningKeySecrets(CountersignDb db) : IProtectedSecrets
{
    public async Task<int> ReprotectAsync(SecretStore store, CancellationToken ct)
    {
        var count = 0;
        await foreach (var key in db.SigningKeys.AsAsyncEnumerable().WithCancellation(ct))
        {
            key.ProtectedPrivateKey = store.Reprotect(SecretStore.SigningKeyPurpose, key.ProtectedPrivateKey);
            count++;
        }
        return count;
    }
}
