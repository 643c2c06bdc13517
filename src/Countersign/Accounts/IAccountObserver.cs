namespace Countersign.Accounts;

/// <summary>
/// A feature that keeps something derived from an account and must act when the account changes. Accounts
/// call every registered observer, so they need not know the features above them: sessions end their
/// sign-ins when an account is disabled or its password changes (ASVS 7.4.2); call verification pushes the
/// words in a new language. Forward auth's devices will be one more.
/// </summary>
public interface IAccountObserver
{
    /// <summary>The account can no longer be trusted as it was (disabled, new password): end its sign-ins, in the caller's transaction.</summary>
    Task SignInsEndedAsync(Guid userId, string reason, CancellationToken ct) => Task.CompletedTask;

    /// <summary>
    /// The user changed their own password from one of their sessions: end every other sign-in, keep that one (ASVS 7.4.3).
    /// Without an override, all of them end.
    /// </summary>
    Task OtherSignInsEndedAsync(Guid userId, Guid? keepSession, string reason, CancellationToken ct) => SignInsEndedAsync(userId, reason, ct);

    /// <summary>The account's language changed (after the change committed).</summary>
    Task LanguageChangedAsync(Guid userId, CancellationToken ct) => Task.CompletedTask;
}

/// <summary>The languages Countersign speaks: its pages and its word lists.</summary>
public static class Languages
{
    public static readonly IReadOnlyList<string> Supported = ["en", "fr"];

    /// <summary>The language of a culture if it is one we speak (<c>fr-CA</c> is French), else null.</summary>
    public static string? Of(System.Globalization.CultureInfo culture) =>
        Supported.Contains(culture.TwoLetterISOLanguageName) ? culture.TwoLetterISOLanguageName : null;
}
