using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using System.Text.Json.Serialization;
using Countersign.Ephemeral;
using Countersign.Secrets;
using Microsoft.Extensions.Options;

namespace Countersign.Defences;

/// <summary>An ALTCHA v1 challenge, as the <c>altcha</c> widget reads it.</summary>
public sealed record CaptchaChallenge(
    [property: JsonPropertyName("algorithm")] string Algorithm,
    [property: JsonPropertyName("challenge")] string Challenge,
    [property: JsonPropertyName("maxnumber")] int MaxNumber,
    [property: JsonPropertyName("salt")] string Salt,
    [property: JsonPropertyName("signature")] string Signature);

/// <summary>
/// Proof of work: the server picks a secret number n, sends SHA-256(salt ‖ n) signed with its HMAC key,
/// and the client must find n by trying. The salt carries the expiry, the signature proves the challenge is
/// ours, and each solution is accepted once (a replay guard in the ephemeral store, shared by every node).
/// <para>
/// The signature covers the hash, not the salt, and the hash input is salt and number run together; so the
/// salt must be exactly the form issued, <c>24 hex digits ?expires= 10 digits &amp;</c>: with a fixed-width expiry
/// and a closing delimiter, no digit can move between the number and the salt without breaking the form (pen
/// test M2: moving digits of the number onto <c>expires=</c> re-dated a solved challenge to the year 7661).
/// </para>
/// </summary>
public sealed partial class Captcha(IEphemeralStore store, KeyMaterial keys, IOptionsMonitor<DefencesOptions> options, TimeProvider time)
{
    private const string Algorithm = "SHA-256";
    // Derived from the master key, so every node signs and checks alike and no new secret needs storing.
    private byte[] Key => keys.CaptchaKey;

    public CaptchaChallenge Create()
    {
        var o = options.CurrentValue.Captcha;
        var expires = (time.GetUtcNow() + o.Expiry).ToUnixTimeSeconds();
        var salt = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12)) + "?expires=" + expires.ToString("D10", CultureInfo.InvariantCulture) + "&";
        var number = RandomNumberGenerator.GetInt32(0, o.MaxNumber + 1);
        var challenge = Hash(salt, number);
        return new(Algorithm, challenge, o.MaxNumber, salt, Sign(challenge));
    }

    /// <summary>True only for a solution to a challenge of ours, unexpired, seen for the first time.</summary>
    public async Task<bool> VerifyAsync(string? payload)
    {
        if (string.IsNullOrEmpty(payload) || payload.Length > 2048 || Decode(payload) is not { } solution)
        {
            return false;
        }
        var now = time.GetUtcNow();
        if (solution.Algorithm != Algorithm || solution.Number < 0 || solution.Number > options.CurrentValue.Captcha.MaxNumber
            || ExpiresAt(solution.Salt) is not { } expires
            || expires <= now || expires > now + options.CurrentValue.Captcha.Expiry
            || !FixedTimeEquals(Sign(solution.Challenge), solution.Signature)
            || !FixedTimeEquals(Hash(solution.Salt, solution.Number), solution.Challenge))
        {
            return false;
        }
        var ttl = expires - time.GetUtcNow() + TimeSpan.FromMinutes(1);
        return await store.SetIfAbsentAsync("captcha:used:" + solution.Signature, "1", ttl);
    }

    /// <summary>What a client does: try numbers until the hash matches. Used by the attack simulator and tests.</summary>
    public static string Solve(CaptchaChallenge challenge)
    {
        for (var n = 0; n <= challenge.MaxNumber; n++)
        {
            if (Hash(challenge.Salt, n) == challenge.Challenge)
            {
                var payload = new Solution(challenge.Algorithm, challenge.Challenge, n, challenge.Salt, challenge.Signature, 0);
                return Convert.ToBase64String(JsonSerializer.SerializeToUtf8Bytes(payload));
            }
        }
        throw new InvalidOperationException("The challenge has no solution within its range.");
    }

    private static string Hash(string salt, int number) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(salt + number.ToString(CultureInfo.InvariantCulture))));

    private string Sign(string challenge) => Convert.ToHexStringLower(HMACSHA256.HashData(Key, Encoding.UTF8.GetBytes(challenge)));

    private static bool FixedTimeEquals(string a, string b) =>
        CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(a), Encoding.ASCII.GetBytes(b));

    /// <summary>The expiry of a salt in exactly the issued form; null for any other salt.</summary>
    private static DateTimeOffset? ExpiresAt(string salt)
    {
        var match = IssuedSalt().Match(salt);
        return match.Success
            ? DateTimeOffset.FromUnixTimeSeconds(long.Parse(match.Groups[1].ValueSpan, NumberStyles.None, CultureInfo.InvariantCulture))
            : null;
    }

    [GeneratedRegex(@"\A[0-9a-f]{24}\?expires=([0-9]{10})&\z", RegexOptions.CultureInvariant)]
    private static partial Regex IssuedSalt();

    private static Solution? Decode(string payload)
    {
        try
        {
            var solution = JsonSerializer.Deserialize<Solution>(Convert.FromBase64String(payload));
            return solution is { Algorithm: not null, Challenge: not null, Salt: not null, Signature: not null } ? solution : null;
        }
        catch (Exception e) when (e is FormatException or JsonException)
        {
            return null;
        }
    }

    /// <summary>The widget's payload: base64 of this JSON object.</summary>
    private sealed record Solution(
        [property: JsonPropertyName("algorithm")] string Algorithm,
        [property: JsonPropertyName("challenge")] string Challenge,
        [property: JsonPropertyName("number")] int Number,
        [property: JsonPropertyName("salt")] string Salt,
        [property: JsonPropertyName("signature")] string Signature,
        [property: JsonPropertyName("took")] double Took);
}
