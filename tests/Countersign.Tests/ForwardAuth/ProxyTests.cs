using System.Net;
using System.Text.Json;
using Countersign.ForwardAuth;
using Countersign.Tests.Infrastructure;
using static Countersign.Tests.ForwardAuth.ForwardAuthSteps;

namespace Countersign.Tests.ForwardAuth;

/// <summary>
/// Forward auth behind real nginx (auth_request) and Caddy (forward_auth) running the shipped configurations, replaying
/// the advisories the issue names: client-sent identity headers, untrusted X-Forwarded-*, open redirects, path tricks.
/// </summary>
public sealed class ProxyTests(ProxiedServer server) : IClassFixture<ProxiedServer>
{
    private readonly ForwardAuthSteps _steps = new(server);

    private HttpClient Via(Proxy proxy) => new(new HttpClientHandler { UseCookies = false, AllowAutoRedirect = false })
    {
        BaseAddress = new Uri($"http://127.0.0.1:{server.Ports[proxy]}"),
        Timeout = TimeSpan.FromSeconds(30),
    };

    private static HttpRequestMessage App(string target, string? cookie = null, string host = ProxiedServer.AppHost)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, target);
        request.Headers.Host = host;
        if (cookie is not null)
        {
            request.Headers.Add("Cookie", "__Secure-cs_device=" + cookie);
        }
        return request;
    }

    private sealed record Echo(string Raw, string Path, Dictionary<string, string> Headers);

    private static async Task<Echo> EchoOf(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return JsonSerializer.Deserialize<Echo>(await response.Content.ReadAsStringAsync(), Json.Options)!;
    }

    private static void AssertSentToDevicePage(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.Found, response.StatusCode);
        Assert.StartsWith($"https://{ProxiedServer.AuthHost}/devices/add?rd=", response.Headers.Location!.OriginalString, StringComparison.Ordinal);
    }

    private string? _service;

    /// <summary>The app as one service (the whole host) and a user with a device and a grant for it.</summary>
    private async Task<(string Name, string Cookie)> GrantedAsync()
    {
        _service ??= await ServiceOnceAsync();
        var user = await _steps.TotpUserAsync();
        var cookie = await _steps.DeviceAsync(user);
        await _steps.GrantAsync(user.Name, _service);
        return (user.Name, cookie);
    }

    private async Task<string> ServiceOnceAsync()
    {
        var existing = await _steps.Client.SendAsync(WithToken(HttpMethod.Get, "/api/admin/services", await _steps.AdminAsync()));
        if ((await existing.Body()).EnumerateArray().Any(s => s.GetProperty("name").GetString() == "app"))
        {
            return "app";
        }
        await _steps.ServiceAsync("app", ProxiedServer.AppHost);
        return "app";
    }

    [Theory]
    [InlineData(Proxy.Nginx)]
    [InlineData(Proxy.Caddy)]
    public async Task Without_a_cookie_the_browser_is_sent_to_the_device_page_with_the_original_url(Proxy proxy)
    {
        await ServiceOnceAsync();
        using var client = Via(proxy);
        var response = await client.SendAsync(App("/reports/q3?x=1"));
        AssertSentToDevicePage(response);
        var rd = Uri.UnescapeDataString(response.Headers.Location!.OriginalString.Split("rd=")[1]);
        Assert.EndsWith($"{ProxiedServer.AppHost}/reports/q3?x=1", rd, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(Proxy.Nginx)]
    [InlineData(Proxy.Caddy)]
    public async Task A_device_with_a_grant_reaches_the_app_which_sees_the_subject_and_no_forged_identity(Proxy proxy)
    {
        var (_, cookie) = await GrantedAsync();
        using var client = Via(proxy);
        var request = App("/dashboard", cookie);
        request.Headers.Add("X-Countersign-Subject", "forged");
        request.Headers.Add("x-countersign-user", "root");
        request.Headers.Add("X-Countersign-Roles", "admin");
        var echo = await EchoOf(await client.SendAsync(request));
        var subject = echo.Headers["x-countersign-subject"];
        Assert.Equal(43, subject.Length);
        Assert.DoesNotContain("forged", subject, StringComparison.Ordinal);
        // Not sent to this service, and the client's are gone.
        Assert.False(echo.Headers.ContainsKey("x-countersign-user"));
        Assert.False(echo.Headers.ContainsKey("x-countersign-roles"));
        Assert.True(DeviceCookie.TryParse(cookie, out var id, out _));
        Assert.Equal(id.ToString("N"), echo.Headers["x-countersign-device"]);
    }

    [Theory]
    [InlineData(Proxy.Nginx)]
    [InlineData(Proxy.Caddy)]
    public async Task Client_sent_identity_headers_never_reach_the_app_on_public_paths_either(Proxy proxy)
    {
        using var client = Via(proxy);
        var request = App("/pub/page");
        request.Headers.Add("X-Countersign-Subject", "forged");
        request.Headers.Add("X-COUNTERSIGN-DEVICE", "forged");
        request.Headers.Add("X-Countersign-User", "root");
        var echo = await EchoOf(await client.SendAsync(request));
        Assert.DoesNotContain(echo.Headers, h => h.Key.StartsWith("x-countersign", StringComparison.Ordinal) || h.Value.Contains("forged", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(Proxy.Nginx)]
    [InlineData(Proxy.Caddy)]
    public async Task Without_a_grant_the_proxy_answers_403(Proxy proxy)
    {
        await ServiceOnceAsync();
        var user = await _steps.TotpUserAsync();
        var cookie = await _steps.DeviceAsync(user);
        using var client = Via(proxy);
        Assert.Equal(HttpStatusCode.Forbidden, (await client.SendAsync(App("/dashboard", cookie))).StatusCode);
    }

    [Theory]
    [InlineData(Proxy.Nginx)]
    [InlineData(Proxy.Caddy)]
    public async Task A_revoked_device_is_sent_to_the_device_page_within_a_second(Proxy proxy)
    {
        var (_, cookie) = await GrantedAsync();
        using var client = Via(proxy);
        await EchoOf(await client.SendAsync(App("/dashboard", cookie)));
        Assert.True(DeviceCookie.TryParse(cookie, out var id, out _));
        // Revoked through the CLI, another process's view of the database: the server learns it from its poll.
        Assert.Equal(0, (await Infrastructure.CliRunner.RunAsync(server.ConfigureBuilder, "devices", "revoke", id.ToString())).Exit);
        var took = await UntilAsync(async () => (await client.SendAsync(App("/dashboard", cookie))).StatusCode == HttpStatusCode.Found, TimeSpan.FromSeconds(1));
        Assert.True(took < TimeSpan.FromSeconds(1));
        AssertSentToDevicePage(await client.SendAsync(App("/dashboard", cookie)));
    }

    [Theory]
    [InlineData(Proxy.Nginx)]
    [InlineData(Proxy.Caddy)]
    public async Task Forwarded_headers_a_client_sends_do_not_move_the_check(Proxy proxy)
    {
        await ServiceOnceAsync();
        using var client = Via(proxy);
        var request = App("/dashboard");
        request.Headers.Add("X-Forwarded-Host", "elsewhere.example.test");
        request.Headers.Add("X-Forwarded-Uri", "/pub/");
        request.Headers.Add("X-Forwarded-For", "10.9.9.9");
        request.Headers.Add("X-Original-URL", "/pub/");
        AssertSentToDevicePage(await client.SendAsync(request));
    }

    /// <summary>Each either is refused or sent to the device page, or reaches the app only under /pub as the app reads it.</summary>
    [Theory]
    [InlineData(Proxy.Nginx, "/pub/../admin")]
    [InlineData(Proxy.Nginx, "/pub/%2e%2e/admin")]
    [InlineData(Proxy.Nginx, "/pub/%2E%2E/admin")]
    [InlineData(Proxy.Nginx, "/pub%2f..%2fadmin")]
    [InlineData(Proxy.Nginx, "//admin")]
    [InlineData(Proxy.Nginx, "/pub/..;/admin")]
    [InlineData(Proxy.Nginx, "/admin;/pub/")]
    [InlineData(Proxy.Nginx, "/admin?x=/pub/")]
    [InlineData(Proxy.Nginx, "/pub/%252e%252e/admin")]
    [InlineData(Proxy.Nginx, "/pub/..%5cadmin")]
    [InlineData(Proxy.Caddy, "/pub/../admin")]
    [InlineData(Proxy.Caddy, "/pub/%2e%2e/admin")]
    [InlineData(Proxy.Caddy, "/pub/%2E%2E/admin")]
    [InlineData(Proxy.Caddy, "/pub%2f..%2fadmin")]
    [InlineData(Proxy.Caddy, "//admin")]
    [InlineData(Proxy.Caddy, "/pub/..;/admin")]
    [InlineData(Proxy.Caddy, "/admin;/pub/")]
    [InlineData(Proxy.Caddy, "/admin?x=/pub/")]
    [InlineData(Proxy.Caddy, "/pub/%252e%252e/admin")]
    [InlineData(Proxy.Caddy, "/pub/..%5cadmin")]
    public async Task Path_tricks_never_reach_a_protected_path_unauthenticated(Proxy proxy, string target)
    {
        await ServiceOnceAsync();
        // HttpClient would clean the path; it goes as written.
        var response = await SendRawAsync(server.Ports[proxy], target);
        if (response.Status == 200)
        {
            var echo = JsonSerializer.Deserialize<Echo>(response.Body, Json.Options)!;
            Assert.StartsWith("/pub/", echo.Path, StringComparison.Ordinal);
        }
        else
        {
            Assert.Contains(response.Status, Refusals);
        }
    }

    private static readonly int[] Refusals = [302, 400, 404];

    /// <summary>One HTTP/1.1 request with the target exactly as given (HttpClient normalises dot segments).</summary>
    private static async Task<(int Status, string Body)> SendRawAsync(int port, string target)
    {
        using var tcp = new System.Net.Sockets.TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, port);
        await using var stream = tcp.GetStream();
        var request = $"GET {target} HTTP/1.1\r\nHost: {ProxiedServer.AppHost}\r\nConnection: close\r\n\r\n";
        await stream.WriteAsync(System.Text.Encoding.ASCII.GetBytes(request));
        using var reader = new StreamReader(stream);
        var text = await reader.ReadToEndAsync();
        var status = int.Parse(text.Split(' ', 3)[1], System.Globalization.CultureInfo.InvariantCulture);
        var body = text.Split("\r\n\r\n", 2) is { Length: 2 } parts ? parts[1] : "";
        if (text.Contains("Transfer-Encoding: chunked", StringComparison.OrdinalIgnoreCase))
        {
            body = Dechunk(body);
        }
        return (status, body);
    }

    private static string Dechunk(string body)
    {
        var result = new System.Text.StringBuilder();
        var rest = body;
        while (rest.Length > 0)
        {
            var line = rest.IndexOf("\r\n", StringComparison.Ordinal);
            var size = Convert.ToInt32(rest[..line].Split(';')[0], 16);
            if (size == 0) break;
            result.Append(rest.AsSpan(line + 2, size));
            rest = rest[(line + 2 + size + 2)..];
        }
        return result.ToString();
    }

    [Theory]
    [InlineData(Proxy.Nginx)]
    [InlineData(Proxy.Caddy)]
    public async Task Every_redirect_trick_through_the_proxy_lands_on_the_account_page(Proxy proxy)
    {
        var (_, cookie) = await GrantedAsync();
        using var client = Via(proxy);
        var host = ProxiedServer.AppHost;
        foreach (var rd in new[]
        {
            "//evil.example", "/\\evil.example", "/%09/evil.example", "https:evil.example", $"https://{host}@evil.example/",
            $"https://{host}.evil.example/", $"http://{host}/", "javascript:alert(1)",
        })
        {
            var response = await client.SendAsync(App("/devices/add?rd=" + Uri.EscapeDataString(rd), cookie, ProxiedServer.AuthHost));
            Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
            Assert.Equal("/account", response.Headers.Location!.OriginalString);
        }
        var good = await client.SendAsync(App("/devices/add?rd=" + Uri.EscapeDataString($"https://{host}/x"), cookie, ProxiedServer.AuthHost));
        Assert.Equal($"https://{host}/x", good.Headers.Location!.OriginalString);
    }
}
