namespace Countersign.Accounts;

/// <summary>Recognises and verifies the hashes earlier systems stored, for lazy migration only.</summary>
internal static class LegacyHashes
{
    /// <summary><c>$2a$</c>, <c>$2b$</c> or <c>$2y$</c> with a two-digit cost of at least 4.</summary>
    public static bool IsBcrypt(string hash) =>
        hash.Length == 60
        && hash[0] == '$' && hash[1] == '2' && hash[2] is 'a' or 'b' or 'y' && hash[3] == '$'
        && char.IsAsciiDigit(hash[4]) && char.IsAsciiDigit(hash[5]) && hash[6] == '$'
        && (hash[4] - '0') * 10 + (hash[5] - '0') is >= 4 and <= 31;

    public static bool VerifyBcrypt(string hash, string password)
    {
        try
        {
            return BCrypt.Net.BCrypt.Verify(password, hash);
        }
        catch (BCrypt.Net.SaltParseException)
        {
            return false;
        }
    }

    /// <summary>Identity v3: base64 of a 0x01 format marker, PRF, iteration count, salt and subkey.</summary>
    public static bool IsIdentityV3(string hash)
    {
        Span<byte> head = stackalloc byte[hash.Length];
        return Convert.TryFromBase64String(hash, head, out var written) && written >= 13 && head[0] == 0x01;
    }
}
