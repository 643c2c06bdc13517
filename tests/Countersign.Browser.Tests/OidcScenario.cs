using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Claims;
using Countersign.Oidc;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Authentication.OpenIdConnect;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Playwright;

namespace Countersign.Browser.Tests;

/// <summary>
/// Third-party relying parties sign a user in through Countersign in Chromium, as the issue asks: the npm package
/// <c>openid-client</c> (OpenID Certified) in Node, and ASP.NET Core's own OpenID Connect handler. Each gets tokens,
/// calls userinfo and signs out through the end-session endpoint.
/// </summary>
public sealed class OidcScenario(BrowserFixture fixture) : IClassFixture<BrowserFixture>
{
    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private async Task<string> ClientAsync(string name, int port, string callback, string afterLogout)
    {
        await using var scope = fixture.Server.Services.CreateAsyncScope();
        var (client, secret, error) = await scope.ServiceProvider.GetRequiredService<OidcClients>().AddAsync(new ClientRequest(name,
            [$"http://localhost:{port}{callback}"], [$"http://localhost:{port}{afterLogout}"], Confidential: true, FirstParty: true), "test");
        Assert.True(client is not null, error.ToString());
        return secret!;
    }

    /// <summary>Waits for a URL; on a timeout says where the browser is and what its console said (a CSP refusal shows there).</summary>
    private static async Task ArriveOrSayWhereAsync(IPage page, Regex url, List<string> console)
    {
        try
        {
            await page.ArriveAsync(url, 20_000);
        }
        catch (Exception e) when (e is TimeoutException or PlaywrightException)
        {
            throw new Xunit.Sdk.XunitException($"not at {url} but {page.Url}: {string.Join(" | ", console)}");
        }
    }

    private static List<string> Console(IPage page)
    {
        var lines = new List<string>();
        page.Console += (_, message) => lines.Add(message.Text);
        return lines;
    }

    private static async Task SignInOnCountersignAsync(IPage page, string name)
    {
        await page.ArriveAsync(new Regex("/login"));
        await page.GetByLabel("Username").FillAsync(name);
        await page.GetByLabel("Password").FillAsync(BrowserFixture.Password);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in", Exact = true }).ClickAsync();
    }

