using Countersign.Ephemeral;
using Countersign.Sessions;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Countersign.Tests.Unit;

/// <summary>
/// The per-node liveness cache keeps only what it may still trust (issue 17, memory flat in the soak): an entry past
/// <see cref="SessionLiveness.Longest"/> is never used again, so it must not stay in memory either.
/// </summary>
public sealed class SessionLivenessMemoryTests
{
    private static async Task<(SessionLiveness Liveness, FakeTimeProvider Time)> StartedAsync()
    {
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2026-12-02T12:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        // Any configuration string: the cache remembers only with a subscription, here on the in-memory store.
        var liveness = new SessionLiveness(new MemoryEphemeralStore(time), Options.Create(new RedisOptions { Configuration = "subscribed" }),
            time, NullLogger<SessionLiveness>.Instance);
        await liveness.StartAsync(CancellationToken.None);
        return (liveness, time);
    }

    private static Func<Task<SessionLiveness.Row?>> Live(FakeTimeProvider time) =>
        () => Task.FromResult<SessionLiveness.Row?>(new SessionLiveness.Row(Guid.NewGuid(), false, time.GetUtcNow().AddDays(30)));

    [Fact]
    public async Task Families_not_checked_for_longer_than_an_entry_is_trusted_are_forgotten()
    {
        var (liveness, time) = await StartedAsync();
        for (var i = 0; i < 1000; i++)
        {
            Assert.True(await liveness.IsActiveAsync(Guid.NewGuid(), Live(time)));
        }
        Assert.Equal(1000, liveness.Count);

        time.Advance(SessionLiveness.Longest);
        var recent = Guid.NewGuid();
        Assert.True(await liveness.IsActiveAsync(recent, Live(time)));

        Assert.Equal(1, liveness.Count);
        var reads = 0;
        Assert.True(await liveness.IsActiveAsync(recent, () => { reads++; return Live(time)(); }));
        Assert.Equal(0, reads); // the one checked just now is still answered from memory
    }

    [Fact]
    public async Task A_forgotten_family_that_was_revoked_meanwhile_is_refused()
    {
        var (liveness, time) = await StartedAsync();
        var family = Guid.NewGuid();
        Assert.True(await liveness.IsActiveAsync(family, Live(time)));

        time.Advance(SessionLiveness.Longest);
        Assert.True(await liveness.IsActiveAsync(Guid.NewGuid(), Live(time))); // sweeps
        Assert.False(await liveness.IsActiveAsync(family,
            () => Task.FromResult<SessionLiveness.Row?>(new SessionLiveness.Row(Guid.NewGuid(), true, time.GetUtcNow().AddDays(30)))));
    }
}
