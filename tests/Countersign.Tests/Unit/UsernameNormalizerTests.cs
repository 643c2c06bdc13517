using Countersign.Accounts;

namespace Countersign.Tests.Unit;

public sealed class UsernameNormalizerTests
{
    [Theory]
    [InlineData("  alice ", "ALICE")]
    [InlineData("Ａｌｉｃｅ", "ALICE")]
    [InlineData("ﬁona", "FIONA")]
    public void Look_alike_spellings_normalise_to_one_name(string input, string expected) =>
        Assert.Equal(expected, new UsernameNormalizer().NormalizeName(input));

    [Fact]
    public void The_stored_spelling_keeps_its_case() => Assert.Equal("Alice", UsernameNormalizer.Canonical(" Ａｌｉｃｅ ".Replace("ｌｉｃｅ", "lice", StringComparison.Ordinal)));
}
