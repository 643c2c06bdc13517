using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json;
using Countersign.Accounts;
using Countersign.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR.Client;

namespace Countersign.Tests.Api;

/// <summary>Two nodes of one deployment (PostgreSQL + Redis), words rotating every 2 s.</summary>
public sealed class HubNodes : IAsyncLifetime
{
    public TestServer A { get; } = new FastRotation();
    public TestServer B { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        await A.InitializeAsync();
        B = new FastRotation { ShareWith = A };
        await B.InitializeAsync();
    }

    public async Task DisposeAsync()
    {
        await B.DisposeAsync();
        await A.DisposeAsync();
    }

    private sealed class FastRotation() : TestServer(Database.Postgres, StateStore.Redis)
    {
        protected override void Configure(Dictionary<string, string?> settings)
        {
            settings["CallVerification:Period"] = "00:00:02";
            settings["CallVerification:Grace"] = "00:00:01";
        }
    }
}

public sealed class IdleServer() : TestServer(Database.Sqlite)
{
    protected override void Configure(Dictionary<string, string?> settings) =>
        Clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds() / 60 * 60 + 1));
}

public sealed class CallsHubInactivityTests(IdleServer server) : ApiSuiteBase(server), IClassFixture<IdleServer>
{
    [Fact]
    public async Task Words_stop_and_the_session_ends_after_180_seconds_without_activity()
    {
        var pair = await PairAsync();
        var idle = new List<string>();
        await using var quiet = new CallsHubTests.Listener(Server.BaseAddress, pair.ClientToken);
        quiet.Connection.On("session_ended", () => { lock (idle) idle.Add("quiet"); });
        await using var busy = new CallsHubTests.Listener(Server.BaseAddress, pair.AdvisorToken);
        busy.Connection.On("session_ended", () => { lock (idle) idle.Add("busy"); });
        await quiet.Connection.StartAsync();
        await busy.Connection.StartAsync();
        await CallsHubTests.Listener.NextAsync(quiet.Words, TimeSpan.FromSeconds(5));
        await CallsHubTests.Listener.NextAsync(busy.Words, TimeSpan.FromSeconds(5));

        Server.Clock!.Advance(TimeSpan.FromSeconds(100));
        await CallsHubTests.Listener.NextAsync(quiet.Words, TimeSpan.FromSeconds(5));
        await CallsHubTests.Listener.NextAsync(busy.Words, TimeSpan.FromSeconds(5));
        await busy.Connection.InvokeAsync("Activity");

        Server.Clock.Advance(TimeSpan.FromSeconds(100));
        await CallsHubTests.Listener.NextAsync(busy.Words, TimeSpan.FromSeconds(5));
        for (var i = 0; i < 100 && idle.Count == 0; i++)
        {
            await Task.Delay(50);
        }
        lock (idle)
        {
            Assert.Equal(["quiet"], idle);
        }
        Assert.True(quiet.Words.IsEmpty, "no words after the session ended");
        // The session ended with it: the idle user signs in again; the busy one carries on.
        await Assert.ThrowsAsync<Microsoft.AspNetCore.SignalR.HubException>(() => quiet.Connection.InvokeAsync("Activity"));
        Assert.Equal(HttpStatusCode.Unauthorized, (await Client.SendAsync(WithToken(HttpMethod.Get, "/api/me", quiet.Token))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Client.SendAsync(WithToken(HttpMethod.Get, "/api/me", busy.Token))).StatusCode);
        Assert.True(await WithScope(sp => Microsoft.EntityFrameworkCore.EntityFrameworkQueryableExtensions.AnyAsync(
            sp.GetRequiredService<Storage.CountersignDb>().AuditEvents, e => e.Action == Audit.AuditActions.CallSessionTimedOut)));
    }
    [Fact]
    public async Task When_the_client_changes_language_the_advisors_page_gets_the_new_words_at_once()
    {
        // The clock stands still here, so no rotation comes: any new words are the change's own push.
        var pair = await PairAsync();
        await using var page = new CallsHubTests.Listener(Server.BaseAddress, pair.AdvisorToken);
        await page.Connection.StartAsync();
        Assert.Contains((await CallsHubTests.Listener.NextAsync(page.Words, TimeSpan.FromSeconds(5)))[0].GetProperty("my_word").GetString(),
            CallVerification.WordLists.For("en"));

        Assert.Equal(HttpStatusCode.NoContent,
            (await Client.SendAsync(WithToken(HttpMethod.Put, "/api/me/language", pair.ClientToken, new { language = "fr" }))).StatusCode);
        var words = (await CallsHubTests.Listener.NextAsync(page.Words, TimeSpan.FromSeconds(5)))[0];
        Assert.Contains(words.GetProperty("my_word").GetString(), CallVerification.WordLists.For("fr"));
        Assert.Contains(words.GetProperty("their_word").GetString(), CallVerification.WordLists.For("fr"));
        Assert.True(await WithScope(sp => Microsoft.EntityFrameworkCore.EntityFrameworkQueryableExtensions.AnyAsync(
            sp.GetRequiredService<Storage.CountersignDb>().AuditEvents, e => e.Action == Audit.AuditActions.LanguageChanged && e.Username == pair.Client)));
    }
}

