using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Countersign.QuadFactor;

/// <summary>
/// The device factor as a request carries it: the signature over the canonical text, the nonce and the MAC.
/// The text is <c>countersign-qf-v1\n{command}\n{username}\n{client_time}\n{nonce}</c> (UTF-8): the version
/// prefix keeps a signature made for this protocol from meaning anything elsewhere, and the command, username
/// and time bind it to this one request (docs/quad-factor.md).
/// </summary>
public sealed record DeviceProof(byte[] SignedText, byte[] Signature, string Nonce, string Mac, byte[]? NewPublicKey = null)
{
    public const string Version = "countersign-qf-v1";

    public static byte[] TextToSign(string command, string username, long clientTime, string nonce) =>
        Encoding.UTF8.GetBytes($"{Version}\n{command}\n{username}\n{clientTime.ToString(CultureInfo.InvariantCulture)}\n{nonce}");

    /// <summary>True when <paramref name="signature"/> (DER, RFC 3279) by the P-256 key <paramref name="spki"/> verifies over the text.</summary>
    public bool VerifiedBy(byte[] spki)
    {
        using var key = ImportP256(spki);
        return key is not null && key.VerifyData(SignedText, Signature, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence);
    }

    /// <summary>The key, when <paramref name="spki"/> is a well-formed P-256 SubjectPublicKeyInfo and nothing else; null otherwise.</summary>
    public static ECDsa? ImportP256(byte[] spki)
    {
        var key = ECDsa.Create();
        try
        {
            key.ImportSubjectPublicKeyInfo(spki, out var read);
            if (read != spki.Length || key.KeySize != 256 || key.ExportParameters(false).Curve.Oid.Value != "1.2.840.10045.3.1.7")
            {
                key.Dispose();
                return null;
            }
            return key;
        }
        catch (CryptographicException)
        {
            key.Dispose();
            return null;
        }
    }

    /// <summary>The device, as the nonce guard names it: SHA-256 of its public key, hex.</summary>
    public static string DeviceId(byte[] spki) => Convert.ToHexStringLower(SHA256.HashData(spki));

    /// <summary>MAC-48 in any of the usual spellings (aa:bb:.., AA-BB-.., aabb..) as lower-case with colons; null when it is not one.</summary>
    public static string? NormaliseMac(string mac)
    {
        var hex = new StringBuilder(12);
        foreach (var c in mac)
        {
            if (Uri.IsHexDigit(c))
            {
                hex.Append(char.ToLowerInvariant(c));
            }
            else if (c is not (':' or '-' or '.'))
            {
                return null;
            }
        }
        if (hex.Length != 12)
        {
            return null;
        }
        var s = hex.ToString();
        return string.Join(':', Enumerable.Range(0, 6).Select(i => s.Substring(2 * i, 2)));
    }
}
