using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Countersign.Accounts;
using Countersign.Defences;
using Countersign.Tests.Api;
using Countersign.Tests.Infrastructure;
using Countersign.Totp;
using OtpNet;

namespace Countersign.Tests.Cluster;

/// <summary>
/// Issue 17's cross-node behaviour, through the load balancer of <c>scripts/cluster</c>: whatever node a request
/// lands on, the defences and revocations decided on another hold. Where a test must know that a second request
/// reached a different node than the first, it reads from nginx's log which node served the first and sends the
/// second straight to each of the others.
/// </summary>
public sealed class ClusterTests(LocalCluster cluster) : IClassFixture<LocalCluster>
{
    private const string Password = LocalCluster.AdminPassword;

    private static string NewName() => "user" + Guid.NewGuid().ToString("N")[..10];

    private static HttpRequestMessage WithToken(HttpMethod method, string path, string token, object? body = null) => new(method, path)
    {
        Headers = { Authorization = new AuthenticationHeaderValue("Bearer", token) },
        Content = body is null ? null : new StringContent(JsonSerializer.Serialize(body, Json.Options), Encoding.UTF8, "application/json"),
    };

    private async Task<string> RegisterAsync()
    {
        var name = NewName();
        using var http = cluster.ClientFrom(LocalCluster.NewAddress());
        Assert.Equal(HttpStatusCode.Created, (await http.PostJson("/api/accounts", new { username = name, password = Password })).StatusCode);
        return name;
    }

    private static async Task<JsonElement> LoginAsync(HttpClient http, string name, object? extra = null)
    {
        var response = await LoginAttempt(http, name, Password, extra);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Body();
    }

    private static Task<HttpResponseMessage> LoginAttempt(HttpClient http, string name, string password, object? extra = null)
    {
        var body = new Dictionary<string, object?> { ["username"] = name, ["password"] = password };
        if (extra is not null)
        {
            foreach (var p in JsonSerializer.SerializeToElement(extra, Json.Options).EnumerateObject())
            {
                body[p.Name] = p.Value.ToString();
            }
        }
        return http.PostJson("/api/auth/login", body);
    }

    private static string Access(JsonElement tokens) => tokens.GetProperty("access_token").GetString()!;

    private static string Refresh(JsonElement tokens) => tokens.GetProperty("refresh_token").GetString()!;

    /// <summary>The nodes other than the one that served the last of the <paramref name="count"/> requests from <paramref name="from"/>.</summary>
    private async Task<List<Uri>> OthersThanLastAsync(System.Net.IPAddress from, int count)
    {
        var last = (await cluster.ServedFromAsync(from, count))[^1];
        Assert.Contains(last, cluster.Nodes);
        return [.. cluster.Nodes.Where(n => n != last)];
    }

    [Fact]
    public async Task Consecutive_requests_through_the_load_balancer_are_served_by_every_node()
    {
        var from = LocalCluster.NewAddress();
        using var http = cluster.ClientFrom(from);
        for (var i = 0; i < 6; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/health/ready")).StatusCode);
        }
        Assert.Equal(cluster.Nodes.Select(n => n.ToString()).Order(), (await cluster.ServedFromAsync(from, 6)).Select(n => n.ToString()).Distinct().Order());
    }

    [Fact]
    public async Task Failures_on_different_nodes_add_up_to_one_lockout()
    {
        var name = await RegisterAsync();
        var served = new List<Uri>();
        // One failure from each of five addresses: no address reaches the proof-of-work threshold, the username does
        // reach the lockout (five failures), and round-robin spreads them over the nodes.
        for (var i = 0; i < 5; i++)
        {
            var from = LocalCluster.NewAddress();
            using var http = cluster.ClientFrom(from);
            Assert.Equal(HttpStatusCode.Unauthorized, (await LoginAttempt(http, name, "wrong password " + i)).StatusCode);
            served.Add((await cluster.ServedFromAsync(from, 1))[0]);
        }
        Assert.True(served.Distinct().Count() > 1, "the failures all landed on one node");

        foreach (var node in cluster.Nodes)
        {
            using var direct = cluster.ClientFrom(LocalCluster.NewAddress(), node);
            Assert.Equal((HttpStatusCode)423, (await LoginAttempt(direct, name, Password)).StatusCode);
        }
    }

