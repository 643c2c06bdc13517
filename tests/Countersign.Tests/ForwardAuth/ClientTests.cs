using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Countersign.Client;
using Countersign.ForwardAuth;
using Microsoft.Extensions.Logging;
using Countersign.Samples;
using Countersign.Tests.Infrastructure;
using static Countersign.Tests.ForwardAuth.ForwardAuthSteps;

namespace Countersign.Tests.ForwardAuth;

/// <summary>The sample app (samples/ProtectedService) on a real Kestrel socket, configured to ask one Countersign.</summary>
public sealed class Sample : IAsyncDisposable
{
    private readonly WebApplication _app;

    private Sample(WebApplication app, WarningLog log)
    {
        _app = app;
        Log = log;
        Client = new HttpClient(new HttpClientHandler { UseCookies = false, AllowAutoRedirect = false })
        {
            BaseAddress = new Uri(app.Urls.First()),
            Timeout = TimeSpan.FromSeconds(30),
        };
    }

    public HttpClient Client { get; }

    public WarningLog Log { get; }

    public static async Task<Sample> StartAsync(Uri server, string service, string token, Dictionary<string, string?>? more = null)
    {
        var log = new WarningLog();
        var settings = new Dictionary<string, string?>
        {
            ["Countersign:ServerUrl"] = server.ToString(),
            ["Countersign:Service"] = service,
            ["Countersign:ServiceToken"] = token,
        };
        foreach (var (key, value) in more ?? [])
        {
            settings[key] = value;
        }
        var app = ProtectedServiceApp.Build([], builder =>
        {
            builder.Configuration.AddInMemoryCollection(settings);
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            builder.Logging.ClearProviders();
            builder.Logging.AddProvider(log);
        });
        await app.StartAsync();
        return new Sample(app, log);
    }

    public Task<HttpResponseMessage> GetAsync(string path, string? cookie)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (cookie is not null)
        {
            request.Headers.Add("Cookie", ForwardAuthOptions.CookieName + "=" + cookie);
        }
        return Client.SendAsync(request);
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

/// <summary>
/// <c>Countersign.Client</c>'s handler in the sample service, on its own Kestrel socket, asking a real Countersign server
/// <c>/verify/{service}</c> over HTTP: what a visitor with and without a device gets, and what happens when the server
/// is gone or the service's token is wrong.
/// </summary>
public sealed class ClientTests(SqliteMemoryForwardAuth server) : IClassFixture<SqliteMemoryForwardAuth>
{
    private ForwardAuthSteps Steps { get; } = new(server);

    private async Task<(string Name, string Token)> ServiceAsync(bool sendsIdentity = false)
    {
        var name = "cl" + Guid.NewGuid().ToString("N")[..10];
        return (name, await Steps.ServiceAsync(name, name + ".example.test", "/", sendsIdentity));
    }

    private async Task<(TotpUser User, string Cookie)> DeviceAsync(string? grantFor)
    {
        var user = await Steps.TotpUserAsync();
        if (grantFor is not null)
        {
            await Steps.GrantAsync(user.Name, grantFor);
        }
        return (user, await Steps.DeviceAsync(user));
    }

    private static Guid IdOf(string cookie)
    {
        Assert.True(DeviceCookie.TryParse(cookie, out var id, out _));
        return id;
    }

    /// <summary>A loopback port nothing listens on (bound, then closed).</summary>
    private static Uri ClosedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return new Uri($"http://127.0.0.1:{port}/");
    }

    [Fact]
    public void The_client_speaks_the_servers_cookie_and_header_names()
    {
        Assert.Equal(ForwardAuthOptions.CookieName, CountersignDefaults.CookieName);
        Assert.Equal(ForwardAuthApi.SubjectHeader, CountersignDefaults.SubjectHeader);
        Assert.Equal(ForwardAuthApi.DeviceHeader, CountersignDefaults.DeviceHeader);
        Assert.Equal(ForwardAuthApi.UserHeader, CountersignDefaults.UserHeader);
        Assert.Equal(ForwardAuthApi.RolesHeader, CountersignDefaults.RolesHeader);
        Assert.Equal(DeviceCookie.Length, DeviceCookie.Format(Guid.NewGuid(), new byte[32]).Length);
        Assert.True(CountersignAuthenticationHandler.IsWellFormed(DeviceCookie.Format(Guid.NewGuid(), new byte[32])));
    }

    [Fact]
    public async Task A_visitor_without_a_cookie_is_challenged_and_a_public_page_stays_open()
    {
        var (service, token) = await ServiceAsync();
        await using var sample = await Sample.StartAsync(server.BaseAddress, service, token);
        Assert.Equal(HttpStatusCode.Unauthorized, (await sample.GetAsync("/", null)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await sample.GetAsync("/health", null)).StatusCode);
    }