public sealed class CallsHubTests(HubNodes nodes) : ApiSuiteBase(nodes.A), IClassFixture<HubNodes>
{
    internal sealed class Listener : IAsyncDisposable
    {
        public HubConnection Connection { get; }
        public ConcurrentQueue<JsonElement> Words { get; } = new();
        public ConcurrentQueue<JsonElement> Calls { get; } = new();
        public ConcurrentQueue<JsonElement> Checks { get; } = new();

        public string Token { get; }

        /// <param name="webSocketsOnly">Connect as calls.js does: a WebSocket straight away, no negotiate request first.</param>
        public Listener(Uri node, string token, bool webSocketsOnly = false)
        {
            Token = token;
            Connection = new HubConnectionBuilder()
                .WithUrl(new Uri(node, "hubs/calls"), o =>
                {
                    o.AccessTokenProvider = () => Task.FromResult<string?>(token);
                    if (webSocketsOnly)
                    {
                        o.SkipNegotiation = true;
                        o.Transports = Microsoft.AspNetCore.Http.Connections.HttpTransportType.WebSockets;
                    }
                })
                .Build();
            // "words" carries the pairs and the server's time (pages count down by the server's clock).
            Connection.On<JsonElement, DateTimeOffset>("words", (w, _) => Words.Enqueue(w));
            Connection.On<JsonElement>("call", c => Calls.Enqueue(c));
            Connection.On<JsonElement>("check", c => Checks.Enqueue(c));
        }

        public static async Task<JsonElement> NextAsync(ConcurrentQueue<JsonElement> queue, TimeSpan timeout)
        {
            var deadline = DateTime.UtcNow + timeout;
            while (DateTime.UtcNow < deadline)
            {
                if (queue.TryDequeue(out var item))
                {
                    return item;
                }
                await Task.Delay(20);
            }
            throw new TimeoutException("no message");
        }

        public ValueTask DisposeAsync() => Connection.DisposeAsync();
    }

    [Fact]
    public async Task Advisor_and_client_receive_matching_words_at_each_window_boundary()
    {
        var pair = await PairAsync();
        await using var advisor = new Listener(nodes.A.BaseAddress, pair.AdvisorToken);
        await using var client = new Listener(nodes.B.BaseAddress, pair.ClientToken);
        await advisor.Connection.StartAsync();
        await client.Connection.StartAsync();
        var first = (await Listener.NextAsync(client.Words, TimeSpan.FromSeconds(5)))[0];
        await Listener.NextAsync(advisor.Words, TimeSpan.FromSeconds(5));

        // The next push comes at the boundary; both sides see the same new pair of words.
        var clientNext = (await Listener.NextAsync(client.Words, TimeSpan.FromSeconds(5)))[0];
        var advisorNext = (await Listener.NextAsync(advisor.Words, TimeSpan.FromSeconds(5)))[0];
        while (advisorNext.GetProperty("window_ends_at").GetDateTimeOffset() < clientNext.GetProperty("window_ends_at").GetDateTimeOffset())
        {
            advisorNext = (await Listener.NextAsync(advisor.Words, TimeSpan.FromSeconds(5)))[0];
        }
        while (clientNext.GetProperty("window_ends_at").GetDateTimeOffset() < advisorNext.GetProperty("window_ends_at").GetDateTimeOffset())
        {
            clientNext = (await Listener.NextAsync(client.Words, TimeSpan.FromSeconds(5)))[0];
        }
        Assert.Equal(clientNext.GetProperty("my_word").GetString(), advisorNext.GetProperty("their_word").GetString());
        Assert.Equal(advisorNext.GetProperty("my_word").GetString(), clientNext.GetProperty("their_word").GetString());
        Assert.True(clientNext.GetProperty("window_ends_at").GetDateTimeOffset() > first.GetProperty("window_ends_at").GetDateTimeOffset());
    }

