using System.Net;
using System.Security.Cryptography;
using Countersign.ForwardAuth;
using Countersign.Storage;
using Countersign.Tests.Infrastructure;
using Microsoft.Extensions.Time.Testing;
using static Countersign.Tests.ForwardAuth.ForwardAuthSteps;

namespace Countersign.Tests.ForwardAuth;

/// <summary>
/// A forward-auth server on a clock the test moves, with a 30-minute device lifetime, so its renewal windows (a
/// thirtieth of the lifetime) are one minute long. It starts one second into a minute.
/// </summary>
public sealed class SlidingForwardAuth : ForwardAuthServer
{
    public SlidingForwardAuth() : base(Database.Sqlite, StateStore.Memory) =>
        Clock = new FakeTimeProvider(DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds() / 60 * 60 + 1));

    public FakeTimeProvider Time => Clock!;

    protected override void Configure(Dictionary<string, string?> settings)
    {
        base.Configure(settings);
        settings["ForwardAuth:DeviceLifetime"] = "00:30:00";
    }
}

/// <summary>The proxies' suite server (nginx and Caddy running the shipped configurations) on a moved clock, as above.</summary>
public sealed class SlidingProxiedServer : ProxiedServer
{
    public SlidingProxiedServer() =>
        Clock = new FakeTimeProvider(DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds() / 60 * 60 + 1));

    public FakeTimeProvider Time => Clock!;

    protected override void Configure(Dictionary<string, string?> settings)
    {
        base.Configure(settings);
        settings["ForwardAuth:DeviceLifetime"] = "00:30:00";
    }
}

/// <summary>Granted devices written straight to the database at the fake clock's now (the TOTP steps follow the real clock).</summary>
public static class SlidingDevices
{
    public const int LifetimeSeconds = 30 * 60;

    public static async Task<string> AddAsync(TestServer server, ForwardAuthSteps steps, string service, DateTimeOffset now)
    {
        var name = await steps.RegisterAsync();
        await steps.GrantAsync(name, service);
        var secret = RandomNumberGenerator.GetBytes(32);
        var id = Guid.CreateVersion7();
        await using (var scope = server.Services.CreateAsyncScope())
        {
            var user = (await scope.ServiceProvider.GetRequiredService<Accounts.AccountAdmin>().FindAsync(name))!;
            var db = scope.ServiceProvider.GetRequiredService<CountersignDb>();
            db.Set<Device>().Add(new Device
            {
                Id = id,
                UserId = user.Id,
                Name = "test",
                SecretHash = server.Services.GetRequiredService<ForwardAuthKeys>().DeviceHash(secret),
                CreatedAt = now,
                LastSeenAt = now,
            });
            await db.SaveChangesAsync();
        }
        return DeviceCookie.Format(id, secret);
    }

    public static string? Renewal(HttpResponseMessage response) =>
        response.Headers.TryGetValues("Set-Cookie", out var values) ? values.SingleOrDefault(v => v.StartsWith("__Secure-cs_device=", StringComparison.Ordinal)) : null;

    public static void AssertRenews(HttpResponseMessage response, string cookie)
    {
        var header = Renewal(response);
        Assert.NotNull(header);
        var attributes = header.Split(';').Select(a => a.Trim().ToLowerInvariant()).ToList();
        Assert.Equal("__secure-cs_device=" + cookie.ToLowerInvariant(), attributes[0]);
        Assert.Contains($"max-age={LifetimeSeconds}", attributes);
        Assert.Contains("secure", attributes);
        Assert.Contains("httponly", attributes);
        Assert.Contains("samesite=lax", attributes);
    }
}

/// <summary>
/// The device cookie's lifetime slides: the server's expiry moves with each use, and the browser's copy is issued again
/// (a fresh Max-Age) as it moves, through /verify, /forward-auth and Countersign.Client, not on every answer.
/// </summary>
public sealed class CookieSlidingTests(SlidingForwardAuth server) : IClassFixture<SlidingForwardAuth>
{
    private ForwardAuthSteps Steps { get; } = new(server);

    private async Task<(string Service, string Token, string Cookie)> DeviceAsync()
    {
        var service = "sl" + Guid.NewGuid().ToString("N")[..10];
        var token = await Steps.ServiceAsync(service, service + ".example.test");
        return (service, token, await SlidingDevices.AddAsync(server, Steps, service, server.Time.GetUtcNow()));
    }

