using System.Text;
using Countersign.Accounts;

namespace Countersign.Tests.Unit;

/// <summary>RFC 8265's UsernameCaseMapped profile, the rules the HTTP tests of issue 11 (M4) do not reach one by one.</summary>
public sealed class UsernameProfileTests
{
    [Theory]
    [InlineData("alice")]
    [InlineData("José")]
    [InlineData("山田太郎")]
    [InlineData("\u05D0\u05D1\u05D2")]             // Hebrew alef bet gimel
    [InlineData("\u05D0\u05D1\u05D2123")]          // Hebrew, then European digits at the end (RFC 5893 rule 3 allows EN last)
    [InlineData("\u0645\u062D\u0645\u062F")]       // Arabic "Muhammad"
    [InlineData("\u0645\u062D\u0645\u062F\u0663")] // Arabic with an Arabic-Indic digit
    [InlineData("\u05E9\u05B8\u05C1\u05DC")]       // Hebrew with points (NSM inside)
    public void Names_in_one_direction_are_valid(string name) =>
        Assert.True(UsernameProfile.IsValid(name.Normalize(NormalizationForm.FormKC)));

    [Theory]
    [InlineData("abc\u05D0\u05D1")]                // Latin first, then Hebrew: mixed direction (rules 1 and 2)
    [InlineData("\u05D0\u05D1a")]                  // Hebrew, then a Latin letter (rule 2)
    [InlineData("1\u05D0\u05D1")]                  // a digit first (rule 1)
    [InlineData("\u05D0\u05D1-")]                  // ends with a neutral (rule 3)
    [InlineData("\u0645\u062D1\u0663")]            // European and Arabic-Indic digits together (rule 4)
    [InlineData("\u0663\u0645\u062D")]             // an Arabic-Indic digit first (rule 1)
    public void A_right_to_left_name_must_keep_the_bidi_rule(string name) =>
        Assert.False(UsernameProfile.IsValid(name.Normalize(NormalizationForm.FormKC)));

    [Theory]
    [InlineData("alice-1")]
    [InlineData("a.b_c@d")]
    public void Names_without_right_to_left_characters_are_not_touched_by_the_bidi_rule(string name) =>
        Assert.True(UsernameProfile.IsValid(name));

    [Theory]
    [InlineData(0x05D0, "R")]
    [InlineData(0x0627, "AL")]
    [InlineData(0x0663, "AN")]
    [InlineData(0x0031, "EN")]
    [InlineData(0x002D, "ES")]
    [InlineData(0x002E, "CS")]
    [InlineData(0x0024, "ET")]
    [InlineData(0x0021, "ON")]
    [InlineData(0x0300, "NSM")]
    [InlineData(0x0041, "L")]
    [InlineData(0x5C71, "L")]
    [InlineData(0x1E900, "R")]                     // Adlam, outside the BMP
    public void Bidi_classes_come_from_the_unicode_table(int codePoint, string expected) =>
        Assert.Equal(expected, BidiClasses.Of(new Rune(codePoint)));
}
