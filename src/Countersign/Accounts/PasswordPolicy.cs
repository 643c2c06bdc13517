using System.Text;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Options;

namespace Countersign.Accounts;

/// <summary>
/// The password rules, all reported at once: length (ASVS 6.2.1, 6.2.9), no common or guessable
/// passwords (ASVS 6.2.4, zxcvbn score and its list of common passwords) and, only when configured,
/// composition. Identity's own digit/upper-case rules are switched off in favour of these.
/// </summary>
public sealed class PasswordPolicy(IOptionsMonitor<PasswordPolicyOptions> options) : IPasswordValidator<User>
{
    public Task<IdentityResult> ValidateAsync(UserManager<User> manager, User user, string? password) =>
        Task.FromResult(Check(password ?? "", user.UserName));

    public IdentityResult Check(string password, string? userName)
    {
        var o = options.CurrentValue;
        password = password.Normalize(NormalizationForm.FormC);
        var errors = new List<IdentityError>();
        // Length counts what the user typed: Unicode scalar values, not UTF-16 code units.
        var length = password.EnumerateRunes().Count();
        if (length < o.MinLength)
        {
            errors.Add(Error("PasswordTooShort", $"Use at least {o.MinLength} characters."));
        }
        if (length > o.MaxLength)
        {
            errors.Add(Error("PasswordTooLong", $"Use at most {o.MaxLength} characters."));
        }
        if (o.RequireComposition && !password.Any(c => char.IsUpper(c) || char.IsDigit(c) || !char.IsLetterOrDigit(c)))
        {
            errors.Add(Error("PasswordComposition", "Include an upper-case letter, a digit or a symbol."));
        }
        if (length is > 0 and <= 256)
        {
            var result = Zxcvbn.Zxcvbn.MatchPassword(password, userName is null ? null : [userName]);
            if (IsCommonPassword(result, password))
            {
                errors.Add(Error("PasswordCommon", "This password is on a list of commonly used passwords."));
            }
            else if (result.Score < o.MinStrength)
            {
                errors.Add(Error("PasswordWeak",
                    $"This password is too easy to guess (strength {result.Score} of 4, at least {o.MinStrength} needed)."));
            }
        }
        return errors.Count == 0 ? IdentityResult.Success : IdentityResult.Failed([.. errors]);
    }

    // zxcvbn's own list of common passwords, asked directly: its scoring may split "password123" into
    // a word and a sequence, but the whole string is on the list (ASVS 6.2.4).
    private static readonly Zxcvbn.Matcher.DictionaryMatcher CommonPasswords = new("passwords", "passwords.lst");

    private static bool IsCommonPassword(Zxcvbn.Result result, string password) =>
        result.MatchSequence.Concat(CommonPasswords.MatchPassword(password)).Any(m =>
            m is Zxcvbn.Matcher.DictionaryMatch { DictionaryName: "passwords" } d
            && d.i == 0 && d.j == password.Length - 1);

    private static IdentityError Error(string code, string description) => new() { Code = code, Description = description };
}
