using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;

namespace Countersign.Tests.Pages;

/// <summary>
/// Every word of every page resource file (each <c>.resources</c> the server assembly embeds, so a new resx beside a new
/// marker class is covered without a change here), in English and in French, and the check that a page shows none of the
/// other language's words (issue 16: "no English string left on a French page").
/// </summary>
public static partial class PageWords
{
    public sealed record Word(string Resource, string Key, string English, string French);

    /// <summary>The entries whose two values differ: a value that is the same in both languages says nothing about which one a page speaks.</summary>
    public static IReadOnlyList<Word> Differing { get; }

    /// <summary>
    /// Every value of each language, of every entry. A value of one language that is also a value of the other under another
    /// key is a word of both ("Administration" is the English admin heading and the French link to it) and proves nothing.
    /// </summary>
    private static readonly HashSet<string> EnglishValues = [];
    private static readonly HashSet<string> FrenchValues = [];

    static PageWords()
    {
        var words = new List<Word>();
        foreach (var name in typeof(Countersign.Pages.PageText).Assembly.GetManifestResourceNames()
                     .Where(n => n.EndsWith(".resources", StringComparison.Ordinal)).Select(n => n[..^".resources".Length]))
        {
            var english = Unit.PageResourceTests.Entries(name, CultureInfo.InvariantCulture);
            var french = Unit.PageResourceTests.Entries(name, CultureInfo.GetCultureInfo("fr"));
            EnglishValues.UnionWith(english.Values);
            FrenchValues.UnionWith(french.Values);
            words.AddRange(english.Where(e => french.TryGetValue(e.Key, out var f) && f != e.Value)
                .Select(e => new Word(name, e.Key, e.Value, french[e.Key])));
        }
        Differing = words;
        // Words that are the same in both languages ("Applications") are words of both, wherever a resource uses them.
        EnglishValues.UnionWith(Unit.PageResourceTests.SameInFrench);
        FrenchValues.UnionWith(Unit.PageResourceTests.SameInFrench);
    }

    /// <summary>
    /// What a person sees or hears of the page: text nodes, the attributes a browser shows or reads aloud, and the
    /// <c>data-</c> attributes whose words the pages' scripts or styles show (passkey errors, the copy buttons, the recovery
    /// codes file, the labels of stacked table cells; not the ones that carry codes, like <c>data-presence</c>). Hidden inputs,
    /// and what a page marks <c>translate="no"</c> (data shown as stored: an audit row's detail; HTML's own attribute for it),
    /// scripts and styles are left out, except the JSON of words a page hands to its script (the calls page's, the proof-of-work
    /// widget's), whose strings are what the script shows.
    /// </summary>
    public static string VisibleText(string html)
    {
        var body = NotTranslated().Replace(HiddenInput().Replace(ScriptOrStyle().Replace(html, " "), " "), " ");
        var parts = ShownParts().Matches(body).Select(m => m.Groups[1].Success ? m.Groups[1].Value : m.Groups[2].Value);
        var json = ScriptText().Matches(html).SelectMany(script => System.Text.Json.JsonDocument.Parse(script.Groups[1].Value).RootElement.EnumerateObject()
            .Where(p => p.Value.ValueKind == System.Text.Json.JsonValueKind.String).Select(p => p.Value.GetString()!));
        return WebUtility.HtmlDecode(string.Join("\n", parts.Concat(json)));
    }

    /// <summary>A resource value as a pattern on whole words; a format placeholder (<c>{0}</c>) matches any text on one line.</summary>
    private static Regex Pattern(string value) => new(
        @"(?<!\w)" + string.Join(@"[^\n]*?", Placeholder().Split(value).Select(Regex.Escape)) + @"(?!\w)", RegexOptions.CultureInvariant);

    private static readonly Dictionary<string, Regex> Patterns = [];

    private static Regex PatternOf(string value)
    {
        lock (Patterns)
        {
            return Patterns.TryGetValue(value, out var p) ? p : Patterns[value] = Pattern(value);
        }
    }

    /// <summary>The page is in <paramref name="language"/> (<c>en</c> or <c>fr</c>) and shows no word of the other.</summary>
    public static void AssertSpeaks(string language, string path, string html)
    {
        Assert.True(html.Contains($"<html lang=\"{language}\">", StringComparison.Ordinal), $"{path}: not <html lang=\"{language}\">");
        var shown = VisibleText(html);
        var foreign = Differing
            .Select(w => (Word: w, Value: language == "fr" ? w.English : w.French))
            .Where(w => !(language == "fr" ? FrenchValues : EnglishValues).Contains(w.Value))
            // With a placeholder, the words around it must say enough on their own: "{0} seconds" would find the French
            // "les seconds facteurs". A value of one word and a placeholder is covered by the sentences that use it.
            .Where(w => !Placeholder().IsMatch(w.Value) || Placeholder().Replace(w.Value, " ").Split(' ', StringSplitOptions.RemoveEmptyEntries).Length > 1)
            .Where(w => PatternOf(w.Value).IsMatch(shown))
            .Select(w => $"\"{w.Value}\" ({w.Word.Resource.Split('.')[^1]}: {w.Word.Key})")
            .ToList();
        Assert.True(foreign.Count == 0, $"{path} in {language} shows {(language == "fr" ? "English" : "French")}: {string.Join("; ", foreign)}");
    }

    [GeneratedRegex(@"<(script|style)\b[^>]*>.*?</\1>", RegexOptions.Singleline | RegexOptions.IgnoreCase)]
    private static partial Regex ScriptOrStyle();

    [GeneratedRegex(@"<([a-z0-9]+)\b[^>]*\btranslate=""no""[^>]*>.*?</\1>", RegexOptions.Singleline | RegexOptions.IgnoreCase)]
    private static partial Regex NotTranslated();

    [GeneratedRegex(@"<input\b[^>]*\btype=""hidden""[^>]*>", RegexOptions.IgnoreCase)]
    private static partial Regex HiddenInput();

    [GeneratedRegex(@">([^<]+)<|\b(?:placeholder|aria-label|title|alt|value|data-label|data-copied|data-failed|data-(?:error|server|file)-[a-z-]+)=""([^""]*)""")]
    private static partial Regex ShownParts();

    [GeneratedRegex(@"<script id=""(?:calls|captcha)-text"" type=""application/json""[^>]*>(.*?)</script>", RegexOptions.Singleline)]
    private static partial Regex ScriptText();

    [GeneratedRegex(@"\{[0-9]+(?::[^}]*)?\}")]
    private static partial Regex Placeholder();
}
