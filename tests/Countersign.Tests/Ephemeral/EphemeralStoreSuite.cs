using Countersign.Ephemeral;
using Countersign.Tests.Infrastructure;
using StackExchange.Redis;

namespace Countersign.Tests.Ephemeral;

/// <summary>The contract both ephemeral stores keep; run on memory and on a real Redis below.</summary>
public abstract class EphemeralStoreSuite
{
    protected abstract IEphemeralStore Store { get; }

    /// <summary>Lets time pass: the fake clock for memory, a real wait for Redis.</summary>
    protected abstract Task AdvanceAsync(TimeSpan by);

    private static string Key() => "test:" + Guid.NewGuid().ToString("N");

    [Fact]
    public async Task Increment_counts_from_one()
    {
        var key = Key();
        Assert.Equal(1, await Store.IncrementAsync(key, TimeSpan.FromMinutes(1)));
        Assert.Equal(2, await Store.IncrementAsync(key, TimeSpan.FromMinutes(1)));
        Assert.Equal("2", await Store.GetAsync(key));
    }

    [Fact]
    public async Task Parallel_increments_are_atomic()
    {
        var key = Key();
        var values = await Task.WhenAll(Enumerable.Range(0, 200).Select(_ => Task.Run(() => Store.IncrementAsync(key, TimeSpan.FromMinutes(1)))));
        Assert.Equal(Enumerable.Range(1, 200).Select(i => (long)i), values.Order());
    }

    [Fact]
    public async Task A_counter_expires_after_its_window_and_starts_again()
    {
        var key = Key();
        await Store.IncrementAsync(key, TimeSpan.FromMilliseconds(300));
        await Store.IncrementAsync(key, TimeSpan.FromMilliseconds(300));
        await AdvanceAsync(TimeSpan.FromMilliseconds(700));
        Assert.Null(await Store.GetAsync(key));
        Assert.Equal(1, await Store.IncrementAsync(key, TimeSpan.FromMilliseconds(300)));
    }

    [Fact]
    public async Task Set_if_absent_succeeds_exactly_once_among_parallel_callers()
    {
        var key = Key();
        var wins = await Task.WhenAll(Enumerable.Range(0, 50).Select(i => Task.Run(() => Store.SetIfAbsentAsync(key, $"v{i}", TimeSpan.FromMinutes(1)))));
        Assert.Equal(1, wins.Count(w => w));
        Assert.StartsWith("v", await Store.GetAsync(key), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Set_if_absent_succeeds_again_after_expiry()
    {
        var key = Key();
        Assert.True(await Store.SetIfAbsentAsync(key, "a", TimeSpan.FromMilliseconds(300)));
        Assert.False(await Store.SetIfAbsentAsync(key, "b", TimeSpan.FromMilliseconds(300)));
        await AdvanceAsync(TimeSpan.FromMilliseconds(700));
        Assert.True(await Store.SetIfAbsentAsync(key, "c", TimeSpan.FromMinutes(1)));
        Assert.Equal("c", await Store.GetAsync(key));
    }

    [Fact]
    public async Task Get_many_returns_values_in_key_order_with_null_for_absent_and_expired_keys()
    {
        var (present, absent, expiring) = (Key(), Key(), Key());
        await Store.SetIfAbsentAsync(present, "p", TimeSpan.FromMinutes(1));
        await Store.SetIfAbsentAsync(expiring, "e", TimeSpan.FromMilliseconds(300));
        await AdvanceAsync(TimeSpan.FromMilliseconds(700));
        Assert.Equal(new string?[] { "p", null, null, "p" }.AsEnumerable(), await Store.GetManyAsync([present, absent, expiring, present]));
        Assert.Empty(await Store.GetManyAsync([]));
    }

    [Fact]
    public async Task Delete_removes_a_key()
    {
        var key = Key();
        await Store.SetIfAbsentAsync(key, "a", TimeSpan.FromMinutes(1));
        Assert.True(await Store.DeleteAsync(key));
        Assert.Null(await Store.GetAsync(key));
        Assert.False(await Store.DeleteAsync(key));
    }

    [Fact]
    public async Task Published_messages_reach_subscribers_until_they_unsubscribe()
    {
        var channel = Key();
        var received = new List<string>();
        var got = new SemaphoreSlim(0);
        var subscription = await Store.SubscribeAsync(channel, m =>
        {
            lock (received)
            {
                received.Add(m);
            }
            got.Release();
        });
        await Store.PublishAsync(channel, "hello");
        Assert.True(await got.WaitAsync(TimeSpan.FromSeconds(5)));
        await subscription.DisposeAsync();
        await Store.PublishAsync(channel, "after");
        await Task.Delay(200);
        lock (received)
        {
            Assert.Equal(["hello"], received);
        }
    }
}

public sealed class MemoryEphemeralStoreTests : EphemeralStoreSuite
{
    private readonly Microsoft.Extensions.Time.Testing.FakeTimeProvider _time = new(DateTimeOffset.UtcNow);

    public MemoryEphemeralStoreTests() => Store = new MemoryEphemeralStore(_time);

    protected override IEphemeralStore Store { get; }

    protected override Task AdvanceAsync(TimeSpan by)
    {
        _time.Advance(by);
        return Task.CompletedTask;
    }
}

public sealed class RedisConnection : IAsyncLifetime
{
    public IConnectionMultiplexer Redis { get; private set; } = null!;

    public async Task InitializeAsync() => Redis = await ConnectionMultiplexer.ConnectAsync(Required.Redis);

    public async Task DisposeAsync() => await Redis.DisposeAsync();
}

public sealed class RedisEphemeralStoreTests(RedisConnection connection) : EphemeralStoreSuite, IClassFixture<RedisConnection>
{
    protected override IEphemeralStore Store { get; } = new RedisEphemeralStore(connection.Redis);

    protected override Task AdvanceAsync(TimeSpan by) => Task.Delay(by);
}
