using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Countersign.Accounts;

/// <summary>The built-in roles are part of the schema, so every database has them from its first migration.</summary>
internal sealed class RoleConfiguration : IEntityTypeConfiguration<Role>
{
    public void Configure(EntityTypeBuilder<Role> role) => role.HasData(
        Seed("0195a5b0-0000-7000-8000-000000000001", Roles.Admin),
        Seed("0195a5b0-0000-7000-8000-000000000002", Roles.Advisor),
        Seed("0195a5b0-0000-7000-8000-000000000003", Roles.Client));

    private static Role Seed(string id, string name) => new(name)
    {
        Id = Guid.Parse(id),
        NormalizedName = name.ToUpperInvariant(),
        ConcurrencyStamp = id,
    };
}
