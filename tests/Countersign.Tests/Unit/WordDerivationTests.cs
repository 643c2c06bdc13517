using System.Security.Cryptography;
using Countersign.CallVerification;

namespace Countersign.Tests.Unit;

public sealed class WordDerivationTests
{
    private static readonly byte[] Secret = Convert.FromHexString("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");

    [Theory]
    [InlineData("en")]
    [InlineData("fr")]
    public void The_word_lists_meet_the_length_charset_and_size_rules(string language)
    {
        var list = WordLists.For(language);
        Assert.True(list.Length >= 2000, $"{language}: {list.Length} words");
        Assert.Equal(list.Length, list.Distinct(StringComparer.Ordinal).Count());
        Assert.All(list, w =>
        {
            Assert.InRange(w.Length, 6, 9);
            Assert.True(w.All(c => char.IsLetter(c) && char.IsLower(c)), w);
        });
    }

    [Fact]
    public void The_same_secret_role_and_window_always_give_the_same_word()
    {
        var list = WordLists.For("en");
        Assert.Equal(WordDerivation.Word(Secret, PairRole.Client, 1234, list), WordDerivation.Word(Secret, PairRole.Client, 1234, list));
        var other = RandomNumberGenerator.GetBytes(32);
        var differences = Enumerable.Range(0, 50).Count(w =>
            WordDerivation.Word(Secret, PairRole.Client, w, list) != WordDerivation.Word(other, PairRole.Client, w, list));
        Assert.True(differences > 40, "another secret gives other words");
    }

    [Fact]
    public void Client_and_advisor_words_differ_and_no_role_repeats_across_consecutive_windows()
    {
        // A short list makes collisions common, so the re-derivation and parity rules are exercised.
        string[] list = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot"];
        for (var i = 0; i < 300; i++)
        {
            var secret = RandomNumberGenerator.GetBytes(32);
            for (long w = 1000; w < 1020; w++)
            {
                var client = WordDerivation.Word(secret, PairRole.Client, w, list);
                var advisor = WordDerivation.Word(secret, PairRole.Advisor, w, list);
                Assert.NotEqual(client, advisor);
                Assert.NotEqual(WordDerivation.Word(secret, PairRole.Client, w - 1, list), client);
                Assert.NotEqual(WordDerivation.Word(secret, PairRole.Advisor, w - 1, list), advisor);
            }
        }
    }

    /// <summary>
    /// Pearson's chi-square over 100,000 derivations across secrets, windows and both roles; with 2,000+
    /// categories the statistic is near-normal, so the α = 0.001 critical value is df + 3.09·√(2·df)
    /// (Wilson–Hilferty gives the same to within a fraction of a percent).
    /// </summary>
    [Fact]
    public void Derivations_are_uniform_over_the_list()
    {
        var list = WordLists.For("en");
        var index = list.Select((w, i) => (w, i)).ToDictionary(x => x.w, x => x.i);
        var counts = new int[list.Length];
        const int samples = 100_000;
        var secret = RandomNumberGenerator.GetBytes(32);
        for (var n = 0; n < samples; n++)
        {
            if (n % 1000 == 0)
            {
                secret = RandomNumberGenerator.GetBytes(32);
            }
            counts[index[WordDerivation.Word(secret, n % 2 == 0 ? PairRole.Client : PairRole.Advisor, n / 2, list)]]++;
        }
        var expected = samples / (double)list.Length;
        var chi = counts.Sum(c => (c - expected) * (c - expected) / expected);
        var df = list.Length - 1;
        Assert.True(chi < df + 3.09 * Math.Sqrt(2.0 * df), $"chi-square {chi:F0} with {df} degrees of freedom");
    }
}
