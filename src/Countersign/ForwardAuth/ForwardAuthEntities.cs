using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Countersign.ForwardAuth;

/// <summary>
/// An application behind the proxy (or one that calls <c>/verify</c> itself). Its 256-bit token is stored as
/// HMAC-SHA256(salt, token) with a salt of its own, never in clear (the seed: "service tokens are salted and hashed").
/// </summary>
public sealed class ProtectedService
{
    public Guid Id { get; set; }
    public required string Name { get; set; }
    /// <summary>Lower-case host the proxy forwards (<c>app.example.com</c>), with a port when not the default.</summary>
    public required string Host { get; set; }
    /// <summary>The path under the host that this service is (<c>/</c> for all of it).</summary>
    public required string PathPrefix { get; set; }
    public required byte[] TokenSalt { get; set; }
    public required byte[] TokenHash { get; set; }
    /// <summary>Whether the service also gets the user's name and roles; by default only the pairwise subject.</summary>
    public bool SendsIdentity { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
}

/// <summary>
/// Who may use which service, kept so that a copy of the database does not say it (the seed encrypts these links):
/// <see cref="Lookup"/> is HMAC(grant key, user id ‖ service id), all a verify needs; <see cref="ProtectedPair"/> is the
/// pair itself under Data Protection, for the admin listings. No column holds a user id or a service id.
/// </summary>
public sealed class ServiceGrant
{
    public required byte[] Lookup { get; set; }
    public required byte[] ProtectedPair { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
}

/// <summary>
/// A browser registered for passwordless sign-in. Its cookie carries the id and a 256-bit secret; only
/// HMAC-SHA256(server key, secret) is stored (the seed: "device HMACs store only the signature, not the secret").
/// </summary>
public sealed class Device
{
    public Guid Id { get; set; }
    public Guid UserId { get; set; }
    public required string Name { get; set; }
    public required byte[] SecretHash { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    /// <summary>Written in batches (<see cref="DeviceActivity"/>); the device expires a lifetime after it.</summary>
    public DateTimeOffset LastSeenAt { get; set; }
    public string? UserAgent { get; set; }
}

/// <summary>
/// One row whose number goes up, in the same transaction, with every change a verify could have cached (a device
/// revoked, a grant removed, a service changed, an account disabled). Every node polls it, so a change made anywhere
/// (another node, the CLI, a node whose Redis message was lost) reaches every cache once it commits, and never before.
/// </summary>
public sealed class ForwardAuthGeneration
{
    public int Id { get; set; }
    public long Generation { get; set; }
}

internal sealed class ForwardAuthGenerationConfiguration : IEntityTypeConfiguration<ForwardAuthGeneration>
{
    public void Configure(EntityTypeBuilder<ForwardAuthGeneration> e)
    {
        e.ToTable("forward_auth_generation");
        e.Property(x => x.Id).ValueGeneratedNever();
        e.HasData(new ForwardAuthGeneration { Id = 1, Generation = 0 });
    }
}

internal sealed class ProtectedServiceConfiguration : IEntityTypeConfiguration<ProtectedService>
{
    public void Configure(EntityTypeBuilder<ProtectedService> e)
    {
        e.ToTable("protected_services");
        e.Property(x => x.Name).HasMaxLength(64);
        e.Property(x => x.Host).HasMaxLength(255);
        e.Property(x => x.PathPrefix).HasMaxLength(255);
        e.HasIndex(x => x.Name).IsUnique();
        e.HasIndex(x => new { x.Host, x.PathPrefix }).IsUnique();
    }
}

internal sealed class ServiceGrantConfiguration : IEntityTypeConfiguration<ServiceGrant>
{
    public void Configure(EntityTypeBuilder<ServiceGrant> e)
    {
        e.ToTable("service_grants");
        e.HasKey(x => x.Lookup);
    }
}

internal sealed class DeviceConfiguration : IEntityTypeConfiguration<Device>
{
    public void Configure(EntityTypeBuilder<Device> e)
    {
        e.ToTable("devices");
        e.Property(x => x.Name).HasMaxLength(64);
        e.Property(x => x.UserAgent).HasMaxLength(512);
        e.HasIndex(x => x.UserId);
        e.HasOne<Accounts.User>().WithMany().HasForeignKey(x => x.UserId).OnDelete(DeleteBehavior.Cascade);
    }
}