    [Fact]
    public async Task With_a_sign_in_url_a_challenged_browser_is_sent_to_the_device_page_with_its_page_as_rd()
    {
        var (service, token) = await ServiceAsync();
        await using var sample = await Sample.StartAsync(server.BaseAddress, service, token,
            new() { ["Countersign:SignInUrl"] = "https://auth.example.test/devices/add" });
        var response = await sample.GetAsync("/?q=1", null);
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        var location = response.Headers.Location!.ToString();
        Assert.StartsWith("https://auth.example.test/devices/add?rd=", location, StringComparison.Ordinal);
        Assert.Equal(new Uri(sample.Client.BaseAddress!, "/?q=1").ToString(), Uri.UnescapeDataString(location.Split("rd=")[1]));
    }

    [Fact]
    public async Task A_device_with_a_grant_gets_200_with_the_pairwise_subject_the_server_gives_this_service()
    {
        var (service, token) = await ServiceAsync();
        var (_, cookie) = await DeviceAsync(grantFor: service);
        await using var sample = await Sample.StartAsync(server.BaseAddress, service, token);

        var response = await sample.GetAsync("/", cookie);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.Body();
        var direct = await Steps.Client.SendAsync(Verify(service, token, cookie));
        Assert.Equal(direct.Headers.GetValues(ForwardAuthApi.SubjectHeader).Single(), body.GetProperty("subject").GetString());
        Assert.Equal(IdOf(cookie).ToString("N"), body.GetProperty("device").GetString());
        // Not a service that receives identity: no name, no roles.
        Assert.Equal(JsonValueKind.Null, body.GetProperty("name").ValueKind);
        Assert.Empty(body.GetProperty("roles").EnumerateArray());
    }

    [Fact]
    public async Task A_service_that_receives_identity_gets_the_name_and_roles_as_claims()
    {
        var (service, token) = await ServiceAsync(sendsIdentity: true);
        var user = await Steps.TotpUserAsync();
        await using (var scope = server.Services.CreateAsyncScope())
        {
            var accounts = scope.ServiceProvider.GetRequiredService<Accounts.AccountAdmin>();
            await accounts.AddRoleAsync((await accounts.FindAsync(user.Name))!, Accounts.Roles.Admin, "test");
        }
        // Admins reach every service without a grant (the seed's rule).
        var cookie = await Steps.DeviceAsync(user);
        await using var sample = await Sample.StartAsync(server.BaseAddress, service, token);

        var body = await (await sample.GetAsync("/", cookie)).Body();
        Assert.Equal(user.Name, body.GetProperty("name").GetString());
        Assert.Contains("admin", body.GetProperty("roles").EnumerateArray().Select(r => r.GetString()));
        Assert.Equal(HttpStatusCode.OK, (await sample.GetAsync("/admin", cookie)).StatusCode);
    }

    [Fact]
    public async Task A_device_without_a_grant_is_forbidden_and_a_role_it_lacks_too()
    {
        var (service, token) = await ServiceAsync();
        var (_, cookie) = await DeviceAsync(grantFor: null);
        await using var sample = await Sample.StartAsync(server.BaseAddress, service, token);
        Assert.Equal(HttpStatusCode.Forbidden, (await sample.GetAsync("/", cookie)).StatusCode);

        var (_, granted) = await DeviceAsync(grantFor: service);
        Assert.Equal(HttpStatusCode.OK, (await sample.GetAsync("/", granted)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await sample.GetAsync("/admin", granted)).StatusCode);
    }

    [Fact]
    public async Task A_revoked_device_is_refused_within_a_second()
    {
        var (service, token) = await ServiceAsync();
        var (user, cookie) = await DeviceAsync(grantFor: service);
        await using var sample = await Sample.StartAsync(server.BaseAddress, service, token);
        Assert.Equal(HttpStatusCode.OK, (await sample.GetAsync("/", cookie)).StatusCode);

        var revoke = await Steps.Client.SendAsync(WithToken(HttpMethod.Delete, $"/api/me/devices/{IdOf(cookie)}", user.AccessToken));
        Assert.Equal(HttpStatusCode.NoContent, revoke.StatusCode);
        await UntilAsync(async () => (await sample.GetAsync("/", cookie)).StatusCode == HttpStatusCode.Unauthorized, TimeSpan.FromSeconds(1));
    }

