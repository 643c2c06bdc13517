using System.Security.Cryptography;
using OtpNet;

namespace Countersign.Totp;

/// <summary>
/// Time-based one-time passwords as authenticator apps compute them (RFC 6238: HOTP, RFC 4226, over the
/// 30-second step count). Countersign issues SHA-1, 6 digits, 30 s, the combination every app reads.
/// </summary>
public static class Rfc6238
{
    public const int Period = 30;
    public const int Digits = 6;

    public static long StepAt(DateTimeOffset time) => time.ToUnixTimeSeconds() / Period;

    public static string Code(byte[] secret, long step, int digits = Digits, OtpHashMode mode = OtpHashMode.Sha1) =>
        new Hotp(secret, mode, digits).ComputeHOTP(step);

    /// <summary>
    /// The step whose code matches: the current one or one either side (RFC 6238 §5.2 allows for a clock
    /// a little off and a code typed near a boundary). Null when none matches. Every candidate is compared,
    /// in constant time, so the time taken does not say which step matched.
    /// </summary>
    public static long? MatchingStep(byte[] secret, string code, DateTimeOffset now)
    {
        if (code.Length != Digits || !code.All(char.IsAsciiDigit))
        {
            return null;
        }
        var current = StepAt(now);
        long? matched = null;
        for (var step = current - 1; step <= current + 1; step++)
        {
            if (CryptographicOperations.FixedTimeEquals(System.Text.Encoding.ASCII.GetBytes(Code(secret, step)), System.Text.Encoding.ASCII.GetBytes(code)))
            {
                matched ??= step;
            }
        }
        return matched;
    }

    /// <summary>
    /// How many steps from <paramref name="now"/> the code's step lies, searching ±<paramref name="window"/> steps (the
    /// support check for a phone whose clock drifted); null when none matches. Nearest first, so a code that happens to
    /// repeat further out does not hide the likely one; every candidate is still computed and compared.
    /// </summary>
    public static int? MatchingOffset(byte[] secret, string code, DateTimeOffset now, int window)
    {
        if (code.Length != Digits || !code.All(char.IsAsciiDigit))
        {
            return null;
        }
        var current = StepAt(now);
        var presented = System.Text.Encoding.ASCII.GetBytes(code);
        int? matched = null;
        foreach (var offset in Enumerable.Range(0, window + 1).SelectMany(d => d == 0 ? [0] : new[] { -d, d }))
        {
            if (CryptographicOperations.FixedTimeEquals(System.Text.Encoding.ASCII.GetBytes(Code(secret, current + offset)), presented))
            {
                matched ??= offset;
            }
        }
        return matched;
    }
}
