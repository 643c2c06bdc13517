using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using Countersign.CallVerification;

/// <summary>
/// Call-verification words derived per second on one thread (the goal is ≥ 1,000,000/s on one core),
/// beside its baseline in the same run: a bare HMAC-SHA256 of the same 13-byte message.
/// Usage: Countersign.Bench words [--seconds 3] [--rounds 3] [--smoke]   (bench/words/run pins it to one core)
/// <c>--smoke</c> (scripts/test): one round of 0.2 s.
/// </summary>
internal static class WordsBench
{
    public static int Run(string[] args)
    {
        var options = new BenchArgs(args, "--rounds", "--seconds");
        var smoke = options.Smoke;
        var seconds = double.Parse(options.Get("--seconds") ?? (smoke ? "0.2" : "3"), CultureInfo.InvariantCulture);
        var rounds = int.Parse(options.Get("--rounds") ?? (smoke ? "1" : "3"), CultureInfo.InvariantCulture);
        var list = WordLists.For("en");
        var secret = RandomNumberGenerator.GetBytes(32);
        var derive = new List<double>();
        using var keyed = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, secret);
        var hmac = new List<double>();
        Measure(0.5, n => WordDerivation.Words(keyed, n, list));
        for (var round = 1; round <= rounds; round++)
        {
            hmac.Add(Measure(seconds, n =>
            {
                Span<byte> message = stackalloc byte[13];
                Span<byte> mac = stackalloc byte[32];
                message[1] = (byte)n;
                HMACSHA256.HashData(secret, message, mac);
                return mac[0];
            }));
            // Both words of a window at once, as every screen and push needs them (two words per call), with
            // the pair's keyed HMAC reused across windows as PairService holds it for a pair.
            derive.Add(2 * Measure(seconds, n => WordDerivation.Words(keyed, n, list)));
            Console.WriteLine(FormattableString.Invariant($"round {round}: hmac {hmac[^1],12:N0}/s   word derivation {derive[^1],12:N0}/s"));
        }
        Console.WriteLine(FormattableString.Invariant(
            $"median: hmac {Median(hmac):N0}/s, word derivation {Median(derive):N0}/s ({Median(derive) / Median(hmac):F2} of a bare HMAC)"));
        return 0;
    }

    private static double Measure<T>(double seconds, Func<long, T> work)
    {
        var stopwatch = Stopwatch.StartNew();
        long n = 0;
        var until = TimeSpan.FromSeconds(seconds);
        while (stopwatch.Elapsed < until)
        {
            for (var i = 0; i < 1000; i++)
            {
                GC.KeepAlive(work(n++));
            }
        }
        return n / stopwatch.Elapsed.TotalSeconds;
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return (sorted[(sorted.Count - 1) / 2] + sorted[sorted.Count / 2]) / 2;
    }
}
