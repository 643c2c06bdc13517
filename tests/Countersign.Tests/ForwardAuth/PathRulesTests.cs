using Countersign.ForwardAuth;

namespace Countersign.Tests.ForwardAuth;

/// <summary>
/// The verify hot path takes a path that is already in normal form as it is, without decoding or resolving it. These
/// tests hold that shortcut to the full resolution: it may only ever skip work, never change an answer.
/// </summary>
public sealed class PathRulesTests
{
    private static int Seed => int.TryParse(Environment.GetEnvironmentVariable("COUNTERSIGN_FUZZ_SEED"), out var s) ? s : 20261202;

    [Theory]
    [InlineData("/")]
    [InlineData("/app")]
    [InlineData("/app/")]
    [InlineData("/app/page-1_x~y")]
    [InlineData("/static/app.min.js")]
    [InlineData("/a/.../b")]
    [InlineData("/.well-known/x")]
    public void A_plain_path_is_its_own_normal_form(string path)
    {
        Assert.True(PathRules.IsAlreadyNormal(path));
        Assert.Equal(path, PathRules.Resolve(path));
        Assert.Equal(path, PathRules.Normalize(path + "?x=/pub#frag"));
    }

    [Theory]
    [InlineData("/pub/../admin", "/admin")]
    [InlineData("/pub/%2e%2e/admin", "/admin")]
    [InlineData("//admin", "/admin")]
    [InlineData("/pub/./x", "/pub/x")]
    [InlineData("/pub;x=1/admin", "/pub/admin")]
    [InlineData("/pub\\..\\admin", "/admin")]
    [InlineData("/a/.", "/a")]
    [InlineData("/a/..", "/")]
    [InlineData("/%61dmin", "/admin")]
    public void A_path_with_tricks_is_not_taken_as_it_is_and_resolves(string path, string normal)
    {
        Assert.False(PathRules.IsAlreadyNormal(path));
        Assert.Equal(normal, PathRules.Normalize(path));
    }

    [Theory]
    [InlineData("/..")]
    [InlineData("/a/%00b")]
    [InlineData("/a/%7F")]
    [InlineData("/a/%C2%85")]
    [InlineData("/a/\u0001")]
    [InlineData("/a/%C3")]
    [InlineData("/a/%C3%28")]
    [InlineData("/admi%6E%C3/x")]
    [InlineData("/pub/%25252e%25252e/admin")]
    public void A_path_that_climbs_above_the_root_or_holds_a_control_character_or_a_bad_escape_is_refused(string path) =>
        Assert.Null(PathRules.Normalize(path));

    [Fact]
    public void The_shortcut_agrees_with_the_full_resolution_on_random_paths()
    {
        // Characters that matter to the rules, and enough plain ones that many paths are normal already.
        const string alphabet = "//////....aaabZ09-_~;%2eEfF\\?#:@ \u00e9\u0001";
        var random = new Random(Seed);
        var shortcuts = 0;
        for (var i = 0; i < 50_000; i++)
        {
            var chars = new char[random.Next(1, 14)];
            chars[0] = '/';
            for (var j = 1; j < chars.Length; j++)
            {
                chars[j] = alphabet[random.Next(alphabet.Length)];
            }
            var raw = new string(chars);
            var end = raw.IndexOfAny(['?', '#']);
            var path = end < 0 ? raw : raw[..end];
            if (PathRules.IsAlreadyNormal(path))
            {
                shortcuts++;
                Assert.True(PathRules.Resolve(path) == path, $"seed {Seed}: '{path}' was taken as normal but resolves to '{PathRules.Resolve(path)}'");
            }
            Assert.Equal(PathRules.Resolve(path), PathRules.Normalize(raw));
        }
        Assert.True(shortcuts > 1_000, $"only {shortcuts} random paths were normal already: the test no longer exercises the shortcut");
    }
}
