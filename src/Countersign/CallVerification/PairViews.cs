namespace Countersign.CallVerification;

/// <summary>
/// One pair as its viewer sees it. <c>CounterpartPresence</c> is <c>active</c> (used the page in the last two
/// windows), <c>online</c> (connected) or <c>offline</c>; <c>CounterpartOnline</c> is true for the first two.
/// </summary>
public sealed record PairView(Guid PairId, string Counterpart, string MyRole, string MyWord, string TheirWord, DateTimeOffset WindowEndsAt,
    bool CounterpartOnline, string CounterpartPresence, bool Calling);

public sealed record CallNotice(Guid PairId, bool Calling);

/// <summary>The counterpart checked this user's word: whether what they heard matched.</summary>
public sealed record CheckNotice(Guid PairId, bool Matched);

public sealed record PresenceNotice(Guid PairId, string Presence);

public static class Presence
{
    public const string Active = "active";
    public const string Online = "online";
    public const string Offline = "offline";
}

public sealed record PairSummary(Guid Id, string Advisor, string Client, DateTimeOffset CreatedAt);

public enum PairError
{
    None,
    UnknownAdvisor,
    UnknownClient,
    NotAnAdvisor,
    NotAClient,
    AlreadyPaired,
}