    [Fact]
    public async Task A_removed_grant_is_forbidden_within_a_second()
    {
        var (service, token) = await ServiceAsync();
        var (user, cookie) = await DeviceAsync(grantFor: service);
        await using var sample = await Sample.StartAsync(server.BaseAddress, service, token);
        Assert.Equal(HttpStatusCode.OK, (await sample.GetAsync("/", cookie)).StatusCode);

        var removed = await Steps.Client.SendAsync(WithToken(HttpMethod.Delete, $"/api/admin/grants?user={user.Name}&service={service}", await Steps.AdminAsync()));
        Assert.Equal(HttpStatusCode.NoContent, removed.StatusCode);
        await UntilAsync(async () => (await sample.GetAsync("/", cookie)).StatusCode == HttpStatusCode.Forbidden, TimeSpan.FromSeconds(1));
    }

    [Fact]
    public async Task With_the_server_unreachable_the_request_fails_closed_with_a_warning()
    {
        var (service, token) = await ServiceAsync();
        var (_, cookie) = await DeviceAsync(grantFor: service);
        await using var sample = await Sample.StartAsync(ClosedPort(), service, token);

        Assert.Equal(HttpStatusCode.Unauthorized, (await sample.GetAsync("/", cookie)).StatusCode);
        Assert.Contains(sample.Log.Entries, e => e.EventId == 4300);
    }

    [Fact]
    public async Task A_wrong_service_token_is_refused_like_no_device()
    {
        var (service, _) = await ServiceAsync();
        var (_, otherToken) = await ServiceAsync();
        var (_, cookie) = await DeviceAsync(grantFor: service);
        var wrong = Microsoft.AspNetCore.WebUtilities.WebEncoders.Base64UrlEncode(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));

        await using (var sample = await Sample.StartAsync(server.BaseAddress, service, wrong))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await sample.GetAsync("/", cookie)).StatusCode);
        }
        // Another service's own token does not make this one's subject either.
        await using (var sample = await Sample.StartAsync(server.BaseAddress, service, otherToken))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await sample.GetAsync("/", cookie)).StatusCode);
        }
    }

    [Fact]
    public async Task A_service_name_the_server_does_not_know_is_refused_and_logged_as_a_configuration_error()
    {
        var (_, token) = await ServiceAsync();
        var user = await Steps.TotpUserAsync();
        var cookie = await Steps.DeviceAsync(user);
        await using var sample = await Sample.StartAsync(server.BaseAddress, "nosuch" + Guid.NewGuid().ToString("N")[..8], token);
        Assert.Equal(HttpStatusCode.Unauthorized, (await sample.GetAsync("/", cookie)).StatusCode);
        Assert.Contains(sample.Log.Entries, e => e.EventId == 4301);
    }

    [Theory]
    [InlineData("x")]
    [InlineData("00000000000000000000000000000000.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    [InlineData("0000000000000000000000000000000G.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    [InlineData("00000000000000000000000000000000.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")]
    public async Task A_malformed_or_unknown_cookie_is_challenged(string cookie)
    {
        var (service, token) = await ServiceAsync();
        await using var sample = await Sample.StartAsync(server.BaseAddress, service, token);
        Assert.Equal(HttpStatusCode.Unauthorized, (await sample.GetAsync("/", cookie)).StatusCode);
    }

    [Fact]
    public async Task With_a_positive_cache_a_revoked_device_is_refused_once_its_entry_expires()
    {
        var (service, token) = await ServiceAsync();
        var (user, cookie) = await DeviceAsync(grantFor: service);
        await using var sample = await Sample.StartAsync(server.BaseAddress, service, token, new() { ["Countersign:CacheDuration"] = "00:00:02" });
        Assert.Equal(HttpStatusCode.OK, (await sample.GetAsync("/", cookie)).StatusCode);

        var revoke = await Steps.Client.SendAsync(WithToken(HttpMethod.Delete, $"/api/me/devices/{IdOf(cookie)}", user.AccessToken));
        Assert.Equal(HttpStatusCode.NoContent, revoke.StatusCode);
        // The trade the option names: up to its duration more before a revocation bites (plus the server's second).
        Assert.Equal(HttpStatusCode.OK, (await sample.GetAsync("/", cookie)).StatusCode);
        await UntilAsync(async () => (await sample.GetAsync("/", cookie)).StatusCode == HttpStatusCode.Unauthorized, TimeSpan.FromSeconds(3.5));
    }

    [Theory]
    [InlineData("http://auth.example.test/", "https")]
    [InlineData("ftp://127.0.0.1/", "absolute http(s)")]
    [InlineData("", "absolute http(s)")]
    public async Task Bad_options_stop_the_sample_at_start(string serverUrl, string expected)
    {
        var error = await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            await using var sample = await Sample.StartAsync(new Uri("http://127.0.0.1:1/"), "svc", "short",
                new() { ["Countersign:ServerUrl"] = serverUrl, ["Countersign:CacheDuration"] = "01:00:00" });
        });
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
        Assert.Contains("ServiceToken", error.Message, StringComparison.Ordinal);
        Assert.Contains("CacheDuration", error.Message, StringComparison.Ordinal);
    }
}
