using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using Microsoft.Extensions.Options;

namespace Countersign.CallVerification;

/// <summary>An advisor–client relationship with its 256-bit secret, encrypted at rest.</summary>
public sealed class Pair
{
    public Guid Id { get; set; }
    public Guid AdvisorId { get; set; }
    public Guid ClientId { get; set; }
    public required byte[] ProtectedSecret { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
}

internal sealed class PairConfiguration : IEntityTypeConfiguration<Pair>
{
    public void Configure(EntityTypeBuilder<Pair> e)
    {
        e.ToTable("pairs");
        e.HasIndex(x => new { x.AdvisorId, x.ClientId }).IsUnique();
        e.HasIndex(x => x.ClientId);
        e.HasOne<Accounts.User>().WithMany().HasForeignKey(x => x.AdvisorId).OnDelete(DeleteBehavior.Cascade);
        e.HasOne<Accounts.User>().WithMany().HasForeignKey(x => x.ClientId).OnDelete(DeleteBehavior.Cascade);
    }
}

/// <summary>Section <c>CallVerification</c>.</summary>
public sealed class CallVerificationOptions
{
    public const string Section = "CallVerification";

    /// <summary>How long a word lasts: 60 s by default, 30 s allowed.</summary>
    public TimeSpan Period { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>After a rotation, the previous word is still accepted this long (it may have been read out just before).</summary>
    public TimeSpan Grace { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Without activity for this long, a user's live call-verification session ends (180 s by default, docs/security.md).</summary>
    public TimeSpan InactivityTimeout { get; set; } = TimeSpan.FromSeconds(180);

    /// <summary>"I am calling this client now" lasts this long unless ended.</summary>
    public TimeSpan CallDuration { get; set; } = TimeSpan.FromMinutes(10);
}

internal sealed class CallVerificationOptionsValidator : IValidateOptions<CallVerificationOptions>
{
    public ValidateOptionsResult Validate(string? name, CallVerificationOptions o)
    {
        var errors = new List<string>();
        if (o.Period < TimeSpan.FromSeconds(2) || o.Period.TotalSeconds % 1 != 0)
            errors.Add("CallVerification:Period must be a whole number of seconds, at least 2 (30 or 60 in production).");
        if (o.Grace < TimeSpan.Zero || o.Grace >= o.Period)
            errors.Add("CallVerification:Grace must be between 0 and the period.");
        if (o.CallDuration <= TimeSpan.Zero) errors.Add("CallVerification:CallDuration must be positive.");
        if (o.InactivityTimeout <= TimeSpan.Zero) errors.Add("CallVerification:InactivityTimeout must be positive.");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
