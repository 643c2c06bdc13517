using Countersign.Accounts;
using Microsoft.Extensions.Options;

namespace Countersign.Tests.Unit;

public sealed class PasswordPolicyTests
{
    private static PasswordPolicy Policy(PasswordPolicyOptions? options = null) =>
        new(new Monitor(options ?? new PasswordPolicyOptions()));

    private static List<string> Codes(string password, PasswordPolicyOptions? options = null) =>
        Policy(options).Check(password, "someone").Errors.Select(e => e.Code).ToList();

    [Fact]
    public void A_long_uncommon_passphrase_passes() => Assert.Empty(Codes("violet Anchor 7 drifting kites"));

    [Fact]
    public void Length_is_counted_in_characters_and_bounded_at_both_ends()
    {
        Assert.Contains("PasswordTooShort", Codes("Zq8#vL2"));
        Assert.Contains("PasswordTooLong", Codes(new string('x', 129)));
        Assert.DoesNotContain("PasswordTooLong", Codes(string.Concat(Enumerable.Repeat("Kp9!", 32))));
        // Eight emoji are eight characters, though sixteen UTF-16 units.
        Assert.DoesNotContain("PasswordTooShort", Codes("🦊🐙🦉🐢🦔🐝🦜🐳"));
        Assert.Contains("PasswordTooShort", Codes("zq8vlqx", new PasswordPolicyOptions { MinLength = 15 }));
    }

    [Theory]
    [InlineData("password")]
    [InlineData("iloveyou")]
    [InlineData("qwerty123")]
    [InlineData("Password123")]
    public void Common_passwords_are_refused_with_that_reason(string password) => Assert.Contains("PasswordCommon", Codes(password));

    [Fact]
    public void Guessable_passwords_are_refused_by_strength() => Assert.Contains("PasswordWeak", Codes("abcdefgh12"));

    [Fact]
    public void Composition_is_off_by_default_and_can_be_required()
    {
        Assert.Empty(Codes("violetanchordriftingkites"));
        Assert.Contains("PasswordComposition", Codes("violetanchordriftingkites", new PasswordPolicyOptions { RequireComposition = true }));
        Assert.DoesNotContain("PasswordComposition", Codes("violetanchordriftingkites!", new PasswordPolicyOptions { RequireComposition = true }));
    }

    [Fact]
    public void The_username_does_not_make_a_strong_password() =>
        Assert.Contains("PasswordWeak", Policy().Check("someone2024", "someone").Errors.Select(e => e.Code));

    private sealed class Monitor(PasswordPolicyOptions value) : IOptionsMonitor<PasswordPolicyOptions>
    {
        public PasswordPolicyOptions CurrentValue => value;
        public PasswordPolicyOptions Get(string? name) => value;
        public IDisposable? OnChange(Action<PasswordPolicyOptions, string?> listener) => null;
    }
}