    [Fact]
    public async Task The_login_rate_limit_of_one_address_counts_on_every_node()
    {
        var name = await RegisterAsync();
        var from = LocalCluster.NewAddress();
        using var http = cluster.ClientFrom(from);
        // Defences:RateLimits:Login a minute per address, spent on successes as much as failures.
        for (var i = 0; i < LocalCluster.LoginsPerMinute; i++)
        {
            await LoginAsync(http, name);
        }
        Assert.True((await cluster.ServedFromAsync(from, LocalCluster.LoginsPerMinute)).Distinct().Count() > 1);
        foreach (var node in cluster.Nodes)
        {
            using var direct = cluster.ClientFrom(from, node);
            Assert.Equal(HttpStatusCode.TooManyRequests, (await LoginAttempt(direct, name, Password)).StatusCode);
        }
    }

    [Fact]
    public async Task A_totp_code_accepted_by_one_node_is_refused_by_the_others()
    {
        var name = await RegisterAsync();
        var from = LocalCluster.NewAddress();
        using var http = cluster.ClientFrom(from);
        var token = Access(await LoginAsync(http, name));
        var enrolment = await (await http.SendAsync(WithToken(HttpMethod.Post, "/api/me/totp", token))).Body();
        var secret = Base32Encoding.ToBytes(enrolment.GetProperty("secret").GetString()!);
        var step = await SettledStepAsync();
        Assert.Equal(HttpStatusCode.OK,
            (await http.SendAsync(WithToken(HttpMethod.Post, "/api/me/totp/confirm", token, new { code = Rfc6238.Code(secret, step - 1) }))).StatusCode);

        var code = Rfc6238.Code(secret, step);
        await LoginAsync(http, name, new { totp_code = code });
        // RFC 6238 §5.2: a code is accepted once. Every other node has to know that it was.
        foreach (var node in await OthersThanLastAsync(from, 4))
        {
            using var direct = cluster.ClientFrom(from, node);
            var replay = await LoginAttempt(direct, name, Password, new { totp_code = code });
            Assert.Equal(HttpStatusCode.BadRequest, replay.StatusCode);
            Assert.Equal("invalid_mfa_code", (await replay.Body()).GetProperty("error").GetString());
        }
    }

