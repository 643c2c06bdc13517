using Microsoft.Extensions.Options;

namespace Countersign.Defences;

/// <summary>Section <c>Defences</c>. The defaults are the ones measured in docs/defences.md.</summary>
public sealed class DefencesOptions
{
    public const string Section = "Defences";

    public LockoutOptions Lockout { get; set; } = new();
    public RateLimitOptions RateLimits { get; set; } = new();
    public CaptchaOptions Captcha { get; set; } = new();
}

/// <summary>Per username, whether or not the account exists.</summary>
public sealed class LockoutOptions
{
    public bool Enabled { get; set; } = true;
    /// <summary>Failed password or second-factor attempts that lock the username.</summary>
    public int MaxFailures { get; set; } = 5;
    /// <summary>How long a lock lasts; also the window in which failures add up.</summary>
    public TimeSpan Duration { get; set; } = TimeSpan.FromMinutes(15);
}

/// <summary>Per client address, shared by every node through the ephemeral store.</summary>
public sealed class RateLimitOptions
{
    public bool Enabled { get; set; } = true;
    public TimeSpan Window { get; set; } = TimeSpan.FromMinutes(1);
    public int Login { get; set; } = 5;
    public int Registration { get; set; } = 10;
    public int SecondFactor { get; set; } = 5;
    public int Enrolment { get; set; } = 3;
}

/// <summary>The ALTCHA-compatible proof-of-work challenge.</summary>
public sealed class CaptchaOptions
{
    public bool Enabled { get; set; } = true;
    /// <summary>Failed attempts from one client address after which every attempt needs a solved challenge.</summary>
    public int AfterFailures { get; set; } = 5;
    /// <summary>The window in which a client address's failures add up.</summary>
    public TimeSpan FailureWindow { get; set; } = TimeSpan.FromMinutes(15);
    /// <summary>
    /// The secret number is drawn from 0..MaxNumber; a solver tries MaxNumber/2 hashes on average. 100,000
    /// takes a browser's Web Crypto workers well under a second; raise it to make each attempt dearer.
    /// </summary>
    public int MaxNumber { get; set; } = 100_000;
    public TimeSpan Expiry { get; set; } = TimeSpan.FromMinutes(5);
}

internal sealed class DefencesOptionsValidator : IValidateOptions<DefencesOptions>
{
    public ValidateOptionsResult Validate(string? name, DefencesOptions o)
    {
        var errors = new List<string>();
        if (o.Lockout.MaxFailures < 1) errors.Add("Defences:Lockout:MaxFailures must be at least 1.");
        if (o.Lockout.Duration <= TimeSpan.Zero) errors.Add("Defences:Lockout:Duration must be positive.");
        if (o.RateLimits.Window <= TimeSpan.Zero) errors.Add("Defences:RateLimits:Window must be positive.");
        foreach (var (key, value) in new[] { ("Login", o.RateLimits.Login), ("Registration", o.RateLimits.Registration),
            ("SecondFactor", o.RateLimits.SecondFactor), ("Enrolment", o.RateLimits.Enrolment) })
        {
            if (value < 1) errors.Add($"Defences:RateLimits:{key} must be at least 1.");
        }
        if (o.Captcha.AfterFailures < 0) errors.Add("Defences:Captcha:AfterFailures must not be negative.");
        if (o.Captcha.MaxNumber is < 1 or > 100_000_000) errors.Add("Defences:Captcha:MaxNumber must be between 1 and 100,000,000.");
        if (o.Captcha.Expiry < TimeSpan.FromSeconds(10)) errors.Add("Defences:Captcha:Expiry must be at least 10 seconds.");
        if (o.Captcha.FailureWindow <= TimeSpan.Zero) errors.Add("Defences:Captcha:FailureWindow must be positive.");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
