using Microsoft.Extensions.Options;

namespace Countersign.Accounts;

/// <summary>Password hashing and policy, section <c>Passwords</c>.</summary>
public sealed class PasswordPolicyOptions
{
    public const string Section = "Passwords";

    /// <summary>NIST SP 800-63B §3.1.1.2 asks for at least 8; 15 is recommended where it is the only factor.</summary>
    public int MinLength { get; set; } = 8;

    /// <summary>Longer passwords are accepted up to here and never truncated (ASVS 6.2.9).</summary>
    public int MaxLength { get; set; } = 128;

    /// <summary>zxcvbn score (0–4) below which a password is refused.</summary>
    public int MinStrength { get; set; } = 3;

    /// <summary>Ask for an upper-case letter, a digit or a symbol. Off by default (ASVS 6.2.5).</summary>
    public bool RequireComposition { get; set; }

    /// <summary>Argon2id memory in KiB; OWASP's minimum for t=2 is 19 MiB.</summary>
    public int MemoryKiB { get; set; } = 19_456;

    public int Iterations { get; set; } = 2;
}

internal sealed class PasswordPolicyOptionsValidator : IValidateOptions<PasswordPolicyOptions>
{
    public ValidateOptionsResult Validate(string? name, PasswordPolicyOptions o)
    {
        var errors = new List<string>();
        if (o.MinLength < 8) errors.Add("Passwords:MinLength must be at least 8.");
        if (o.MaxLength < 64) errors.Add("Passwords:MaxLength must be at least 64 (ASVS 6.2.9).");
        if (o.MaxLength < o.MinLength) errors.Add("Passwords:MaxLength must not be below Passwords:MinLength.");
        if (o.MinStrength is < 0 or > 4) errors.Add("Passwords:MinStrength must be between 0 and 4.");
        if (o.MemoryKiB < 8) errors.Add("Passwords:MemoryKiB must be at least 8.");
        if (o.Iterations < 1) errors.Add("Passwords:Iterations must be at least 1.");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
