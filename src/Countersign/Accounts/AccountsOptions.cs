namespace Countersign.Accounts;

/// <summary>Section <c>Accounts</c>.</summary>
public sealed class AccountsOptions
{
    public const string Section = "Accounts";

    /// <summary>Anyone may create an account through <c>POST /api/accounts</c>.</summary>
    public bool SelfRegistration { get; set; } = true;
}