    [Fact]
    public async Task A_user_signs_in_to_an_openid_client_app_and_out_again()
    {
        var name = await fixture.CreateUserAsync("rpjs", Accounts.Roles.Client);
        var port = FreePort();
        var client = "node-rp-" + Guid.NewGuid().ToString("N")[..6];
        var secret = await ClientAsync(client, port, "/callback", "/bye");
        using var rp = await NodeRelyingParty.StartAsync(fixture.Server.BaseAddress, client, secret, port);

        await using var context = await fixture.Browser.NewContextAsync();
        var page = await context.NewPageAsync();
        var console = Console(page);
        await page.GotoAsync($"http://localhost:{port}/login");
        await SignInOnCountersignAsync(page, name);
        await ArriveOrSayWhereAsync(page, new Regex("^" + Regex.Escape($"http://localhost:{port}/callback")), console);
        Assert.True(await page.Locator("#who").CountAsync() == 1, await page.Locator("main").InnerTextAsync());
        // The RP validated the id token (ES256 against the JWKS, nonce, issuer), called userinfo and refreshed.
        Assert.Equal(name, await page.Locator("#who").InnerTextAsync());
        Assert.Equal("pwd", await page.Locator("#amr").InnerTextAsync());
        Assert.Equal("yes", await page.Locator("#refreshed").InnerTextAsync());

        await page.Locator("#logout").ClickAsync();
        await page.ArriveAsync(new Regex("^" + Regex.Escape($"http://localhost:{port}/bye")));
        // Signed out of Countersign too: its account page asks for a sign-in again.
        await page.GotoAsync(fixture.Server.BaseAddress + "account");
        Assert.Contains("/login", page.Url, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_user_signs_in_to_an_aspnet_core_app_with_its_openid_connect_handler_and_out_again()
    {
        var name = await fixture.CreateUserAsync("rpnet", Accounts.Roles.Client);
        var port = FreePort();
        var client = "aspnet-rp-" + Guid.NewGuid().ToString("N")[..6];
        var secret = await ClientAsync(client, port, "/signin-oidc", "/signout-callback-oidc");
        await using var rp = await AspNetRelyingParty.StartAsync(fixture.Server.BaseAddress, client, secret, port);

        await using var context = await fixture.Browser.NewContextAsync();
        var page = await context.NewPageAsync();
        var console = Console(page);
        await page.GotoAsync($"http://localhost:{port}/");
        await SignInOnCountersignAsync(page, name);
        await ArriveOrSayWhereAsync(page, new Regex("^" + Regex.Escape($"http://localhost:{port}/") + "$"), console);
        Assert.Equal(name, await page.Locator("#who").InnerTextAsync());
        // The handler fetched userinfo (GetClaimsFromUserInfoEndpoint) and saved the tokens.
        Assert.Equal("yes", await page.Locator("#has-refresh").InnerTextAsync());

        await page.GotoAsync($"http://localhost:{port}/logout");
        await page.ArriveAsync(new Regex("^" + Regex.Escape($"http://localhost:{port}/signed-out") + "$"));
        await page.GotoAsync(fixture.Server.BaseAddress + "account");
        Assert.Contains("/login", page.Url, StringComparison.Ordinal);
    }

    /// <summary>tests/oidc-rp/rp.mjs under Node, restored by this project's build (npm ci).</summary>
    private sealed class NodeRelyingParty : IDisposable
    {
        private readonly Process _process;

        private NodeRelyingParty(Process process) => _process = process;

        public static async Task<NodeRelyingParty> StartAsync(Uri issuer, string client, string secret, int port)
        {
            var start = new ProcessStartInfo("node", Path.Combine(Countersign.Tests.Infrastructure.Repository.Root, "tests", "oidc-rp", "rp.mjs"))
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                Environment =
                {
                    ["COUNTERSIGN_ISSUER"] = issuer.ToString(), ["RP_CLIENT_ID"] = client, ["RP_CLIENT_SECRET"] = secret,
                    ["RP_PORT"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture),
                },
            };
            var process = Process.Start(start)!;
            var ready = process.StandardOutput.ReadLineAsync();
            if (await Task.WhenAny(ready, Task.Delay(TimeSpan.FromSeconds(30))) != ready || ready.Result?.StartsWith("listening", StringComparison.Ordinal) != true)
            {
                process.Kill();
                throw new InvalidOperationException("the openid-client RP did not start: " + await process.StandardError.ReadToEndAsync());
            }
            return new NodeRelyingParty(process);
        }

        public void Dispose()
        {
            _process.Kill(entireProcessTree: true);
            _process.Dispose();
        }
    }

    /// <summary>A minimal ASP.NET Core app with the framework's cookie + OpenID Connect handlers, configured as its docs show.</summary>
    private sealed class AspNetRelyingParty(WebApplication app) : IAsyncDisposable
    {
        public static async Task<AspNetRelyingParty> StartAsync(Uri issuer, string client, string secret, int port)
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.WebHost.UseUrls($"http://localhost:{port}");
            builder.Services.AddAuthentication(o =>
                {
                    o.DefaultScheme = CookieAuthenticationDefaults.AuthenticationScheme;
                    o.DefaultChallengeScheme = OpenIdConnectDefaults.AuthenticationScheme;
                })
                .AddCookie()
                .AddOpenIdConnect(o =>
                {
                    o.Authority = issuer.ToString();
                    o.RequireHttpsMetadata = false; // http://localhost in the test only
                    o.ClientId = client;
                    o.ClientSecret = secret;
                    o.ResponseType = "code";
                    o.UsePkce = true;
                    o.Scope.Add("profile");
                    o.Scope.Add("offline_access");
                    o.SaveTokens = true;
                    o.GetClaimsFromUserInfoEndpoint = true;
                    o.MapInboundClaims = false;
                    o.TokenValidationParameters.NameClaimType = "preferred_username";
                    o.SignedOutRedirectUri = "/signed-out";
                });
            builder.Services.AddAuthorization();
            var app = builder.Build();
            app.UseAuthentication();
            app.UseAuthorization();
            app.MapGet("/", async (HttpContext http) =>
            {
                var refresh = await http.GetTokenAsync("refresh_token");
                return Results.Content($"<!doctype html><main><h1 id=\"who\">{WebUtility.HtmlEncode(http.User.Identity!.Name)}</h1>"
                    + $"<p id=\"has-refresh\">{(refresh is null ? "no" : "yes")}</p></main>", "text/html");
            }).RequireAuthorization();
            app.MapGet("/logout", () => Results.SignOut(new AuthenticationProperties { RedirectUri = "/signed-out" },
                [CookieAuthenticationDefaults.AuthenticationScheme, OpenIdConnectDefaults.AuthenticationScheme]));
            app.MapGet("/signed-out", () => Results.Content("<!doctype html><main><h1 id=\"bye\">Signed out</h1></main>", "text/html"));
            await app.StartAsync();
            return new AspNetRelyingParty(app);
        }

        public async ValueTask DisposeAsync()
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }
}
