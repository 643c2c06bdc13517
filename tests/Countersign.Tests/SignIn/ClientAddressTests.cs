using System.Net;
using System.Net.Http.Json;
using Countersign.Audit;
using Countersign.Storage;
using Countersign.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace Countersign.Tests.SignIn;

/// <summary>The login limit (5 a minute per address) with forwarded headers: believed from a configured proxy only.</summary>
public abstract class ForwardedServer(bool trustLoopback) : TestServer(Database.Sqlite)
{
    protected override void Configure(Dictionary<string, string?> settings)
    {
        settings["Defences:RateLimits:Enabled"] = "true";
        if (trustLoopback)
        {
            settings["Network:TrustedProxies:0"] = "127.0.0.0/8";
        }
    }
}

public sealed class UntrustedPeerServer() : ForwardedServer(trustLoopback: false);

public sealed class TrustedProxyServer() : ForwardedServer(trustLoopback: true);

public sealed class SpoofedForwardedHeadersTests(UntrustedPeerServer server) : IClassFixture<UntrustedPeerServer>
{
    [Fact]
    public async Task Forwarded_headers_from_an_untrusted_address_change_nothing()
    {
        using var client = server.CreateClient();
        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 7; i++)
        {
            // A different made-up address every time, in both header forms: the limit still counts the real peer.
            using var request = new HttpRequestMessage(HttpMethod.Post, "/api/auth/login")
            {
                Content = JsonContent.Create(new { username = "nobody", password = "guess" }),
            };
            request.Headers.Add("X-Forwarded-For", $"203.0.113.{i + 1}");
            request.Headers.Add("Forwarded", $"for=198.51.100.{i + 1};proto=https");
            statuses.Add((await client.SendAsync(request)).StatusCode);
        }
        Assert.Equal(5, statuses.Count(s => s == HttpStatusCode.Unauthorized));
        Assert.Equal(HttpStatusCode.TooManyRequests, statuses[^1]);
        await using var scope = server.Services.CreateAsyncScope();
        var addresses = await scope.ServiceProvider.GetRequiredService<CountersignDb>().AuditEvents
            .Where(e => e.Action == AuditActions.LoginFailed).Select(e => e.ClientIp).Distinct().ToListAsync();
        Assert.Equal(["127.0.0.1"], addresses);
    }
}

public sealed class TrustedProxyTests(TrustedProxyServer server) : IClassFixture<TrustedProxyServer>
{
    [Fact]
    public async Task A_configured_proxy_gives_each_forwarded_client_its_own_limit_and_audit_address()
    {
        using var client = server.CreateClient();
        var tries = 0;
        async Task<HttpStatusCode> From(string header, string value)
        {
            // A new username each time, so the per-username lockout stays out of the way of the per-address limit.
            using var request = new HttpRequestMessage(HttpMethod.Post, "/api/auth/login")
            {
                Content = JsonContent.Create(new { username = $"nobody{++tries}", password = "guess" }),
            };
            request.Headers.Add(header, value);
            return (await client.SendAsync(request)).StatusCode;
        }
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(HttpStatusCode.Unauthorized, await From("X-Forwarded-For", "203.0.113.7"));
        }
        Assert.Equal(HttpStatusCode.TooManyRequests, await From("X-Forwarded-For", "203.0.113.7"));
        // Another client behind the same proxy has a limit of its own, in either header form.
        Assert.Equal(HttpStatusCode.Unauthorized, await From("X-Forwarded-For", "203.0.113.8"));
        Assert.Equal(HttpStatusCode.Unauthorized, await From("Forwarded", "for=\"[2001:db8::1]:4711\";proto=https"));
        // A client cannot prepend an address of its choosing: the proxy appends the real one, which is used.
        Assert.Equal(HttpStatusCode.TooManyRequests, await From("X-Forwarded-For", "198.51.100.1, 203.0.113.7"));

        await using var scope = server.Services.CreateAsyncScope();
        var addresses = await scope.ServiceProvider.GetRequiredService<CountersignDb>().AuditEvents
            .Where(e => e.Action == AuditActions.LoginFailed).Select(e => e.ClientIp).Distinct().ToListAsync();
        Assert.Contains("203.0.113.7", addresses);
        Assert.Contains("2001:db8::1", addresses);
        Assert.DoesNotContain("127.0.0.1", addresses);
    }
}
