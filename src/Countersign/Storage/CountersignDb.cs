using Countersign.Accounts;
using Countersign.Audit;
using Countersign.Sessions;
using Microsoft.AspNetCore.DataProtection.EntityFrameworkCore;
using Microsoft.AspNetCore.Identity.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Storage.ValueConversion;
using Microsoft.Extensions.Options;
using OpenIddict.EntityFrameworkCore.Models;

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
    public DbSet<AuditCheckpoint> AuditCheckpoints => Set<AuditCheckpoint>();
    public DbSet<DataProtectionKey> DataProtectionKeys => Set<DataProtectionKey>();
    public DbSet<Totp.TotpAuthenticator> TotpAuthenticators => Set<Totp.TotpAuthenticator>();
    public DbSet<Totp.RecoveryCode> RecoveryCodes => Set<Totp.RecoveryCode>();
    public DbSet<Passkeys.PasskeyUse> PasskeyUses => Set<Passkeys.PasskeyUse>();
    public DbSet<QuadFactor.QuadEnrolment> QuadEnrolments => Set<QuadFactor.QuadEnrolment>();

    /// <summary>
    /// Saves the unit of work; audit rows staged with <see cref="AuditLog.Add"/> are sealed into the chain
    /// here, inside the caller's transaction (there must be one), so the change and its event commit together.
    /// </summary>
    public override async Task<int> SaveChangesAsync(bool acceptAllChangesOnSuccess, CancellationToken cancellationToken = default)
    {
        var rows = ChangeTracker.Entries<AuditEvent>().Where(e => e.State == EntityState.Added).ToList();
        if (rows.Count == 0)
        {
            return await base.SaveChangesAsync(acceptAllChangesOnSuccess, cancellationToken);
        }
        AuditChain.RequireTransaction(this);
        var events = rows.Select(e => e.Entity).ToList();
        await this.GetService<SecurityEvents>().PendingAsync(this, events);
        if (!Database.IsNpgsql())
        {
            await AuditChain.SealAsync(this, events, cancellationToken);
            return await base.SaveChangesAsync(acceptAllChangesOnSuccess, cancellationToken);
        }
        // After the rest of the save, so the chain's lock is held for as short a time as can be: at the end of the
        // save's own first command when they fit in one (AuditBatching), else, or when the save had nothing else to
        // write, in commands of their own.
        rows.ForEach(e => e.State = EntityState.Detached);
        var chains = this.GetService<IOptions<AuditOptions>>().Value.Chains;
        var offered = AuditChain.FitsOneCommand(events);
        _auditForBatch = offered ? new(events, chains) : null;
        int saved;
        bool untaken;
        try
        {
            saved = await base.SaveChangesAsync(acceptAllChangesOnSuccess, cancellationToken);
        }
        finally
        {
            untaken = TakeAuditForBatch() is not null;
        }
        if (!offered || untaken)
        {
            await AuditChain.AppendAsync(this, events, chains, cancellationToken);
        }
        return saved + events.Count;
    }

    /// <summary>The audit rows of the save under way, until <see cref="AuditBatching"/> takes them into its first command.</summary>
    private PendingAudit? _auditForBatch;

    internal sealed record PendingAudit(IReadOnlyList<AuditEvent> Rows, int Chains);

    /// <summary>Hands the save's audit rows to the first command that asks (<see cref="AuditBatching"/>), once.</summary>
    internal PendingAudit? TakeAuditForBatch()
    {
        var pending = _auditForBatch;
        _auditForBatch = null;
        return pending;
    }

    /// <summary>Every write here is async; a synchronous save of audit rows would skip the chain.</summary>
    public override int SaveChanges(bool acceptAllChangesOnSuccess) =>
        ChangeTracker.Entries<AuditEvent>().Any(e => e.State == EntityState.Added)
            ? throw new InvalidOperationException("Audit events are saved with SaveChangesAsync.")
            : base.SaveChanges(acceptAllChangesOnSuccess);

    protected override void OnModelCreating(ModelBuilder builder)
    {
        base.OnModelCreating(builder);
        builder.ApplyConfigurationsFromAssembly(typeof(CountersignDb).Assembly);
        builder.Entity<DataProtectionKey>().ToTable("data_protection_keys");
        // OpenIddict's applications, authorizations, scopes and tokens (the OIDC provider, Oidc/), under our naming.
        builder.UseOpenIddict();
        builder.Entity<OpenIddictEntityFrameworkCoreApplication>().ToTable("oidc_applications");
        builder.Entity<OpenIddictEntityFrameworkCoreAuthorization>().ToTable("oidc_authorizations");
        builder.Entity<OpenIddictEntityFrameworkCoreScope>().ToTable("oidc_scopes");
        builder.Entity<OpenIddictEntityFrameworkCoreToken>().ToTable("oidc_tokens");
    }
}

/// <summary>The embedded default: one SQLite file under <c>./data</c>.</summary>
public sealed class SqliteCountersignDb(DbContextOptions<SqliteCountersignDb> options) : CountersignDb(options)
{
    // SQLite has no timestamp type; UTC ticks as integers keep full precision and sort and compare in SQL.
    protected override void ConfigureConventions(ModelConfigurationBuilder configurationBuilder) =>
        configurationBuilder.Properties<DateTimeOffset>().HaveConversion<UtcTicksConverter>();

    /// <summary>Internal, not private: the compiled model (<c>Storage/CompiledModels/Sqlite</c>) constructs it.</summary>
    internal sealed class UtcTicksConverter() : ValueConverter<DateTimeOffset, long>(
        v => v.UtcTicks, v => new DateTimeOffset(v, TimeSpan.Zero));
}

/// <summary>The scaled-out store shared by every node.</summary>
public sealed class PostgresCountersignDb(DbContextOptions<PostgresCountersignDb> options) : CountersignDb(options);