    [Fact]
    public async Task A_proof_of_work_solution_spent_on_one_node_is_refused_by_the_others()
    {
        var name = await RegisterAsync();
        var from = LocalCluster.NewAddress();
        using var http = cluster.ClientFrom(from);
        // Two failures from this address (Defences:Captcha:AfterFailures=2 here), with names that do not exist, so no
        // username nears its lockout.
        for (var i = 0; i < 2; i++)
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await LoginAttempt(http, NewName(), "wrong")).StatusCode);
        }
        var gated = await LoginAttempt(http, name, Password);
        Assert.True(gated.StatusCode == (HttpStatusCode)428, $"{gated.StatusCode}: {await gated.Content.ReadAsStringAsync()}");
        var solution = Captcha.Solve((await gated.Body()).GetProperty("captcha").Deserialize<CaptchaChallenge>(Json.Options)!);
        await LoginAsync(http, name, new { captcha = solution });

        // Two more attempts from this address: six, the cluster's rate limit, so a refusal here is the spent solution's.
        foreach (var node in await OthersThanLastAsync(from, 4))
        {
            using var direct = cluster.ClientFrom(from, node);
            Assert.Equal((HttpStatusCode)428, (await LoginAttempt(direct, name, Password, new { captcha = solution })).StatusCode);
        }
    }

    [Fact]
    public async Task A_refresh_token_reused_on_another_node_revokes_the_family_everywhere()
    {
        var name = await RegisterAsync();
        var from = LocalCluster.NewAddress();
        using var http = cluster.ClientFrom(from);
        var first = await LoginAsync(http, name);
        var rotated = await (await http.PostJson("/api/auth/refresh", new { refresh_token = Refresh(first) })).Body();
        var others = await OthersThanLastAsync(from, 2);

        // The first token again, on a node that did not rotate it: reuse, so the whole family ends (RFC 9700 §4.14.2).
        using (var reuse = cluster.ClientFrom(from, others[0]))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await reuse.PostJson("/api/auth/refresh", new { refresh_token = Refresh(first) })).StatusCode);
        }
        using var third = cluster.ClientFrom(from, others[1]);
        Assert.Equal(HttpStatusCode.Unauthorized, (await third.PostJson("/api/auth/refresh", new { refresh_token = Refresh(rotated) })).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await third.SendAsync(WithToken(HttpMethod.Get, "/api/me", Access(rotated)))).StatusCode);
    }

    [Fact]
    public async Task A_session_ended_on_one_node_is_refused_by_every_node_within_a_second()
    {
        var name = await RegisterAsync();
        var from = LocalCluster.NewAddress();
        using var http = cluster.ClientFrom(from);
        var tokens = await LoginAsync(http, name);
        var direct = cluster.Nodes.Select(n => cluster.ClientFrom(from, n)).ToList();
        try
        {
            // Each node has seen the session live, so each holds it in its cache: the end must reach the caches.
            foreach (var node in direct)
            {
                Assert.Equal(HttpStatusCode.OK, (await node.SendAsync(WithToken(HttpMethod.Get, "/api/me", Access(tokens)))).StatusCode);
            }
            Assert.Equal(HttpStatusCode.NoContent, (await http.PostJson("/api/auth/logout", new { refresh_token = Refresh(tokens) })).StatusCode);
            var ended = DateTime.UtcNow;
            foreach (var node in direct)
            {
                HttpStatusCode status;
                do
                {
                    status = (await node.SendAsync(WithToken(HttpMethod.Get, "/api/me", Access(tokens)))).StatusCode;
                }
                while (status == HttpStatusCode.OK && DateTime.UtcNow - ended < TimeSpan.FromSeconds(2));
                Assert.Equal(HttpStatusCode.Unauthorized, status);
            }
            Assert.True(DateTime.UtcNow - ended < TimeSpan.FromSeconds(1), $"the last node refused after {(DateTime.UtcNow - ended).TotalMilliseconds:F0} ms");
        }
        finally
        {
            direct.ForEach(d => d.Dispose());
        }
    }

    [Fact]
    public async Task An_advisor_and_a_client_on_different_nodes_see_the_same_words_and_the_call_within_a_second()
    {
        var admin = await AdminTokenAsync();
        var advisorName = await UserWithRoleAsync(admin, Roles.Advisor);
        var clientName = await UserWithRoleAsync(admin, Roles.Client);
        using var http = cluster.ClientFrom(LocalCluster.NewAddress());
        var created = await http.SendAsync(WithToken(HttpMethod.Post, "/api/admin/pairs", admin, new { advisor = advisorName, client = clientName }));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var pairId = (await created.Body()).GetProperty("id").GetString()!;
        var advisorToken = Access(await LoginAsync(http, advisorName));
        var clientToken = Access(await LoginAsync(http, clientName));

        // The advisor on node 1, the client through the load balancer, as a browser connects: WebSockets without the
        // negotiate round trip, which could land on another node than the socket (no sticky sessions).
        await using var advisor = new CallsHubTests.Listener(cluster.Nodes[0], advisorToken, webSocketsOnly: true);
        await using var client = new CallsHubTests.Listener(cluster.Url, clientToken, webSocketsOnly: true);
        await advisor.Connection.StartAsync();
        await client.Connection.StartAsync();
        await CallsHubTests.Listener.NextAsync(advisor.Words, TimeSpan.FromSeconds(5));
        await CallsHubTests.Listener.NextAsync(client.Words, TimeSpan.FromSeconds(5));

        // The next window (2 s here): both get it, and each one's word is the other's.
        var advisorNext = (await CallsHubTests.Listener.NextAsync(advisor.Words, TimeSpan.FromSeconds(5)))[0];
        var clientNext = (await CallsHubTests.Listener.NextAsync(client.Words, TimeSpan.FromSeconds(5)))[0];
        while (advisorNext.GetProperty("window_ends_at").GetDateTimeOffset() < clientNext.GetProperty("window_ends_at").GetDateTimeOffset())
        {
            advisorNext = (await CallsHubTests.Listener.NextAsync(advisor.Words, TimeSpan.FromSeconds(5)))[0];
        }
        while (clientNext.GetProperty("window_ends_at").GetDateTimeOffset() < advisorNext.GetProperty("window_ends_at").GetDateTimeOffset())
        {
            clientNext = (await CallsHubTests.Listener.NextAsync(client.Words, TimeSpan.FromSeconds(5)))[0];
        }
        Assert.Equal(advisorNext.GetProperty("my_word").GetString(), clientNext.GetProperty("their_word").GetString());
        Assert.Equal(clientNext.GetProperty("my_word").GetString(), advisorNext.GetProperty("their_word").GetString());

        // The advisor starts the call on node 2: the client's banner comes within a second, from whichever node holds it.
        using var onTwo = cluster.ClientFrom(LocalCluster.NewAddress(), cluster.Nodes[1]);
        var started = DateTime.UtcNow;
        Assert.Equal(HttpStatusCode.NoContent, (await onTwo.SendAsync(WithToken(HttpMethod.Post, $"/api/calls/pairs/{pairId}/call", advisorToken))).StatusCode);
        var notice = await CallsHubTests.Listener.NextAsync(client.Calls, TimeSpan.FromSeconds(1));
        Assert.Equal(pairId, notice.GetProperty("pair_id").GetString());
        Assert.True(notice.GetProperty("calling").GetBoolean());
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(1));
    }

    [Fact]
    public async Task Keys_rotated_by_one_node_are_honoured_by_the_others()
    {
        var name = await RegisterAsync();
        Assert.Equal(0, (await cluster.CliAsync(null, "keys", "rotate")).Exit);
        // A node signs with the newest key from its next start (docs/operations.md): restart node 1 only.
        Assert.Equal(0, (await cluster.StopNodeAsync(1)).Exit);
        var restarted = await cluster.StartNodeAsync(1);
        Assert.True(restarted.Exit == 0, restarted.Error);

        var from = LocalCluster.NewAddress();
        using var one = cluster.ClientFrom(from, cluster.Nodes[0]);
        using var two = cluster.ClientFrom(from, cluster.Nodes[1]);
        using var three = cluster.ClientFrom(from, cluster.Nodes[2]);
        var newToken = Access(await LoginAsync(one, name));
        var oldToken = Access(await LoginAsync(two, name));
        Assert.NotEqual(KeyId(oldToken), KeyId(newToken));
        Assert.Equal(HttpStatusCode.OK, (await two.SendAsync(WithToken(HttpMethod.Get, "/api/me", newToken))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await three.SendAsync(WithToken(HttpMethod.Get, "/api/me", newToken))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await one.SendAsync(WithToken(HttpMethod.Get, "/api/me", oldToken))).StatusCode);

        // A secret node 1 encrypts under the new Data Protection key (a TOTP enrolment) is read by node 3, whose key
        // ring predates that key.
        var enrolment = await (await one.SendAsync(WithToken(HttpMethod.Post, "/api/me/totp", newToken))).Body();
        var secret = Base32Encoding.ToBytes(enrolment.GetProperty("secret").GetString()!);
        var step = await SettledStepAsync();
        Assert.Equal(HttpStatusCode.OK,
            (await three.SendAsync(WithToken(HttpMethod.Post, "/api/me/totp/confirm", newToken, new { code = Rfc6238.Code(secret, step) }))).StatusCode);
    }

    private static string KeyId(string jwt) =>
        JsonDocument.Parse(Microsoft.IdentityModel.Tokens.Base64UrlEncoder.Decode(jwt.Split('.')[0])).RootElement.GetProperty("kid").GetString()!;

    private async Task<string> AdminTokenAsync()
    {
        using var http = cluster.ClientFrom(LocalCluster.NewAddress());
        return Access(await LoginAsync(http, LocalCluster.AdminName));
    }

    private async Task<string> UserWithRoleAsync(string admin, string role)
    {
        var name = await RegisterAsync();
        using var http = cluster.ClientFrom(LocalCluster.NewAddress());
        var page = await (await http.SendAsync(WithToken(HttpMethod.Get, $"/api/admin/users?search={name}", admin))).Body();
        var id = page.GetProperty("users")[0].GetProperty("id").GetString();
        Assert.Equal(HttpStatusCode.NoContent, (await http.SendAsync(WithToken(HttpMethod.Put, $"/api/admin/users/{id}/roles/{role}", admin))).StatusCode);
        return name;
    }

    /// <summary>The current step, when at least 4 s of it remain.</summary>
    private static async Task<long> SettledStepAsync()
    {
        if (Rfc6238.Period - DateTimeOffset.UtcNow.ToUnixTimeSeconds() % Rfc6238.Period < 4)
        {
            await Task.Delay(TimeSpan.FromSeconds(5));
        }
        return Rfc6238.StepAt(DateTimeOffset.UtcNow);
    }
}
