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

    /// <summary>
    /// Resource names are case-insensitive when the build embeds them: of "Browser" and "browser" the second is dropped
    /// with only a warning, and a page asking for it gets its key back, in English, whatever the language.
    /// </summary>
    [Fact]
    public void No_resource_file_has_two_names_that_differ_only_by_case()
    {
        var pages = Path.Combine(Infrastructure.Repository.Root, "src", "Countersign", "Pages");
        foreach (var file in Directory.GetFiles(pages, "*.resx", SearchOption.AllDirectories))
        {
            var names = System.Xml.Linq.XDocument.Load(file).Root!.Elements("data").Select(d => (string)d.Attribute("name")!).ToList();
            var clashes = names.GroupBy(n => n, StringComparer.OrdinalIgnoreCase).Where(g => g.Count() > 1).Select(g => string.Join(" / ", g)).ToList();
            Assert.True(clashes.Count == 0, $"{Path.GetFileName(file)}: {string.Join("; ", clashes)}");
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
