namespace Countersign.Pages;

/// <summary>
/// The text of the account pages (account console, password change, sign-up, forgotten password) for
/// <c>IStringLocalizer&lt;AccountText&gt;</c>: AccountText.resx (English) and AccountText.fr.resx beside this file, so the
/// embedded resource's name is this type's full name. The key is the English text.
/// </summary>
public sealed class AccountText;
