using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Countersign.Sessions;

/// <summary>
/// One sign-in: a browser cookie session or an API login with its chain of refresh tokens. Its id is
/// the <c>sid</c> claim; revoking the family ends every token of that sign-in at once.
/// </summary>
public sealed class SessionFamily
{
    public Guid Id { get; set; }
    public Guid UserId { get; set; }
    public required string Kind { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset LastUsedAt { get; set; }
    /// <summary>The absolute end, however active the session is.</summary>
    public DateTimeOffset ExpiresAt { get; set; }
    public DateTimeOffset? RevokedAt { get; set; }
    public string? RevokedReason { get; set; }
    public string? ClientIp { get; set; }
    public string? UserAgent { get; set; }
}

public static class SessionKinds
{
    public const string Api = "api";
    public const string Browser = "browser";
}

/// <summary>
/// A refresh token, stored only as its SHA-256: the token is 256 random bits, so a plain digest is
/// enough and a leaked table yields nothing usable (DESIGN §4).
/// </summary>
public sealed class RefreshToken
{
    public long Id { get; set; }
    public Guid FamilyId { get; set; }
    public required byte[] Hash { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    /// <summary>Set once, when the token is exchanged; a second exchange is reuse.</summary>
    public DateTimeOffset? UsedAt { get; set; }
}

/// <summary>An ES256 token-signing key; the private half is protected by Data Protection.</summary>
public sealed class SigningKey
{
    public required string Id { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public required byte[] ProtectedPrivateKey { get; set; }
}

internal sealed class SessionConfiguration :
    IEntityTypeConfiguration<SessionFamily>, IEntityTypeConfiguration<RefreshToken>, IEntityTypeConfiguration<SigningKey>
{
    public void Configure(EntityTypeBuilder<SessionFamily> e)
    {
        e.ToTable("session_families");
        e.Property(x => x.Kind).HasMaxLength(16);
        e.Property(x => x.RevokedReason).HasMaxLength(64);
        e.Property(x => x.ClientIp).HasMaxLength(64);
        e.Property(x => x.UserAgent).HasMaxLength(512);
        e.HasIndex(x => x.UserId);
        e.HasOne<Accounts.User>().WithMany().HasForeignKey(x => x.UserId).OnDelete(DeleteBehavior.Cascade);
    }

    public void Configure(EntityTypeBuilder<RefreshToken> e)
    {
        e.ToTable("refresh_tokens");
        // The refresh's save claims the token with "WHERE UsedAt IS NULL": a token exchanged in the meantime fails it
        // (SessionService.RefreshAsync, reuse detection).
        e.Property(x => x.UsedAt).IsConcurrencyToken();
        e.HasIndex(x => x.Hash).IsUnique();
        e.HasIndex(x => x.FamilyId);
        e.HasOne<SessionFamily>().WithMany().HasForeignKey(x => x.FamilyId).OnDelete(DeleteBehavior.Cascade);
    }

    public void Configure(EntityTypeBuilder<SigningKey> e)
    {
        e.ToTable("signing_keys");
        e.Property(x => x.Id).HasMaxLength(64);
    }
}
