using System.Collections;
using System.Globalization;
using System.Reflection;
using System.Resources;

namespace Countersign.Tests.Unit;

/// <summary>Every page's words exist in both languages (issue 16: no English string left on a French page).</summary>
public sealed class PageResourceTests
{
    /// <summary>Words that are the same in both languages (checked by a French reader, not added to make a test pass).</summary>
    internal static readonly HashSet<string> SameInFrench = ["Application", "Applications", "Services", "Client", "Code", "Sessions", "{0} minutes"];

    private static IEnumerable<string> BaseNames() =>
        typeof(Countersign.Pages.PageText).Assembly.GetManifestResourceNames()
            .Where(n => n.EndsWith(".resources", StringComparison.Ordinal))
            .Select(n => n[..^".resources".Length]);

    public static TheoryData<string> ResourceBases() => [.. BaseNames()];

    [Theory]
    [MemberData(nameof(ResourceBases))]
    public void Every_english_word_has_a_french_translation_and_no_other(string baseName)
    {
        var english = Entries(baseName, CultureInfo.InvariantCulture);
        var french = Entries(baseName, CultureInfo.GetCultureInfo("fr"));
        Assert.NotEmpty(english);
        Assert.Equal(english.Keys.Order(), french.Keys.Order());
        foreach (var (key, value) in french)
        {
            Assert.False(string.IsNullOrWhiteSpace(value), $"{baseName}: {key} is empty in French");
            Assert.True(value != english[key] || SameInFrench.Contains(value), $"{baseName}: {key} is not translated (\"{value}\")");
        }
    }

    [Fact]
    public void The_pages_shared_words_are_found_under_their_marker_type()
    {
        Assert.Contains(typeof(Countersign.Pages.PageText).FullName!, BaseNames());
    }

    /// <summary>One culture's own entries, without falling back to the neutral ones.</summary>
    internal static Dictionary<string, string> Entries(string baseName, CultureInfo culture)
    {
        var set = new ResourceManager(baseName, typeof(Countersign.Pages.PageText).Assembly).GetResourceSet(culture, createIfNotExists: true, tryParents: false)
            ?? throw new InvalidOperationException($"{baseName} has no {culture.Name} resources");
        return set.Cast<DictionaryEntry>().ToDictionary(e => (string)e.Key, e => (string)e.Value!);
    }
}
