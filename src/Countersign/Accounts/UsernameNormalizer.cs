using System.Text;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;

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

/// <summary>
/// Usernames are 1–64 characters of RFC 8265's UsernameCaseMapped profile (no spaces, controls, invisible or
/// bidi-control characters, symbols or unassigned code points: <see cref="UsernameProfile"/>), and no two
/// accounts may look alike: a name whose UTS #39 confusable skeleton is an existing account's is taken.
/// </summary>
public sealed class UsernameValidator(Storage.CountersignDb db) : IUserValidator<User>
{
    public const int MaxLength = 64;

    /// <summary>
    /// Whether a name typed at sign-in could be an account's at all: no longer than registration allows
    /// (after NFKC, which can expand a character into many). Longer ones are refused before any work (M3).
    /// </summary>
    public static bool IsPlausible(string typed) =>
        typed.Length <= MaxLength * 4 && UsernameNormalizer.Canonical(typed) is { Length: <= MaxLength } canonical
        // No account has a control character (never allowed), and PostgreSQL refuses a NUL in a query (the fuzzer's 500).
        && !canonical.Any(char.IsControl);

    public async Task<IdentityResult> ValidateAsync(UserManager<User> manager, User user)
    {
        var name = user.UserName ?? "";
        if (name.Length is 0 or > MaxLength || !UsernameProfile.IsValid(name))
        {
            return IdentityResult.Failed(new IdentityError
            {
                Code = "InvalidUserName",
                Description = $"Usernames are 1 to {MaxLength} letters, digits or ASCII punctuation, without spaces, invisible or control characters; a right-to-left name is written in one direction only.",
            });
        }
        // Names never change once stored, so only a new account is checked (and accounts older than the
        // skeleton column keep working even when two of them look alike).
        if (db.Entry(user).State is not (EntityState.Detached or EntityState.Added))
        {
            return IdentityResult.Success;
        }
        var skeleton = UsernameProfile.Skeleton(name);
        user.UsernameSkeleton = skeleton;
        if (skeleton.Length > 256 || await db.Users.AnyAsync(u => u.UsernameSkeleton == skeleton && u.Id != user.Id))
        {
            // The same answer as an exact duplicate: which existing name it resembles is not the caller's business.
            return IdentityResult.Failed(new IdentityErrorDescriber().DuplicateUserName(name));
        }
        return IdentityResult.Success;
    }
}
