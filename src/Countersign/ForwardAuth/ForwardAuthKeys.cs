using System.Security.Cryptography;
using Countersign.Secrets;
using Microsoft.AspNetCore.WebUtilities;

namespace Countersign.ForwardAuth;

/// <summary>
/// The keys forward auth derives from the master key (HKDF, RFC 5869), one per use so that no digest of one kind can
/// be matched against another: device secrets, grant lookups and the pairwise subjects services see. None is stored.
/// </summary>
public sealed class ForwardAuthKeys(KeyMaterial keys) : IDisposable
{
    private ThreadLocal<HMACSHA256>? _device, _grant, _subject;

    // One keyed HMAC object per key and thread, reused: the one-shot HMACSHA256.HashData sets up a new context and key
    // schedule on every call, and a verify makes three of these. An HMAC object is not thread-safe, hence per thread.
    private HMACSHA256 DeviceMac => Mac(ref _device, "Countersign.ForwardAuth.Device.v1");
    private HMACSHA256 GrantMac => Mac(ref _grant, "Countersign.ForwardAuth.Grant.v1");
    private HMACSHA256 SubjectMac => Mac(ref _subject, "Countersign.ForwardAuth.Subject.v1");

    private HMACSHA256 Mac(ref ThreadLocal<HMACSHA256>? slot, string purpose)
    {
        if (slot is null)
        {
            var key = Derive(purpose);
            Interlocked.CompareExchange(ref slot, new ThreadLocal<HMACSHA256>(() => new HMACSHA256(key), trackAllValues: true), null);
        }
        return slot.Value!;
    }

    private byte[] Derive(string purpose) =>
        HKDF.DeriveKey(HashAlgorithmName.SHA256, keys.MasterKey, 32, info: System.Text.Encoding.UTF8.GetBytes(purpose));

    private static byte[] Hash(HMACSHA256 mac, ReadOnlySpan<byte> data)
    {
        var hash = new byte[32];
        mac.TryComputeHash(data, hash, out _);
        return hash;
    }

    /// <summary>What the database keeps of a device secret: HMAC-SHA256(server key, secret).</summary>
    public byte[] DeviceHash(ReadOnlySpan<byte> secret) => Hash(DeviceMac, secret);

    /// <summary>The grant's primary key: HMAC(grant key, user id ‖ service id).</summary>
    public byte[] GrantLookup(Guid userId, Guid serviceId)
    {
        Span<byte> pair = stackalloc byte[32];
        Pair(userId, serviceId, pair);
        return Hash(GrantMac, pair);
    }

    /// <summary>
    /// The pairwise subject (OIDC Core §8.1): stable for one user at one service, unlinkable across services, and not the
    /// grant's lookup (another key), so a leaked database cannot be joined with what services log.
    /// </summary>
    public string Subject(Guid userId, Guid serviceId)
    {
        Span<byte> pair = stackalloc byte[32];
        Pair(userId, serviceId, pair);
        Span<byte> hash = stackalloc byte[32];
        SubjectMac.TryComputeHash(pair, hash, out _);
        return System.Buffers.Text.Base64Url.EncodeToString(hash);
    }

    internal static byte[] Pair(Guid userId, Guid serviceId)
    {
        var pair = new byte[32];
        Pair(userId, serviceId, pair);
        return pair;
    }

    private static void Pair(Guid userId, Guid serviceId, Span<byte> pair)
    {
        userId.TryWriteBytes(pair[..16]);
        serviceId.TryWriteBytes(pair[16..]);
    }

    public void Dispose()
    {
        foreach (var slot in new[] { _device, _grant, _subject })
        {
            if (slot is null)
            {
                continue;
            }
            foreach (var mac in slot.Values)
            {
                mac.Dispose();
            }
            slot.Dispose();
        }
    }

    /// <summary>A service token's salted digest: HMAC-SHA256(per-service salt, token).</summary>
    public static byte[] TokenHash(byte[] salt, ReadOnlySpan<byte> token) => HMACSHA256.HashData(salt, token);

    // Keyed HMAC objects for the salts of the services this thread has checked tokens for, reused as above (every
    // /verify checks one token). By reference: a salt array belongs to one cached service, and a reload brings new
    // arrays, so the map is emptied when it has seen many.
    [ThreadStatic]
    private static Dictionary<byte[], HMACSHA256>? t_tokenMacs;

    /// <summary><see cref="TokenHash(byte[], ReadOnlySpan{byte})"/> into <paramref name="hash"/>, with this thread's keyed HMAC for the salt.</summary>
    public static void TokenHash(byte[] salt, ReadOnlySpan<byte> token, Span<byte> hash)
    {
        var macs = t_tokenMacs ??= new(ReferenceEqualityComparer.Instance);
        if (!macs.TryGetValue(salt, out var mac))
        {
            if (macs.Count >= 64)
            {
                foreach (var old in macs.Values)
                {
                    old.Dispose();
                }
                macs.Clear();
            }
            mac = new HMACSHA256(salt);
            macs[salt] = mac;
        }
        mac.TryComputeHash(token, hash, out _);
    }
}