    [Fact]
    public async Task A_client_on_node_b_hears_the_call_an_advisor_starts_on_node_a()
    {
        var pair = await PairAsync();
        await using var client = new Listener(nodes.B.BaseAddress, pair.ClientToken);
        await client.Connection.StartAsync();
        // Once the first words arrive the connection is registered, and with it its Redis subscription.
        await Listener.NextAsync(client.Words, TimeSpan.FromSeconds(5));
        using var onA = nodes.A.CreateClient();
        Assert.Equal(HttpStatusCode.NoContent, (await onA.SendAsync(WithToken(HttpMethod.Post, $"/api/calls/pairs/{pair.PairId}/call", pair.AdvisorToken))).StatusCode);
        var notice = await Listener.NextAsync(client.Calls, TimeSpan.FromSeconds(10));
        Assert.Equal(pair.PairId, notice.GetProperty("pair_id").GetString());
        Assert.True(notice.GetProperty("calling").GetBoolean());
    }

    [Fact]
    public async Task The_counterpart_shows_online_while_connected_to_any_node()
    {
        var pair = await PairAsync();
        async Task<bool> AdvisorOnlineForClient()
        {
            var list = await (await Client.SendAsync(WithToken(HttpMethod.Get, "/api/calls/pairs", pair.ClientToken))).Body();
            return list[0].GetProperty("counterpart_online").GetBoolean();
        }
        async Task<string?> AdvisorPresenceForClient() =>
            (await (await Client.SendAsync(WithToken(HttpMethod.Get, "/api/calls/pairs", pair.ClientToken))).Body())[0].GetProperty("counterpart_presence").GetString();
        Assert.False(await AdvisorOnlineForClient());
        await using var advisor = new Listener(nodes.B.BaseAddress, pair.AdvisorToken);
        await advisor.Connection.StartAsync();
        // The first words arrive once the hub has registered the connection.
        await Listener.NextAsync(advisor.Words, TimeSpan.FromSeconds(5));
        Assert.True(await AdvisorOnlineForClient());
        // Connecting counts as activity.
        Assert.Equal("active", await AdvisorPresenceForClient());
    }

    [Fact]
    public async Task Checks_made_through_the_hub_are_answered_and_audited_typed_or_tapped()
    {
        var pair = await PairAsync();
        await using var advisor = new Listener(nodes.A.BaseAddress, pair.AdvisorToken);
        await advisor.Connection.StartAsync();
        var words = (await Listener.NextAsync(advisor.Words, TimeSpan.FromSeconds(5)))[0];
        var pairId = Guid.Parse(pair.PairId);
        // Words rotate every 2 s here and the grace is 1 s: a word read just before a boundary may have
        // expired by the time it is checked, so a check with the freshest words pushed is retried twice.
        var matched = false;
        for (var attempt = 0; attempt < 3 && !matched; attempt++)
        {
            while (advisor.Words.TryDequeue(out var newer))
            {
                words = newer[0];
            }
            matched = (await advisor.Connection.InvokeAsync<JsonElement>("Verify", pairId, words.GetProperty("their_word").GetString()))
                .GetProperty("match").GetBoolean();
        }
        Assert.True(matched);
        Assert.False((await advisor.Connection.InvokeAsync<JsonElement>("Verify", pairId, "notaword")).GetProperty("match").GetBoolean());
        Assert.True(await advisor.Connection.InvokeAsync<bool>("Confirm", pairId, false));
        // Someone else's pair: no answer, nothing learnt.
        Assert.False(await advisor.Connection.InvokeAsync<bool>("Confirm", Guid.NewGuid(), true));
        await Assert.ThrowsAsync<Microsoft.AspNetCore.SignalR.HubException>(() => advisor.Connection.InvokeAsync<JsonElement>("Verify", pairId, new string('a', 65)));
        var tapped = await WithScope(sp => Microsoft.EntityFrameworkCore.EntityFrameworkQueryableExtensions.CountAsync(
            sp.GetRequiredService<Storage.CountersignDb>().AuditEvents,
            e => e.Action == Audit.AuditActions.PossibleImpersonation && e.Detail!.Contains(pair.PairId) && e.Detail.Contains("tap")));
        Assert.Equal(1, tapped);
    }

