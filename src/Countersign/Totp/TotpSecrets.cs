using Countersign.Secrets;
using Countersign.Storage;
using Microsoft.EntityFrameworkCore;

namespace Countersign.Totp;

/// <summary>The authenticator seeds, for <c>keys reencrypt</c>.</summary>
internal sealed class TotpSecrets(CountersignDb db) : IProtectedSecrets
{
    public async Task<int> ReprotectAsync(SecretStore store, CancellationToken ct)
    {
        var count = 0;
        await foreach (var totp in db.TotpAuthenticators.AsAsyncEnumerable().WithCancellation(ct))
        {
            totp.ProtectedSecret = store.Reprotect(SecretStore.TotpPurpose, totp.ProtectedSecret);
            count++;
        }
        return count;
    }
}
