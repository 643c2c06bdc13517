using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Countersign.Accounts;

public sealed class User : IdentityUser<Guid>
{
    public DateTimeOffset CreatedAt { get; set; }

    /// <summary>A disabled account cannot sign in and has no live sessions (ASVS 7.4.2).</summary>
    public bool IsDisabled { get; set; }

    /// <summary>
    /// <c>en</c> or <c>fr</c>: the pages' language and, for a client, the language of the pair's words. Set at creation
    /// (<c>AccountAdmin.CreateAsync</c>):
    /// the sign-up's language, or the one an administrator chose, else <see cref="AccountsOptions.DefaultLanguage"/>.
    /// </summary>
    public string Language { get; set; } = "en";

    /// <summary>
    /// The UTS #39 confusable skeleton of the username (<see cref="UsernameProfile.Skeleton"/>), unique, so no two
    /// accounts look alike. Null only for accounts older than the column whose skeleton another account already had.
    /// </summary>
    public string? UsernameSkeleton { get; set; }

    /// <summary>
    /// Set when someone other than the user chose the password (an administrator's one-time password, <c>demo seed</c>):
    /// the next sign-in must choose a new one before it reaches anything else (ASVS 6.4.1, 6.3.x).
    /// </summary>
    public bool PasswordChangeRequired { get; set; }
}

public sealed class Role : IdentityRole<Guid>
{
    public Role() { }

    public Role(string name) : base(name) { }
}

/// <summary>The built-in roles. Call verification pairs an advisor with a client.</summary>
public static class Roles
{
    public const string Admin = "admin";
    public const string Advisor = "advisor";
    public const string Client = "client";

    public static readonly IReadOnlyList<string> All = [Admin, Advisor, Client];
}

internal sealed class UserConfiguration : IEntityTypeConfiguration<User>
{
    public void Configure(EntityTypeBuilder<User> user)
    {
        user.Property(u => u.UserName).HasMaxLength(64);
        user.Property(u => u.NormalizedUserName).HasMaxLength(64);
        // Argon2id strings are ~100 characters; legacy imports may be a little longer.
        user.Property(u => u.PasswordHash).HasMaxLength(512);
        user.Property(u => u.Language).HasMaxLength(8).HasDefaultValue("en");
        user.Property(u => u.UsernameSkeleton).HasMaxLength(256);
        user.HasIndex(u => u.UsernameSkeleton).IsUnique();
    }
}
