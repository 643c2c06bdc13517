using Microsoft.Extensions.Options;

namespace Countersign.Accounts;

/// <summary>Section <c>Accounts</c>.</summary>
public sealed class AccountsOptions
{
    public const string Section = "Accounts";

    /// <summary>Anyone may create an account through <c>POST /api/accounts</c>.</summary>
    public bool SelfRegistration { get; set; } = true;

    /// <summary>
    /// The instance's language (<see cref="Languages.Supported"/>): what a page speaks when nothing else decides, and the
    /// language of an account an administrator creates without choosing one. A self-registered account takes the
    /// language its sign-up page was shown in instead (docs/architecture.md, "An account's language").
    /// </summary>
    public string DefaultLanguage { get; set; } = "en";
}

internal sealed class AccountsOptionsValidator : IValidateOptions<AccountsOptions>
{
    public ValidateOptionsResult Validate(string? name, AccountsOptions options) =>
        Languages.Supported.Contains(options.DefaultLanguage)
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail($"Accounts:DefaultLanguage must be one of: {string.Join(", ", Languages.Supported)}.");
}
