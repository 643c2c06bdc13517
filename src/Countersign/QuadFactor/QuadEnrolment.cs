using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Countersign.QuadFactor;

/// <summary>
/// What the quad-factor protocol keeps of a user besides the password and TOTP: the device's public key, the
/// MAC it reported, and the face template (the 128-d descriptor, never the photo) as a Data Protection payload.
/// </summary>
public sealed class QuadEnrolment
{
    public Guid UserId { get; set; }

    /// <summary>DER SubjectPublicKeyInfo of the device's ECDSA P-256 key. Public: stored as it is.</summary>
    public required byte[] PublicKey { get; set; }

    /// <summary>The MAC the client read at enrolment, normalised (lower-case, colons). Not a secret and not trusted alone.</summary>
    public required string Mac { get; set; }

    /// <summary><c>FaceTemplate.ToBytes()</c> protected with <c>SecretStore.FaceTemplatePurpose</c>.</summary>
    public required byte[] ProtectedFaceTemplate { get; set; }

    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
}

internal sealed class QuadEnrolmentConfiguration : IEntityTypeConfiguration<QuadEnrolment>
{
    public void Configure(EntityTypeBuilder<QuadEnrolment> e)
    {
        e.ToTable("quad_factor_enrolments");
        e.HasKey(x => x.UserId);
        e.Property(x => x.PublicKey).HasMaxLength(256);
        e.Property(x => x.Mac).HasMaxLength(64);
        e.Property(x => x.ProtectedFaceTemplate).HasMaxLength(2048);
        e.HasOne<Accounts.User>().WithOne().HasForeignKey<QuadEnrolment>(x => x.UserId).OnDelete(DeleteBehavior.Cascade);
    }
}
