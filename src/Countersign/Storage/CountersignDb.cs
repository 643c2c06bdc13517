using Countersign.Accounts;
using Countersign.Audit;
using Countersign.Sessions;
using Microsoft.AspNetCore.DataProtection.EntityFrameworkCore;
using Microsoft.AspNetCore.Identity.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage.ValueConversion;

namespace Countersign.Storage;

/// <summary>
/// The one durable store: Identity's accounts, sessions, signing keys, the Data Protection key ring and
/// the audit chain. Each database provider has a subclass only so that each keeps its own migrations.
/// </summary>
public abstract class CountersignDb(DbContextOptions options)
    : IdentityDbContext<User, Role, Guid>(options), IDataProtectionKeyContext
{
    public DbSet<SessionFamily> SessionFamilies => Set<SessionFamily>();
    public DbSet<RefreshToken> RefreshTokens => Set<RefreshToken>();
    public DbSet<SigningKey> SigningKeys => Set<SigningKey>();
    public DbSet<AuditEvent> AuditEvents => Set<AuditEvent>();
    public DbSet<DataProtectionKey> DataProtectionKeys => Set<DataProtectionKey>();
    public DbSet<Totp.TotpAuthenticator> TotpAuthenticators => Set<Totp.TotpAuthenticator>();
    public DbSet<Totp.RecoveryCode> RecoveryCodes => Set<Totp.RecoveryCode>();
    public DbSet<Passkeys.PasskeyUse> PasskeyUses => Set<Passkeys.PasskeyUse>();

    protected override void OnModelCreating(ModelBuilder builder)
    {
        base.OnModelCreating(builder);
        builder.ApplyConfigurationsFromAssembly(typeof(CountersignDb).Assembly);
        builder.Entity<DataProtectionKey>().ToTable("data_protection_keys");
    }
}

/// <summary>The embedded default: one SQLite file under <c>./data</c>.</summary>
public sealed class SqliteCountersignDb(DbContextOptions<SqliteCountersignDb> options) : CountersignDb(options)
{
    // SQLite has no timestamp type; UTC ticks as integers keep full precision and sort and compare in SQL.
    protected override void ConfigureConventions(ModelConfigurationBuilder configurationBuilder) =>
        configurationBuilder.Properties<DateTimeOffset>().HaveConversion<UtcTicksConverter>();

    private sealed class UtcTicksConverter() : ValueConverter<DateTimeOffset, long>(
        v => v.UtcTicks, v => new DateTimeOffset(v, TimeSpan.Zero));
}

/// <summary>The scaled-out store shared by every node.</summary>
public sealed class PostgresCountersignDb(DbContextOptions<PostgresCountersignDb> options) : CountersignDb(options);
