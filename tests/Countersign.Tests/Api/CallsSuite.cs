using System.Net;
using System.Text;
using System.Text.Json;
using Countersign.Accounts;
using Countersign.Storage;
using Countersign.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Time.Testing;

namespace Countersign.Tests.Api;

public class CallsServer(Database database, StateStore store) : TestServer(database, store)
{
    protected override void Configure(Dictionary<string, string?> settings) =>
        // On a window boundary plus 20 s, so advancing by 45 s lands 5 s into the next window.
        Clock = new FakeTimeProvider(DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds() / 60 * 60 + 20));
}

public sealed class SqliteCallsServer() : CallsServer(Database.Sqlite, StateStore.Memory);

public sealed class PostgresCallsServer() : CallsServer(Database.Postgres, StateStore.Redis);

/// <summary>Call verification over the API, on SQLite with memory and PostgreSQL with Redis.</summary>
public abstract class CallsSuite(CallsServer server) : ApiSuiteBase(server)
{
    private async Task<JsonElement> OnlyPairAsync(string token)
    {
        var list = await (await Client.SendAsync(WithToken(HttpMethod.Get, "/api/calls/pairs", token))).Body();
        return Assert.Single(list.EnumerateArray());
    }

    [Fact]
    public async Task Admins_pair_an_advisor_with_a_client_and_the_roles_are_checked()
    {
        var admin = await TokenAsync(await UserWithRoleAsync(Roles.Admin));
        var advisor = await UserWithRoleAsync(Roles.Advisor);
        var client = await UserWithRoleAsync(Roles.Client);
        Assert.Equal(HttpStatusCode.BadRequest, (await Client.SendAsync(WithToken(HttpMethod.Post, "/api/admin/pairs", admin, new { advisor = client, client = advisor }))).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await Client.SendAsync(WithToken(HttpMethod.Post, "/api/admin/pairs", admin, new { advisor, client }))).StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, (await Client.SendAsync(WithToken(HttpMethod.Post, "/api/admin/pairs", admin, new { advisor, client }))).StatusCode);
        var advisorToken = await TokenAsync(advisor);
        Assert.Equal(HttpStatusCode.Forbidden, (await Client.SendAsync(WithToken(HttpMethod.Post, "/api/admin/pairs", advisorToken, new { advisor, client }))).StatusCode);
    }

    [Fact]
    public async Task Each_side_sees_its_own_word_and_the_word_the_other_will_say()
    {
        var pair = await PairAsync();
        var asClient = await OnlyPairAsync(pair.ClientToken);
        var asAdvisor = await OnlyPairAsync(pair.AdvisorToken);
        Assert.Equal(pair.Advisor, asClient.GetProperty("counterpart").GetString());
        Assert.Equal(pair.Client, asAdvisor.GetProperty("counterpart").GetString());
        Assert.Equal("client", asClient.GetProperty("my_role").GetString());
        Assert.Equal("advisor", asAdvisor.GetProperty("my_role").GetString());
        Assert.Equal("offline", asClient.GetProperty("counterpart_presence").GetString());
        Assert.Equal(asClient.GetProperty("my_word").GetString(), asAdvisor.GetProperty("their_word").GetString());
        Assert.Equal(asAdvisor.GetProperty("my_word").GetString(), asClient.GetProperty("their_word").GetString());
        Assert.NotEqual(asClient.GetProperty("my_word").GetString(), asClient.GetProperty("their_word").GetString());
        Assert.True(asClient.GetProperty("window_ends_at").GetDateTimeOffset() > Server.Clock!.GetUtcNow());
        // The words themselves are never stored or audited; that they were shown, once per window, is
        // (written in batches: flushed here rather than waited for).
        // The background writer may hold part of the queue mid-write, so wait for it too (bounded).
        await Server.Services.GetRequiredService<CallVerification.ShownAudit>().WriteBatchAsync(CancellationToken.None);
        List<string> shown = [];
        for (var waited = 0; waited < 50 && shown.Count < 2; waited++)
        {
            shown = await WithScope(sp => sp.GetRequiredService<CountersignDb>().AuditEvents
                .Where(e => e.Action == Audit.AuditActions.CallWordsShown && e.Detail!.Contains(pair.PairId)).Select(e => e.Detail!).ToListAsync());
            if (shown.Count < 2)
            {
                await Task.Delay(100);
            }
        }
        Assert.Equal(2, shown.Count);
        Assert.DoesNotContain(shown, d => d.Contains(asClient.GetProperty("my_word").GetString()!, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Verifying_the_spoken_word_says_match_or_mismatch_and_a_mismatch_is_audited_as_possible_impersonation()
    {
        var pair = await PairAsync();
        var asAdvisor = await OnlyPairAsync(pair.AdvisorToken);
        var good = await Client.SendAsync(WithToken(HttpMethod.Post, $"/api/calls/pairs/{pair.PairId}/verify", pair.AdvisorToken,
            new { word = " " + asAdvisor.GetProperty("their_word").GetString()!.ToUpperInvariant() + " " }));
        Assert.True((await good.Body()).GetProperty("match").GetBoolean());
        var bad = await Client.SendAsync(WithToken(HttpMethod.Post, $"/api/calls/pairs/{pair.PairId}/verify", pair.AdvisorToken,
            new { word = asAdvisor.GetProperty("my_word").GetString() }));
        Assert.False((await bad.Body()).GetProperty("match").GetBoolean());
        Assert.True(await WithScope(sp => sp.GetRequiredService<CountersignDb>().AuditEvents
            .AnyAsync(e => e.Action == Audit.AuditActions.PossibleImpersonation && e.Username == pair.Advisor)));
        // Strangers cannot probe a pair.
        var stranger = await TokenAsync(await UserWithRoleAsync(Roles.Client));
        Assert.Equal(HttpStatusCode.NotFound, (await Client.SendAsync(WithToken(HttpMethod.Post, $"/api/calls/pairs/{pair.PairId}/verify", stranger, new { word = "x" }))).StatusCode);
    }

    [Fact]
    public async Task The_previous_word_is_accepted_for_the_grace_after_a_rotation_only()
    {
        var pair = await PairAsync();
        var before = (await OnlyPairAsync(pair.ClientToken)).GetProperty("their_word").GetString();
        Server.Clock!.Advance(TimeSpan.FromSeconds(45));
        var after = await OnlyPairAsync(pair.ClientToken);
        Assert.NotEqual(before, after.GetProperty("their_word").GetString());
        async Task<bool> Check(string? word) => (await (await Client.SendAsync(WithToken(HttpMethod.Post, $"/api/calls/pairs/{pair.PairId}/verify",
            pair.ClientToken, new { word }))).Body()).GetProperty("match").GetBoolean();
        Assert.True(await Check(before));
        Assert.True(await Check(after.GetProperty("their_word").GetString()));
        Server.Clock.Advance(TimeSpan.FromSeconds(11));
        Assert.False(await Check(before));
    }

    [Fact]
    public async Task The_clients_language_picks_the_words_of_both_sides_and_only_known_languages_are_accepted()
    {
        var pair = await PairAsync();
        Assert.Contains((await OnlyPairAsync(pair.AdvisorToken)).GetProperty("my_word").GetString(), CallVerification.WordLists.For("en"));
        Assert.Equal(HttpStatusCode.BadRequest, (await Client.SendAsync(WithToken(HttpMethod.Put, "/api/me/language", pair.ClientToken, new { language = "de" }))).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await Client.SendAsync(WithToken(HttpMethod.Put, "/api/me/language", pair.ClientToken, new { language = "fr" }))).StatusCode);
        Assert.Equal("fr", (await (await Client.SendAsync(WithToken(HttpMethod.Get, "/api/me", pair.ClientToken))).Body()).GetProperty("language").GetString());
        var french = CallVerification.WordLists.For("fr");
        var asAdvisor = await OnlyPairAsync(pair.AdvisorToken);
        var asClient = await OnlyPairAsync(pair.ClientToken);
        Assert.Contains(asAdvisor.GetProperty("my_word").GetString(), french);
        Assert.Contains(asClient.GetProperty("my_word").GetString(), french);
        Assert.Equal(asClient.GetProperty("my_word").GetString(), asAdvisor.GetProperty("their_word").GetString());
    }

    [Fact]
    public async Task The_demo_seed_creates_an_advisor_two_clients_and_their_pairs_once()
    {
        int Seed() => Cli.CountersignCli.Create(Server.ConfigureBuilder).Parse(["demo", "seed"]).InvokeAsync().GetAwaiter().GetResult();
        Assert.Equal(0, Seed());
        // A second run changes nothing.
        Assert.Equal(1, Seed());
        var pairs = await WithScope(sp => sp.GetRequiredService<CallVerification.PairService>().ListAsync());
        Assert.Equal(2, pairs.Count(p => p.Advisor == "demo-advisor"));
        // The printed passwords are one-time: each account must choose its own at its first sign-in.
        var flags = await WithScope(sp => sp.GetRequiredService<Storage.CountersignDb>().Users
            .Where(u => u.UserName!.StartsWith("demo-")).Select(u => u.PasswordChangeRequired).ToListAsync());
        Assert.Equal([true, true, true], flags);
    }

    [Fact]
    public async Task The_client_sees_the_calling_banner_while_the_advisor_calls()
    {
        var pair = await PairAsync();
        Assert.False((await OnlyPairAsync(pair.ClientToken)).GetProperty("calling").GetBoolean());
        Assert.Equal(HttpStatusCode.Forbidden, (await Client.SendAsync(WithToken(HttpMethod.Post, $"/api/calls/pairs/{pair.PairId}/call", pair.ClientToken))).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await Client.SendAsync(WithToken(HttpMethod.Post, $"/api/calls/pairs/{pair.PairId}/call", pair.AdvisorToken))).StatusCode);
        Assert.True((await OnlyPairAsync(pair.ClientToken)).GetProperty("calling").GetBoolean());
        Assert.Equal(HttpStatusCode.NoContent, (await Client.SendAsync(WithToken(HttpMethod.Delete, $"/api/calls/pairs/{pair.PairId}/call", pair.AdvisorToken))).StatusCode);
        Assert.False((await OnlyPairAsync(pair.ClientToken)).GetProperty("calling").GetBoolean());
    }
}

public sealed class SqliteCallsTests(SqliteCallsServer server) : CallsSuite(server), IClassFixture<SqliteCallsServer>;

public sealed class PostgresCallsTests(PostgresCallsServer server) : CallsSuite(server), IClassFixture<PostgresCallsServer>;
