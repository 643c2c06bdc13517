using Countersign.Storage;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.EntityFrameworkCore;

namespace Countersign.Secrets;

/// <summary>
/// Every secret stored encrypted goes through here, with one Data Protection purpose per kind of
/// secret, so a payload of one kind can never be decrypted as another. Each payload starts with the
/// id of the key that protected it, which is how <c>keys reencrypt</c> finds the ones on old keys.
/// </summary>
public sealed class SecretStore(IDataProtectionProvider provider, IKeyManager keyManager, CountersignDb db, TimeProvider time)
{
    public const string SigningKeyPurpose = "Countersign.Sessions.SigningKey.v1";
    public const string TotpPurpose = "Countersign.Totp.Secret.v1";
    public const string PairPurpose = "Countersign.CallVerification.PairSecret.v1";
    public const string GrantPurpose = "Countersign.ForwardAuth.Grant.v1";
    public const string FaceTemplatePurpose = "Countersign.QuadFactor.FaceTemplate.v1";

    public byte[] Protect(string purpose, byte[] secret) => provider.CreateProtector(purpose).Protect(secret);

    public byte[] Unprotect(string purpose, byte[] payload) => provider.CreateProtector(purpose).Unprotect(payload);

    /// <summary>The key id in a payload's header (magic 0x09F0C9F0, then the key's GUID).</summary>
    public static Guid KeyIdOf(byte[] payload) => new(payload.AsSpan(4, 16));

    /// <summary>Adds a new key that becomes the default at once; payloads on older keys still decrypt.</summary>
    public IKey Rotate()
    {
        var now = time.GetUtcNow();
        return keyManager.CreateNewKey(activationDate: now, expirationDate: now.AddDays(90));
    }

    /// <summary>
    /// Re-protects every stored secret under the current default key, through each feature's
    /// <see cref="IProtectedSecrets"/> (Secrets knows no feature's tables). Returns how many changed.
    /// </summary>
    public async Task<int> ReencryptAllAsync(IEnumerable<IProtectedSecrets> holders, CancellationToken ct = default)
    {
        await WaitForNewestKeyAsync(ct);
        var count = 0;
        foreach (var holder in holders)
        {
            count += await holder.ReprotectAsync(this, ct);
        }
        await db.SaveChangesAsync(ct);
        return count;
    }

    /// <summary>
    /// Re-protects one column of <paramref name="rows"/> under the current default key, in the caller's unit of
    /// work (tracked, saved by <see cref="ReencryptAllAsync"/>): what each <see cref="IProtectedSecrets"/> does.
    /// </summary>
    public async Task<int> ReprotectAsync<T>(IQueryable<T> rows, string purpose, Func<T, byte[]> read, Action<T, byte[]> write,
        CancellationToken ct)
    {
        var count = 0;
        await foreach (var row in rows.AsAsyncEnumerable().WithCancellation(ct))
        {
            write(row, Protect(purpose, Unprotect(purpose, read(row))));
            count++;
        }
        return count;
    }

    /// <summary>
    /// Data Protection refreshes its cached key ring in the background and serves the old one meanwhile,
    /// so right after a rotation in this process the old key may still be the default. Wait until the
    /// newest key protects, rather than re-encrypting onto the key being retired.
    /// </summary>
    private async Task WaitForNewestKeyAsync(CancellationToken ct)
    {
        var now = time.GetUtcNow();
        var newest = keyManager.GetAllKeys()
            .Where(k => !k.IsRevoked && k.ActivationDate <= now && k.ExpirationDate > now)
            .MaxBy(k => k.ActivationDate)?.KeyId;
        var probe = provider.CreateProtector("Countersign.Secrets.Probe");
        for (var attempt = 0; newest is not null && KeyIdOf(probe.Protect([1])) != newest; attempt++)
        {
            if (attempt == 100)
            {
                throw new InvalidOperationException($"The newest key {newest} did not become the default within 10 s.");
            }
            await Task.Delay(TimeSpan.FromMilliseconds(100), ct);
        }
    }
}
