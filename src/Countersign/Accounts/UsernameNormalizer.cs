using System.Text;
using Microsoft.AspNetCore.Identity;

namespace Countersign.Accounts;

/// <summary>
/// One spelling per username: trimmed, NFKC (so full-width and ligature look-alikes collapse) and
/// compared case-insensitively. Identity stores the upper-cased form in <c>NormalizedUserName</c>.
/// </summary>
public sealed class UsernameNormalizer : ILookupNormalizer
{
    public static string Canonical(string name) => name.Trim().Normalize(NormalizationForm.FormKC);

    public string? NormalizeName(string? name) => name is null ? null : Canonical(name).ToUpperInvariant();

    public string? NormalizeEmail(string? email) => email is null ? null : Canonical(email).ToUpperInvariant();
}

/// <summary>Usernames are 1–64 characters with no spaces or control characters.</summary>
public sealed class UsernameValidator : IUserValidator<User>
{
    public const int MaxLength = 64;

    /// <summary>
    /// Whether a name typed at sign-in could be an account's at all: no longer than registration allows
    /// (after NFKC, which can expand a character into many). Longer ones are refused before any work (M3).
    /// </summary>
    public static bool IsPlausible(string typed) =>
        typed.Length <= MaxLength * 4 && UsernameNormalizer.Canonical(typed).Length <= MaxLength;

    public Task<IdentityResult> ValidateAsync(UserManager<User> manager, User user)
    {
        var name = user.UserName ?? "";
        if (name.Length is 0 or > MaxLength || name.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)))
        {
            return Task.FromResult(IdentityResult.Failed(new IdentityError
            {
                Code = "InvalidUserName",
                Description = $"Usernames are 1 to {MaxLength} characters without spaces or control characters.",
            }));
        }
        return Task.FromResult(IdentityResult.Success);
    }
}
