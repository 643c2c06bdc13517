using System.Collections.Concurrent;
using Countersign.Operations;
using Countersign.Sessions;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Options;

namespace Countersign.CallVerification;

/// <summary>
/// The connections this node holds, with each one's last activity, so each node pushes rotations to its own
/// connections only and ends the ones left idle.
/// </summary>
public sealed class LocalConnections
{
    public sealed record Entry(Guid User, Guid? Session, DateTimeOffset LastActivity);

    private readonly ConcurrentDictionary<string, Entry> _connections = new();

    public void Add(string connectionId, Guid userId, Guid? sessionId, DateTimeOffset now) => _connections[connectionId] = new(userId, sessionId, now);

    /// <summary>Records activity; false when the connection is not (or no longer) live here.</summary>
    public bool Touch(string connectionId, DateTimeOffset now)
    {
        while (_connections.TryGetValue(connectionId, out var entry))
        {
            if (_connections.TryUpdate(connectionId, entry with { LastActivity = now }, entry))
            {
                return true;
            }
        }
        return false;
    }

    public void Remove(string connectionId) => _connections.TryRemove(connectionId, out _);

    /// <summary>Takes out the connections idle since before <paramref name="cutoff"/>; they get no more words.</summary>
    public List<(string ConnectionId, Entry Entry)> TakeIdle(DateTimeOffset cutoff)
    {
        var idle = new List<(string, Entry)>();
        foreach (var (id, entry) in _connections)
        {
            if (entry.LastActivity < cutoff && _connections.TryRemove(new KeyValuePair<string, Entry>(id, entry)))
            {
                idle.Add((id, entry));
            }
        }
        return idle;
    }

    /// <summary>The sign-ins behind the live connections.</summary>
    public HashSet<Guid> Sessions() => [.. _connections.Values.Select(e => e.Session).OfType<Guid>()];

    /// <summary>Takes out the connections of the given sign-ins.</summary>
    public List<string> TakeSessions(IReadOnlySet<Guid> sessions)
    {
        var taken = new List<string>();
        foreach (var (id, entry) in _connections)
        {
            if (entry.Session is { } s && sessions.Contains(s) && _connections.TryRemove(new KeyValuePair<string, Entry>(id, entry)))
            {
                taken.Add(id);
            }
        }
        return taken;
    }

    /// <summary>The live connections, grouped by user.</summary>
    public Dictionary<Guid, List<string>> ByUser() =>
        _connections.GroupBy(c => c.Value.User, c => c.Key).ToDictionary(g => g.Key, g => g.ToList());
}
