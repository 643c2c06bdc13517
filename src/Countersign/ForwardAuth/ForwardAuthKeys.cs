using System.Security.Cryptography;
using Countersign.Secrets;
using Microsoft.AspNetCore.WebUtilities;

namespace Countersign.ForwardAuth;

/// <summary>
/// The keys forward auth derives from the master key (HKDF, RFC 5869), one per use so that no digest of one kind can
/// be matched against another: device secrets, grant lookups and the pairwise subjects services see. None is stored.
/// </summary>
public sealed class ForwardAuthKeys(KeyMaterial keys)
{
    private byte[]? _device, _grant, _subject;

    private byte[] DeviceKey => _device ??= Derive("Countersign.ForwardAuth.Device.v1");
    private byte[] GrantKey => _grant ??= Derive("Countersign.ForwardAuth.Grant.v1");
    private byte[] SubjectKey => _subject ??= Derive("Countersign.ForwardAuth.Subject.v1");

    private byte[] Derive(string purpose) =>
        HKDF.DeriveKey(HashAlgorithmName.SHA256, keys.MasterKey, 32, info: System.Text.Encoding.UTF8.GetBytes(purpose));

    /// <summary>What the database keeps of a device secret: HMAC-SHA256(server key, secret).</summary>
    public byte[] DeviceHash(ReadOnlySpan<byte> secret) => HMACSHA256.HashData(DeviceKey, secret);

    /// <summary>The grant's primary key: HMAC(grant key, user id ‖ service id).</summary>
    public byte[] GrantLookup(Guid userId, Guid serviceId) => HMACSHA256.HashData(GrantKey, Pair(userId, serviceId));

    /// <summary>
    /// The pairwise subject (OIDC Core §8.1): stable for one user at one service, unlinkable across services, and not the
    /// grant's lookup (another key), so a leaked database cannot be joined with what services log.
    /// </summary>
    public string Subject(Guid userId, Guid serviceId) => WebEncoders.Base64UrlEncode(HMACSHA256.HashData(SubjectKey, Pair(userId, serviceId)));

    internal static byte[] Pair(Guid userId, Guid serviceId)
    {
        var pair = new byte[32];
        userId.TryWriteBytes(pair.AsSpan(0, 16));
        serviceId.TryWriteBytes(pair.AsSpan(16, 16));
        return pair;
    }

    /// <summary>A service token's salted digest: HMAC-SHA256(per-service salt, token).</summary>
    public static byte[] TokenHash(byte[] salt, ReadOnlySpan<byte> token) => HMACSHA256.HashData(salt, token);
}