    [Fact]
    public async Task Verify_reissues_the_cookie_with_a_fresh_max_age_once_per_window_as_the_expiry_slides()
    {
        var (service, token, cookie) = await DeviceAsync();
        var first = await Steps.Client.SendAsync(Verify(service, token, cookie));
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        // The cookie was just issued with its full lifetime: nothing to renew in the same window.
        Assert.Null(SlidingDevices.Renewal(first));

        server.Time.Advance(TimeSpan.FromMinutes(1));
        var next = await Steps.Client.SendAsync(Verify(service, token, cookie));
        Assert.Equal(HttpStatusCode.OK, next.StatusCode);
        SlidingDevices.AssertRenews(next, cookie);
        Assert.Null(SlidingDevices.Renewal(await Steps.Client.SendAsync(Verify(service, token, cookie))));

        // 29 minutes unused: past the cookie's first Max-Age would have been cut close, but it was renewed a minute in;
        // the server honours it (last use + 30 min) and renews again.
        server.Time.Advance(TimeSpan.FromMinutes(29));
        var later = await Steps.Client.SendAsync(Verify(service, token, cookie));
        Assert.Equal(HttpStatusCode.OK, later.StatusCode);
        SlidingDevices.AssertRenews(later, cookie);

        // Unused for a whole lifetime: refused, and nothing renewed.
        server.Time.Advance(TimeSpan.FromMinutes(30));
        var expired = await Steps.Client.SendAsync(Verify(service, token, cookie));
        Assert.Equal(HttpStatusCode.NotFound, expired.StatusCode);
        Assert.Null(SlidingDevices.Renewal(expired));
    }

    [Fact]
    public async Task Forward_auth_reissues_the_cookie_when_the_window_has_moved()
    {
        var (service, _, cookie) = await DeviceAsync();
        var url = $"https://{service}.example.test/page";
        Assert.Null(SlidingDevices.Renewal(await Steps.Client.SendAsync(Proxied(url, cookie))));
        server.Time.Advance(TimeSpan.FromMinutes(1));
        var renewed = await Steps.Client.SendAsync(Proxied(url, cookie));
        Assert.Equal(HttpStatusCode.OK, renewed.StatusCode);
        SlidingDevices.AssertRenews(renewed, cookie);
        Assert.Null(SlidingDevices.Renewal(await Steps.Client.SendAsync(Proxied(url, cookie))));
    }

    [Fact]
    public async Task The_client_library_passes_the_renewal_on_to_the_browser()
    {
        var (service, token, cookie) = await DeviceAsync();
        await using var sample = await Sample.StartAsync(server.BaseAddress, service, token);
        var first = await sample.GetAsync("/", cookie);
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Null(SlidingDevices.Renewal(first));
        server.Time.Advance(TimeSpan.FromMinutes(1));
        var renewed = await sample.GetAsync("/", cookie);
        Assert.Equal(HttpStatusCode.OK, renewed.StatusCode);
        SlidingDevices.AssertRenews(renewed, cookie);
    }

    [Theory]
    [InlineData("2026-12-01T10:00:00Z", "2026-12-01T23:59:59Z", false)]
    [InlineData("2026-12-01T23:59:59Z", "2026-12-02T00:00:00Z", true)]
    [InlineData("2026-11-01T12:00:00Z", "2026-12-01T11:00:00Z", true)]
    public void A_renewal_is_due_when_the_last_use_lies_in_an_earlier_window(string lastSeen, string now, bool due) =>
        Assert.Equal(due, Verifier.CookieRenewalDue(DateTimeOffset.Parse(lastSeen, System.Globalization.CultureInfo.InvariantCulture),
            DateTimeOffset.Parse(now, System.Globalization.CultureInfo.InvariantCulture), TimeSpan.FromDays(30)));
}

/// <summary>
/// The renewal reaches the browser through the shipped nginx configuration. Not through Caddy's: Caddy 2.6's
/// forward_auth handles every 2xx first and copies headers to the request only (deploy/caddy/Caddyfile says so).
/// </summary>
public sealed class ProxiedCookieSlidingTests(SlidingProxiedServer server) : IClassFixture<SlidingProxiedServer>
{
    private static readonly SemaphoreSlim Gate = new(1, 1);
    private static bool _added;

    private ForwardAuthSteps Steps { get; } = new(server);

    [Theory]
    [InlineData(Proxy.Nginx)]
    public async Task The_proxy_passes_the_renewed_cookie_to_the_browser_with_the_apps_answer(Proxy proxy)
    {
        // The shipped configurations protect one app host; one service covers it for both proxies.
        const string service = "app", host = ProxiedServer.AppHost;
        await Gate.WaitAsync();
        try
        {
            _added = _added || await Steps.ServiceAsync(service, host) is not null;
        }
        finally
        {
            Gate.Release();
        }
        var cookie = await SlidingDevices.AddAsync(server, Steps, service, server.Time.GetUtcNow());
        using var client = new HttpClient(new HttpClientHandler { UseCookies = false, AllowAutoRedirect = false })
        {
            BaseAddress = new Uri($"http://127.0.0.1:{server.Ports[proxy]}"),
        };
        HttpRequestMessage Page()
        {
            var request = new HttpRequestMessage(HttpMethod.Get, "/page");
            request.Headers.Host = host;
            request.Headers.Add("Cookie", "__Secure-cs_device=" + cookie);
            return request;
        }
        var first = await client.SendAsync(Page());
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Null(SlidingDevices.Renewal(first));
        server.Time.Advance(TimeSpan.FromMinutes(1));
        var renewed = await client.SendAsync(Page());
        Assert.Equal(HttpStatusCode.OK, renewed.StatusCode);
        SlidingDevices.AssertRenews(renewed, cookie);
    }
}