    [Fact]
    public async Task The_advisor_on_node_a_sees_at_once_that_the_client_on_node_b_heard_a_different_word()
    {
        var pair = await PairAsync();
        await using var advisor = new Listener(nodes.A.BaseAddress, pair.AdvisorToken);
        await using var client = new Listener(nodes.B.BaseAddress, pair.ClientToken);
        await advisor.Connection.StartAsync();
        await client.Connection.StartAsync();
        await Listener.NextAsync(advisor.Words, TimeSpan.FromSeconds(5));
        await Listener.NextAsync(client.Words, TimeSpan.FromSeconds(5));
        var pairId = Guid.Parse(pair.PairId);

        // "They said something else", tapped by the client: the advisor's console hears it within a second.
        Assert.True(await client.Connection.InvokeAsync<bool>("Confirm", pairId, false));
        var notice = await Listener.NextAsync(advisor.Checks, TimeSpan.FromSeconds(5));
        Assert.Equal(pair.PairId, notice.GetProperty("pair_id").GetString());
        Assert.False(notice.GetProperty("matched").GetBoolean());
        // A typed wrong word, and a tapped match, arrive the same way; the checker hears nothing of its own checks.
        Assert.False((await client.Connection.InvokeAsync<JsonElement>("Verify", pairId, "notaword")).GetProperty("match").GetBoolean());
        Assert.False((await Listener.NextAsync(advisor.Checks, TimeSpan.FromSeconds(5))).GetProperty("matched").GetBoolean());
        Assert.True(await client.Connection.InvokeAsync<bool>("Confirm", pairId, true));
        Assert.True((await Listener.NextAsync(advisor.Checks, TimeSpan.FromSeconds(5))).GetProperty("matched").GetBoolean());
        Assert.True(client.Checks.IsEmpty);
        // The alert is audited, as before.
        Assert.Equal(2, await WithScope(sp => Microsoft.EntityFrameworkCore.EntityFrameworkQueryableExtensions.CountAsync(
            sp.GetRequiredService<Storage.CountersignDb>().AuditEvents,
            e => e.Action == Audit.AuditActions.PossibleImpersonation && e.Detail!.Contains(pair.PairId) && e.Username == pair.Client)));
    }

    [Fact]
    public async Task A_connection_whose_sign_in_is_revoked_elsewhere_stops_getting_words()
    {
        var pair = await PairAsync();
        await using var client = new Listener(nodes.A.BaseAddress, pair.ClientToken);
        var ended = new TaskCompletionSource();
        client.Connection.On("session_ended", () => ended.TrySetResult());
        await client.Connection.StartAsync();
        await Listener.NextAsync(client.Words, TimeSpan.FromSeconds(5));

        var sessions = await (await Client.SendAsync(WithToken(HttpMethod.Get, "/api/me/sessions", pair.ClientToken))).Body();
        var id = sessions.EnumerateArray().Single().GetProperty("id").GetString();
        Assert.Equal(HttpStatusCode.NoContent, (await Client.SendAsync(WithToken(HttpMethod.Delete, $"/api/me/sessions/{id}", pair.ClientToken))).StatusCode);
        await ended.Task.WaitAsync(TimeSpan.FromSeconds(10));
        client.Words.Clear();
        await Task.Delay(TimeSpan.FromSeconds(4.5));
        Assert.True(client.Words.IsEmpty, "words after the sign-in was revoked");
    }

    [Fact]
    public async Task The_hub_refuses_a_connection_without_a_session()
    {
        await using var anonymous = new Listener(nodes.A.BaseAddress, "not-a-token");
        await Assert.ThrowsAnyAsync<Exception>(() => anonymous.Connection.StartAsync());
    }
}
