using Countersign.Accounts;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Localization;

namespace Countersign.Pages;

/// <summary>
/// The password policy's and the username check's refusals in the page's language. They speak by their stable
/// <see cref="IdentityError.Code"/>; the English <see cref="IdentityError.Description"/> stays what the API and the CLI
/// show. The numbers come from the same options the policy read, as format arguments in the resource files.
/// </summary>
public static class PasswordErrorText
{
    public static string[] Describe(IEnumerable<IdentityError> errors, IStringLocalizer<AccountText> t, PasswordPolicyOptions o) =>
        [.. errors.Select(e => e.Code switch
        {
            "PasswordTooShort" => t["Use at least {0} characters.", o.MinLength].Value,
            "PasswordTooLong" => t["Use at most {0} characters.", o.MaxLength].Value,
            "PasswordComposition" => t["Include an upper-case letter, a digit or a symbol."].Value,
            "PasswordCommon" => t["This password is on a list of commonly used passwords."].Value,
            "PasswordWeak" => t["This password is too easy to guess: add a few more unrelated words."].Value,
            "InvalidUserName" => t["Usernames are 1 to {0} letters, digits or ASCII punctuation, without spaces, invisible or control characters; a right-to-left name is written in one direction only.", UsernameValidator.MaxLength].Value,
            nameof(IdentityErrorDescriber.DuplicateUserName) => t["That username is already taken."].Value,
            // Anything else is Identity's own wording; no refusal above is known to reach a page this way.
            _ => t["That did not work. Check what you typed and try again."].Value,
        })];
}
