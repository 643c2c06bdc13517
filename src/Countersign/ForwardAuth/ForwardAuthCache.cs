using System.Collections.Concurrent;
using Countersign.Accounts;
using Countersign.Ephemeral;
using Countersign.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Countersign.ForwardAuth;

/// <summary>A device as a verify needs it.</summary>
public sealed record DeviceState(Guid Id, Guid UserId, byte[] SecretHash, DateTimeOffset LastSeenAt);

/// <summary>An account as a verify needs it: usable at all, an admin (reaches every service), and what identity-receiving services get.</summary>
public sealed record AccountState(bool Active, bool IsAdmin, string UserName, IReadOnlyList<string> Roles);

/// <summary>A service as a verify needs it (no token, only its salted digest).</summary>
public sealed record ServiceState(Guid Id, string Name, string Host, string PathPrefix, byte[] TokenSalt, byte[] TokenHash, bool SendsIdentity);

/// <summary>
/// The in-process state both verify endpoints read, so a verify touches the database only on a miss and never writes
/// to it. Every change to devices, grants, services or accounts bumps <see cref="ForwardAuthGeneration"/> in its own
/// transaction and, once committed, publishes a message on the ephemeral store's channel (Redis pub/sub when
/// configured): every node drops its whole cache when the message arrives, and each also reads the generation every
/// <see cref="ForwardAuthOptions.PollInterval"/>, which catches what no message carries (the CLI with the in-memory
/// store, a message lost while Redis was away, a change inside another feature's transaction). Changes are rare and a
/// miss is one indexed read, so dropping everything is cheap. A read that began before a drop and ends after it is
/// not kept (the local generation number).
/// </summary>
public sealed partial class ForwardAuthCache(IServiceScopeFactory scopes, IEphemeralStore store, IOptionsMonitor<ForwardAuthOptions> options,
    TimeProvider time, ILogger<ForwardAuthCache> logger) : BackgroundService
{
    public const string Channel = "forward-auth:invalidate";

    /// <summary>Past this many entries of one kind (a flood of made-up device ids, say) the kind is dropped and read again.</summary>
    private const int MaxEntries = 100_000;

    private sealed record Entry<T>(T Value, long At);

    private readonly ConcurrentDictionary<Guid, Entry<DeviceState?>> _devices = new();
    private readonly ConcurrentDictionary<Guid, Entry<AccountState?>> _accounts = new();
    private readonly ConcurrentDictionary<(Guid UserId, Guid ServiceId), Entry<bool>> _grants = new();
    private readonly ConcurrentDictionary<(Guid UserId, Guid ServiceId), string> _subjects = new();
    private volatile Entry<ServiceDirectory>? _services;
    private long _generation;
    private IAsyncDisposable? _subscription;

    private long _stored = -1;

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        _subscription = await store.SubscribeAsync(Channel, _ => Clear());
        await base.StartAsync(cancellationToken);
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        if (_subscription is not null)
        {
            await _subscription.DisposeAsync();
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await PollAsync(stoppingToken);
                await Task.Delay(options.CurrentValue.PollInterval, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (Exception e)
            {
                // The database is away: nothing can be re-read either; drop the cache so nothing stale outlives the outage.
                PollFailed(logger, e);
                Clear();
                await Task.Delay(options.CurrentValue.PollInterval, stoppingToken).ContinueWith(_ => { }, TaskScheduler.Default);
            }
        }
    }

    /// <summary>Drops the cache when the stored generation moved since the last look.</summary>
    public async Task PollAsync(CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        var stored = await scope.ServiceProvider.GetRequiredService<CountersignDb>().Set<ForwardAuthGeneration>().AsNoTracking()
            .Where(g => g.Id == 1).Select(g => g.Generation).FirstOrDefaultAsync(ct);
        if (Interlocked.Exchange(ref _stored, stored) != stored)
        {
            Clear();
        }
    }

    /// <summary>Stages the generation's bump in the caller's transaction (its commit makes the change visible to every poller).</summary>
    public static Task BumpAsync(CountersignDb db, CancellationToken ct) =>
        db.Set<ForwardAuthGeneration>().Where(g => g.Id == 1).ExecuteUpdateAsync(s => s.SetProperty(g => g.Generation, g => g.Generation + 1), ct);

    [LoggerMessage(EventId = 4202, Level = LogLevel.Warning, Message = "Could not read the forward-auth generation; the verify cache is dropped until it can.")]
    private static partial void PollFailed(ILogger logger, Exception exception);

    /// <summary>Tells every node (this one included) to forget what it cached; call after the change committed.</summary>
    public async Task InvalidateAsync()
    {
        Clear();
        try
        {
            await store.PublishAsync(Channel, "*");
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // The change is committed; the other nodes then see it when their entries expire (CacheLifetime).
            PublishFailed(logger, e);
        }
    }

    [LoggerMessage(EventId = 4200, Level = LogLevel.Warning, Message = "Could not publish a forward-auth invalidation; other nodes notice within ForwardAuth:CacheLifetime.")]
    private static partial void PublishFailed(ILogger logger, Exception exception);

    private void Clear()
    {
        Interlocked.Increment(ref _generation);
        _devices.Clear();
        _accounts.Clear();
        _grants.Clear();
        _subjects.Clear();
        _services = null;
    }

    private bool Fresh<T>(Entry<T> entry) => time.GetElapsedTime(entry.At) < options.CurrentValue.CacheLifetime;

    private async ValueTask<T> GetAsync<TKey, T>(ConcurrentDictionary<TKey, Entry<T>> cache, TKey key, Func<CountersignDb, Task<T>> load)
        where TKey : notnull
    {
        if (cache.TryGetValue(key, out var hit) && Fresh(hit))
        {
            return hit.Value;
        }
        var generation = Interlocked.Read(ref _generation);
        var at = time.GetTimestamp();
        T value;
        await using (var scope = scopes.CreateAsyncScope())
        {
            value = await load(scope.ServiceProvider.GetRequiredService<CountersignDb>());
        }
        if (cache.Count >= MaxEntries)
        {
            cache.Clear();
        }
        if (Interlocked.Read(ref _generation) == generation)
        {
            cache[key] = new(value, at);
        }
        return value;
    }

    public ValueTask<DeviceState?> DeviceAsync(Guid id) => GetAsync(_devices, id, db =>
        db.Set<Device>().AsNoTracking().Where(d => d.Id == id)
            .Select(d => new DeviceState(d.Id, d.UserId, d.SecretHash, d.LastSeenAt)).FirstOrDefaultAsync());

    public ValueTask<AccountState?> AccountAsync(Guid userId) => GetAsync(_accounts, userId, async db =>
    {
        var found = await db.Users.AsNoTracking().Where(u => u.Id == userId)
            .Select(u => new
            {
                u.UserName,
                u.IsDisabled,
                Roles = db.UserRoles.Where(ur => ur.UserId == u.Id).Join(db.Roles, ur => ur.RoleId, r => r.Id, (_, r) => r.Name!).ToList(),
            }).FirstOrDefaultAsync();
        return found is null ? null : new AccountState(!found.IsDisabled, found.Roles.Contains(Roles.Admin), found.UserName!, found.Roles);
    });

    /// <summary>
    /// Whether the user holds a grant for the service. Cached by the pair itself: the grant's HMAC lookup key is worked
    /// out only on a miss, for the database read (in memory the pair is no secret; it is the database copy that must
    /// not link users to services).
    /// </summary>
    public ValueTask<bool> GrantedAsync(Guid userId, Guid serviceId, ForwardAuthKeys keys) => GetAsync(_grants, (userId, serviceId), db =>
    {
        var lookup = keys.GrantLookup(userId, serviceId);
        return db.Set<ServiceGrant>().AnyAsync(g => g.Lookup == lookup);
    });

    /// <summary>The pairwise subject, worked out once per user and service (an HMAC per verify otherwise).</summary>
    public string Subject(Guid userId, Guid serviceId, ForwardAuthKeys keys)
    {
        if (_subjects.TryGetValue((userId, serviceId), out var subject))
        {
            return subject;
        }
        if (_subjects.Count >= MaxEntries)
        {
            _subjects.Clear();
        }
        return _subjects[(userId, serviceId)] = keys.Subject(userId, serviceId);
    }

    public async ValueTask<ServiceDirectory> ServicesAsync()
    {
        if (_services is { } hit && Fresh(hit))
        {
            return hit.Value;
        }
        var generation = Interlocked.Read(ref _generation);
        var at = time.GetTimestamp();
        List<ServiceState> all;
        await using (var scope = scopes.CreateAsyncScope())
        {
            all = await scope.ServiceProvider.GetRequiredService<CountersignDb>().Set<ProtectedService>().AsNoTracking()
                .Select(s => new ServiceState(s.Id, s.Name, s.Host, s.PathPrefix, s.TokenSalt, s.TokenHash, s.SendsIdentity)).ToListAsync();
        }
        var directory = new ServiceDirectory(all);
        if (Interlocked.Read(ref _generation) == generation)
        {
            _services = new(directory, at);
        }
        return directory;
    }
}

/// <summary>Every service, by name and by where the proxy puts it (host, then the longest matching path prefix).</summary>
public sealed class ServiceDirectory(IReadOnlyList<ServiceState> all)
{
    private readonly Dictionary<string, ServiceState> _byName = all.ToDictionary(s => s.Name, StringComparer.Ordinal);
    private readonly Dictionary<string, ServiceState[]> _byHost = all.GroupBy(s => s.Host, StringComparer.OrdinalIgnoreCase)
        .ToDictionary(g => g.Key, g => g.OrderByDescending(s => s.PathPrefix.Length).ToArray(), StringComparer.OrdinalIgnoreCase);

    public IReadOnlyList<ServiceState> All => all;

    public ServiceState? Named(string name) => _byName.GetValueOrDefault(name);

    public bool HasHost(string host) => _byHost.ContainsKey(host);

    /// <summary>The service at <paramref name="host"/> whose prefix is the longest whole-segment prefix of the (normalised) path.</summary>
    public ServiceState? At(string host, string path) =>
        _byHost.TryGetValue(host, out var services)
            ? services.FirstOrDefault(s => PathRules.UnderPrefix(path, s.PathPrefix))
            : null;
}
