using System.Buffers.Text;

namespace Countersign.ForwardAuth;

/// <summary>
/// The device cookie's value: the device id (32 hex digits), a dot, and a 256-bit secret (43 base64url characters).
/// Anything else is refused on its shape alone, before any lookup or HMAC (the seed's early discard of bad cookies).
/// </summary>
public static class DeviceCookie
{
    public const int Length = 32 + 1 + 43;

    public static string Format(Guid deviceId, ReadOnlySpan<byte> secret) => deviceId.ToString("N") + "." + Base64Url.EncodeToString(secret);

    public static bool TryParse(string? value, out Guid deviceId, out byte[] secret)
    {
        deviceId = Guid.Empty;
        secret = [];
        if (value is not { Length: Length } || value[32] != '.'
            || !Guid.TryParseExact(value.AsSpan(0, 32), "N", out deviceId))
        {
            return false;
        }
        var bytes = new byte[32];
        // Canonical only: the 43 characters must be exactly what encoding the 32 bytes gives (no other spelling of the
        // last character's unused bits), compared without allocating.
        Span<char> canonical = stackalloc char[43];
        if (Base64Url.DecodeFromChars(value.AsSpan(33), bytes, out var read, out var written) != System.Buffers.OperationStatus.Done
            || read != 43 || written != 32 || Base64Url.EncodeToChars(bytes, canonical) != 43 || !canonical.SequenceEqual(value.AsSpan(33)))
        {
            return false;
        }
        secret = bytes;
        return true;
    }
}
