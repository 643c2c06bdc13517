using Countersign.Accounts;

namespace Countersign.CallVerification;

/// <summary>A client's language picks both words of their pairs: when it changes, both sides get the new words at once.</summary>
internal sealed class PairWordsObserver(CallNotices notices) : IAccountObserver
{
    public Task LanguageChangedAsync(Guid userId, CancellationToken ct) => notices.WordsChangedAsync(userId, ct);
}
