using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Countersign.Totp;

/// <summary>A user's authenticator-app secret, encrypted; active once confirmed with a code.</summary>
public sealed class TotpAuthenticator
{
    public Guid UserId { get; set; }
    public required byte[] ProtectedSecret { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset? ConfirmedAt { get; set; }
    /// <summary>The last step accepted; a code for it or any earlier step is refused (RFC 6238 §5.2).</summary>
    public long LastStep { get; set; }
}

/// <summary>A single-use recovery code, stored as a keyed hash only.</summary>
public sealed class RecoveryCode
{
    public long Id { get; set; }
    public Guid UserId { get; set; }
    public required byte[] Hash { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset? UsedAt { get; set; }
}

internal sealed class TotpConfiguration : IEntityTypeConfiguration<TotpAuthenticator>, IEntityTypeConfiguration<RecoveryCode>
{
    public void Configure(EntityTypeBuilder<TotpAuthenticator> e)
    {
        e.ToTable("totp_authenticators");
        e.HasKey(x => x.UserId);
        e.HasOne<Accounts.User>().WithOne().HasForeignKey<TotpAuthenticator>(x => x.UserId).OnDelete(DeleteBehavior.Cascade);
    }

    public void Configure(EntityTypeBuilder<RecoveryCode> e)
    {
        e.ToTable("recovery_codes");
        e.HasIndex(x => new { x.UserId, x.Hash }).IsUnique();
        e.HasOne<Accounts.User>().WithMany().HasForeignKey(x => x.UserId).OnDelete(DeleteBehavior.Cascade);
    }
}
