using System.Net;
using System.Text.Json;
using Countersign.Tests.Infrastructure;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Countersign.Tests.Oidc;

/// <summary>The OpenID Connect provider end to end over real sockets: every flow the issue names, and its refusals.</summary>
public abstract partial class OidcSuite<TServer>(TServer server) : IClassFixture<TServer>, IDisposable where TServer : TestServer
{
    private readonly OidcDriver _oidc = new(server);

    public void Dispose() => _oidc.Dispose();

    [Fact]
    public async Task Code_flow_with_pkce_signs_in_a_totp_user_and_its_tokens_say_so()
    {
        var user = await _oidc.Steps.TotpUserAsync();
        var client = await _oidc.ClientAsync();
        var pkce = OidcDriver.Pkce.New();
        var landing = await _oidc.AuthorizeAsync(OidcDriver.AuthorizeUrl(client, pkce, state: "state-42", nonce: "nonce-42"), user.Name, user.Secret);

        Assert.NotNull(landing.Callback);
        Assert.StartsWith(OidcDriver.RedirectUri, landing.Callback!.ToString(), StringComparison.Ordinal);
        Assert.Equal("state-42", landing.Query["state"]);
        // RFC 9207: the issuer in the authorization response, so a client talking to several providers cannot be mixed up.
        Assert.Equal(server.BaseAddress.ToString(), landing.Query["iss"]);

        var response = await _oidc.ExchangeAsync(client, landing.Query["code"], pkce);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var tokens = await response.Body();
        var idToken = tokens.GetProperty("id_token").GetString()!;
        var claims = await ValidatedAsync(idToken, client);
        Assert.Equal("nonce-42", claims["nonce"]);
        Assert.Equal(user.Name, claims["preferred_username"]);
        var amr = ((IEnumerable<object>)claims["amr"]).Select(a => a.ToString()).ToList();
        Assert.Contains("pwd", amr);
        Assert.Contains("otp", amr);
        Assert.Contains("mfa", amr);
        Assert.True(claims.ContainsKey("auth_time"));
        Assert.False(claims.ContainsKey("cs_uid"));

        var info = await _oidc.UserInfoAsync(tokens.GetProperty("access_token").GetString()!);
        Assert.Equal(HttpStatusCode.OK, info.StatusCode);
        var body = await info.Body();
        Assert.Equal(claims["sub"], body.GetProperty("sub").GetString());
        Assert.Equal(user.Name, body.GetProperty("preferred_username").GetString());
    }

    /// <summary>Verifies the id token as a relying party would: signature against the published JWKS (ES256), issuer, audience.</summary>
    private async Task<IDictionary<string, object>> ValidatedAsync(string jwt, string client)
    {
        var discovery = await (await _oidc.Back.GetAsync("/.well-known/openid-configuration")).Body();
        var jwks = new JsonWebKeySet(await _oidc.Back.GetStringAsync(new Uri(discovery.GetProperty("jwks_uri").GetString()!).PathAndQuery));
        var result = await new JsonWebTokenHandler().ValidateTokenAsync(jwt, new TokenValidationParameters
        {
            ValidIssuer = discovery.GetProperty("issuer").GetString(),
            ValidAudience = client,
            IssuerSigningKeys = jwks.GetSigningKeys(),
            ValidAlgorithms = [SecurityAlgorithms.EcdsaSha256],
        });
        Assert.True(result.IsValid, result.Exception?.Message);
        return result.Claims;
    }

    [Fact]
    public async Task Discovery_offers_the_code_flow_with_s256_only_and_the_api_jwks()
    {
        var discovery = await (await _oidc.Back.GetAsync("/.well-known/openid-configuration")).Body();
        Assert.Equal(["S256"], discovery.GetProperty("code_challenge_methods_supported").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(["code"], discovery.GetProperty("response_types_supported").EnumerateArray().Select(e => e.GetString()));
        var grants = discovery.GetProperty("grant_types_supported").EnumerateArray().Select(e => e.GetString()).ToList();
        Assert.DoesNotContain("implicit", grants);
        Assert.DoesNotContain("password", grants);
        Assert.True(discovery.GetProperty("authorization_response_iss_parameter_supported").GetBoolean());
        Assert.EndsWith("/.well-known/jwks.json", discovery.GetProperty("jwks_uri").GetString(), StringComparison.Ordinal);
        Assert.Contains("ES256", discovery.GetProperty("id_token_signing_alg_values_supported").EnumerateArray().Select(e => e.GetString()));
        Assert.True(discovery.TryGetProperty("pushed_authorization_request_endpoint", out _));
    }

    [Fact]
    public async Task Refresh_rotates_and_a_replayed_refresh_token_revokes_the_whole_authorization()
    {
        var user = await _oidc.Steps.RegisterAsync();
        var client = await _oidc.ClientAsync();
        var first = (await _oidc.TokensAsync(client, user)).GetProperty("refresh_token").GetString()!;

        var rotated = await _oidc.RefreshAsync(client, first);
        Assert.Equal(HttpStatusCode.OK, rotated.StatusCode);
        var second = (await rotated.Body()).GetProperty("refresh_token").GetString()!;
        Assert.NotEqual(first, second);

        // The first token again: refused, and everything it led to with it (RFC 9700 §4.14.2).
        var replay = await _oidc.RefreshAsync(client, first);
        Assert.Equal(HttpStatusCode.BadRequest, replay.StatusCode);
        Assert.Equal("invalid_grant", (await replay.Body()).GetProperty("error").GetString());
        var after = await _oidc.RefreshAsync(client, second);
        Assert.Equal(HttpStatusCode.BadRequest, after.StatusCode);
    }

    [Fact]
    public async Task Client_credentials_give_a_token_that_introspection_describes_until_it_is_revoked()
    {
        var machine = await _oidc.ClientAsync(clientCredentials: true);
        var issued = await _oidc.TokenAsync(machine, ("grant_type", "client_credentials"));
        Assert.Equal(HttpStatusCode.OK, issued.StatusCode);
        var body = await issued.Body();
        var token = body.GetProperty("access_token").GetString()!;
        Assert.False(body.TryGetProperty("refresh_token", out _));
        Assert.Equal(machine, OidcDriver.Claims(token).GetProperty("sub").GetString());

        var active = await _oidc.PostFormAsync("/connect/introspect", machine, ("token", token));
        Assert.True(active.GetProperty("active").GetBoolean());
        Assert.Equal(machine, active.GetProperty("client_id").GetString());

        var revoked = await _oidc.PostFormAsync("/connect/revoke", machine, ("token", token));
        var inactive = await _oidc.PostFormAsync("/connect/introspect", machine, ("token", token));
        Assert.False(inactive.GetProperty("active").GetBoolean());

        // A public client may not ask for client credentials at all.
        var publicClient = await _oidc.ClientAsync(confidential: false);
        var refused = await _oidc.TokenAsync(publicClient, ("grant_type", "client_credentials"));
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
    }

    [Fact]
    public async Task A_revoked_refresh_token_stops_working()
    {
        var user = await _oidc.Steps.RegisterAsync();
        var client = await _oidc.ClientAsync();
        var refresh = (await _oidc.TokensAsync(client, user)).GetProperty("refresh_token").GetString()!;
        await _oidc.PostFormAsync("/connect/revoke", client, ("token", refresh), ("token_type_hint", "refresh_token"));
        Assert.Equal(HttpStatusCode.BadRequest, (await _oidc.RefreshAsync(client, refresh)).StatusCode);
    }

    [Fact]
    public async Task End_session_ends_the_countersign_session_and_the_applications_refresh_tokens()
    {
        var user = await _oidc.Steps.RegisterAsync();
        var client = await _oidc.ClientAsync();
        var tokens = await _oidc.TokensAsync(client, user);
        var idToken = tokens.GetProperty("id_token").GetString()!;

        var logout = await _oidc.Browser.Client.GetAsync("/connect/logout?" + string.Join('&',
            $"id_token_hint={Uri.EscapeDataString(idToken)}", $"post_logout_redirect_uri={Uri.EscapeDataString("https://app.example.test/bye")}", "state=bye-1"));
        Assert.Equal(HttpStatusCode.Redirect, logout.StatusCode);
        Assert.StartsWith("https://app.example.test/bye", logout.Headers.Location!.ToString(), StringComparison.Ordinal);
        Assert.Contains("state=bye-1", logout.Headers.Location!.Query, StringComparison.Ordinal);

        // The browser's session is over (the account page sends it to sign in) and so is the application's grant.
        Assert.Equal(HttpStatusCode.Redirect, (await _oidc.Browser.Client.GetAsync("/account")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await _oidc.RefreshAsync(client, tokens.GetProperty("refresh_token").GetString()!)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await _oidc.UserInfoAsync(tokens.GetProperty("access_token").GetString()!)).StatusCode);
    }

    [Fact]
    public async Task Logout_without_an_id_token_hint_asks_the_user_first()
    {
        var user = await _oidc.Steps.RegisterAsync();
        var client = await _oidc.ClientAsync();
        await _oidc.TokensAsync(client, user);
        var logout = await _oidc.Browser.Client.GetAsync("/connect/logout?client_id=" + client);
        Assert.Equal(HttpStatusCode.Redirect, logout.StatusCode);
        Assert.StartsWith("/connect/logout/confirm", logout.Headers.Location!.ToString(), StringComparison.Ordinal);
        // Still signed in until the user says so.
        Assert.Equal(HttpStatusCode.OK, (await _oidc.Browser.Client.GetAsync("/account")).StatusCode);
        var confirm = await _oidc.Browser.TokenAsync(logout.Headers.Location!.ToString());
        var done = await _oidc.Browser.PostFormAsync("/connect/logout", confirm, ("client_id", client));
        Assert.Equal(HttpStatusCode.Redirect, done.StatusCode);
        Assert.Equal(HttpStatusCode.Redirect, (await _oidc.Browser.Client.GetAsync("/account")).StatusCode);
    }

    [Fact]
    public async Task Consent_is_asked_once_remembered_and_revoked_from_the_account_page()
    {
        var user = await _oidc.Steps.RegisterAsync();
        var client = await _oidc.ClientAsync(firstParty: false);
        var pkce = OidcDriver.Pkce.New();
        var consent = await _oidc.AuthorizeAsync(OidcDriver.AuthorizeUrl(client, pkce, "openid profile"), user);
        Assert.StartsWith("/consent", consent.PagePath, StringComparison.Ordinal);
        Assert.Contains("data-scope=\"profile\"", consent.Page, StringComparison.Ordinal);
        var landing = await _oidc.ConsentAsync(consent, accept: true);
        Assert.NotNull(landing.Callback);
        Assert.True(landing.Query.ContainsKey("code"));

        // Remembered: straight back with a code, no page.
        var again = await _oidc.FollowAsync(OidcDriver.AuthorizeUrl(client, OidcDriver.Pkce.New(), "openid profile"));
        Assert.NotNull(again.Callback);
        Assert.True(again.Query.ContainsKey("code"));
        // More scopes than consented to: asked again.
        var more = await _oidc.FollowAsync(OidcDriver.AuthorizeUrl(client, OidcDriver.Pkce.New(), "openid profile email"));
        Assert.StartsWith("/consent", more.PagePath, StringComparison.Ordinal);

        // Revoked on the account page: the page lists it, and the next request asks again.
        var account = await _oidc.Browser.Client.GetStringAsync("/account");
        Assert.Contains("Connected applications", account, StringComparison.Ordinal);
        var id = System.Text.RegularExpressions.Regex.Match(account, "name=\"AuthorizationId\" value=\"([^\"]+)\"").Groups[1].Value;
        Assert.NotEmpty(id);
        var revoke = await _oidc.Browser.PostFormAsync("/account?handler=RevokeApplication", BrowserSession.Token(account)!, ("AuthorizationId", id));
        Assert.True(revoke.StatusCode is HttpStatusCode.OK or HttpStatusCode.Redirect);
        var asked = await _oidc.FollowAsync(OidcDriver.AuthorizeUrl(client, OidcDriver.Pkce.New(), "openid profile"));
        Assert.StartsWith("/consent", asked.PagePath, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Declining_consent_sends_access_denied_back_to_the_application()
    {
        var user = await _oidc.Steps.RegisterAsync();
        var client = await _oidc.ClientAsync(firstParty: false);
        var consent = await _oidc.AuthorizeAsync(OidcDriver.AuthorizeUrl(client, OidcDriver.Pkce.New(), "openid"), user);
        var landing = await _oidc.ConsentAsync(consent, accept: false);
        Assert.Equal("access_denied", landing.Error);
        Assert.Equal("st-1", landing.Query["state"]);
    }

    [Fact]
    public async Task Pairwise_subjects_are_stable_per_client_and_differ_across_clients()
    {
        var user = await _oidc.Steps.RegisterAsync();
        var a = await _oidc.ClientAsync(pairwise: true, redirectUri: "https://one.example.test/cb");
        var b = await _oidc.ClientAsync(pairwise: true, redirectUri: "https://two.example.test/cb");
        var plain = await _oidc.ClientAsync();
        async Task<string> Sub(string client, string redirect)
        {
            var pkce = OidcDriver.Pkce.New();
            var landing = await _oidc.AuthorizeAsync(OidcDriver.AuthorizeUrl(client, pkce, redirectUri: redirect), user);
            var response = await _oidc.TokenAsync(client, ("grant_type", "authorization_code"), ("code", landing.Query["code"]),
                ("redirect_uri", redirect), ("code_verifier", pkce.Verifier));
            return OidcDriver.Claims((await response.Body()).GetProperty("id_token").GetString()!).GetProperty("sub").GetString()!;
        }
        var subA = await Sub(a, "https://one.example.test/cb");
        Assert.Equal(subA, await Sub(a, "https://one.example.test/cb"));
        var subB = await Sub(b, "https://two.example.test/cb");
        var subPlain = await Sub(plain, OidcDriver.RedirectUri);
        Assert.NotEqual(subA, subB);
        Assert.NotEqual(subA, subPlain);
        Assert.True(Guid.TryParse(subPlain, out _));
        Assert.False(Guid.TryParse(subA, out _));
    }

    [Fact]
    public async Task Missing_or_plain_pkce_is_refused_for_every_client()
    {
        var user = await _oidc.Steps.RegisterAsync();
        foreach (var confidential in new[] { true, false })
        {
            var client = await _oidc.ClientAsync(confidential: confidential);
            var missing = await _oidc.AuthorizeAsync(OidcDriver.AuthorizeUrl(client, pkce: null), user);
            Assert.Equal("invalid_request", missing.PageError);
            var plain = await _oidc.FollowAsync(OidcDriver.AuthorizeUrl(client, pkce: null,
                extra: [("code_challenge", "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqr"), ("code_challenge_method", "plain")]));
            Assert.Equal("invalid_request", plain.PageError);
        }
    }

    [Theory]
    [InlineData("https://app.example.test/callback/")]
    [InlineData("https://app.example.test/callback/../evil")]
    [InlineData("https://app.example.test/callbackx")]
    [InlineData("https://app.example.test/callback?x=1")]
    [InlineData("https://evil.example.test/callback")]
    [InlineData("https://app.example.test.evil.test/callback")]
    [InlineData("http://app.example.test/callback")]
    public async Task A_redirect_uri_that_is_not_the_registered_one_is_refused_without_a_redirect(string redirect)
    {
        var client = await _oidc.ClientAsync();
        var response = await _oidc.Browser.Client.GetAsync(OidcDriver.AuthorizeUrl(client, OidcDriver.Pkce.New(), redirectUri: redirect));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Null(response.Headers.Location);
    }

    [Fact]
    public async Task A_reused_code_is_refused_and_revokes_the_tokens_it_gave()
    {
        var user = await _oidc.Steps.RegisterAsync();
        var client = await _oidc.ClientAsync();
        var pkce = OidcDriver.Pkce.New();
        var landing = await _oidc.AuthorizeAsync(OidcDriver.AuthorizeUrl(client, pkce), user);
        var code = landing.Query["code"];
        var first = await (await _oidc.ExchangeAsync(client, code, pkce)).Body();

        var second = await _oidc.ExchangeAsync(client, code, pkce);
        Assert.Equal(HttpStatusCode.BadRequest, second.StatusCode);
        Assert.Equal("invalid_grant", (await second.Body()).GetProperty("error").GetString());
        // RFC 6749 §4.1.2: the tokens issued for that code are revoked.
        Assert.Equal(HttpStatusCode.BadRequest, (await _oidc.RefreshAsync(client, first.GetProperty("refresh_token").GetString()!)).StatusCode);
        var introspected = await _oidc.PostFormAsync("/connect/introspect", client, ("token", first.GetProperty("access_token").GetString()!));
        Assert.False(introspected.GetProperty("active").GetBoolean());
    }

    [Fact]
    public async Task Prompt_login_asks_a_signed_in_user_to_sign_in_again()
    {
        var user = await _oidc.Steps.RegisterAsync();
        var client = await _oidc.ClientAsync();
        await _oidc.TokensAsync(client, user);
        var again = await _oidc.FollowAsync(OidcDriver.AuthorizeUrl(client, OidcDriver.Pkce.New(), extra: [("prompt", "login")]));
        Assert.StartsWith("/login", again.PagePath, StringComparison.Ordinal);
        var landing = await _oidc.SignInAsync(again, user);
        Assert.True(landing.Query.ContainsKey("code"));
        // max_age=0 likewise; prompt=none without a session: login_required, not a page.
        Assert.StartsWith("/login", (await _oidc.FollowAsync(OidcDriver.AuthorizeUrl(client, OidcDriver.Pkce.New(), extra: [("max_age", "0")]))).PagePath,
            StringComparison.Ordinal);
        _oidc.NewBrowser();
        var none = await _oidc.FollowAsync(OidcDriver.AuthorizeUrl(client, OidcDriver.Pkce.New(), extra: [("prompt", "none")]));
        Assert.Equal("login_required", none.Error);
    }

    [Fact]
    public async Task A_client_that_requires_mfa_refuses_a_password_only_sign_in_and_accepts_totp()
    {
        var client = await _oidc.ClientAsync(requireMfa: true);
        var plain = await _oidc.Steps.RegisterAsync();
        var refused = await _oidc.AuthorizeAsync(OidcDriver.AuthorizeUrl(client, OidcDriver.Pkce.New()), plain);
        Assert.Equal("access_denied", refused.Error);

        _oidc.NewBrowser();
        var user = await _oidc.Steps.TotpUserAsync();
        var landing = await _oidc.AuthorizeAsync(OidcDriver.AuthorizeUrl(client, OidcDriver.Pkce.New()), user.Name, user.Secret);
        Assert.True(landing.Query.ContainsKey("code"));
    }

    [Fact]
    public async Task A_client_that_requires_par_refuses_a_plain_request_and_accepts_a_pushed_one()
    {
        var user = await _oidc.Steps.RegisterAsync();
        var client = await _oidc.ClientAsync(requirePar: true);
        var pkce = OidcDriver.Pkce.New();
        var plain = await _oidc.AuthorizeAsync(OidcDriver.AuthorizeUrl(client, pkce), user);
        Assert.Equal("invalid_request", plain.PageError);

        var pushed = await _oidc.PostFormAsync("/connect/par", client, ("response_type", "code"), ("redirect_uri", OidcDriver.RedirectUri),
            ("scope", "openid"), ("state", "par-1"), ("code_challenge", pkce.Challenge), ("code_challenge_method", "S256"));
        var requestUri = pushed.GetProperty("request_uri").GetString()!;
        // Through the login page and back: the pushed request survives the detour.
        var landing = await _oidc.AuthorizeAsync($"/connect/authorize?client_id={client}&request_uri={Uri.EscapeDataString(requestUri)}", user);
        Assert.Equal("par-1", landing.Query["state"]);
        var tokens = await _oidc.ExchangeAsync(client, landing.Query["code"], pkce);
        Assert.Equal(HttpStatusCode.OK, tokens.StatusCode);
    }

    [Fact]
    public async Task A_disabled_account_loses_its_applications_at_the_next_refresh()
    {
        var user = await _oidc.Steps.RegisterAsync();
        var client = await _oidc.ClientAsync();
        var refresh = (await _oidc.TokensAsync(client, user)).GetProperty("refresh_token").GetString()!;
        await using (var scope = server.Services.CreateAsyncScope())
        {
            var accounts = scope.ServiceProvider.GetRequiredService<Accounts.AccountAdmin>();
            await accounts.SetDisabledAsync((await accounts.FindAsync(user))!, true, "test");
        }
        Assert.Equal(HttpStatusCode.BadRequest, (await _oidc.RefreshAsync(client, refresh)).StatusCode);
    }
}

public abstract partial class OidcSuite<TServer>
{
    [Fact]
    public async Task The_clients_commands_add_show_rotate_and_remove_and_every_change_is_audited()
    {
        var name = "cli" + Guid.NewGuid().ToString("N")[..8];
        var (exit, output, error) = await CliRunner.RunAsync(server.ConfigureBuilder, "clients", "add", name, "--redirect-uri", "https://grafana.example.test/login/generic_oauth",
            "--confidential", "--pairwise", "--require-mfa");
        Assert.True(exit == 0, error);
        var secret = System.Text.RegularExpressions.Regex.Match(output, @"Client secret \(shown once, keep it secret\): (\S+)").Groups[1].Value;
        Assert.Equal(43, secret.Length);

        var shown = await CliRunner.RunAsync(server.ConfigureBuilder, "clients", "show", name);
        Assert.Contains("confidential", shown.Output, StringComparison.Ordinal);
        Assert.Contains("pairwise,require-mfa", shown.Output, StringComparison.Ordinal);
        Assert.Contains(name, (await CliRunner.RunAsync(server.ConfigureBuilder, "clients", "list")).Output, StringComparison.Ordinal);

        // The secret is stored hashed: it is nowhere in the database's row.
        await using (var scope = server.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<Storage.CountersignDb>();
            var row = await Microsoft.EntityFrameworkCore.EntityFrameworkQueryableExtensions.SingleAsync(
                db.Set<OpenIddict.EntityFrameworkCore.Models.OpenIddictEntityFrameworkCoreApplication>(), a => a.ClientId == name);
            Assert.DoesNotContain(secret, row.ClientSecret ?? "", StringComparison.Ordinal);
        }

        _oidc.Secrets[name] = secret;
        var rotated = await CliRunner.RunAsync(server.ConfigureBuilder, "clients", "rotate-secret", name);
        Assert.Equal(0, rotated.Exit);
        // The old secret no longer authenticates the client.
        var refused = await _oidc.PostFormAsync("/connect/introspect", name, ("token", "x"));
        Assert.Equal("invalid_client", refused.GetProperty("error").GetString());

        Assert.Equal(0, (await CliRunner.RunAsync(server.ConfigureBuilder, "clients", "remove", name)).Exit);
        var gone = await CliRunner.RunAsync(server.ConfigureBuilder, "clients", "show", name);
        Assert.NotEqual(0, gone.Exit);
        Assert.Contains("No client has that name", gone.Error, StringComparison.Ordinal);

        var bad = await CliRunner.RunAsync(server.ConfigureBuilder, "clients", "add", "wild" + name, "--redirect-uri", "https://*.example.test/cb");
        Assert.NotEqual(0, bad.Exit);
        Assert.Contains("wildcard", bad.Error, StringComparison.Ordinal);

        await using (var scope = server.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<Storage.CountersignDb>();
            var actions = db.AuditEvents.Where(e => e.Detail != null && e.Detail.Contains(name)).Select(e => e.Action).ToList();
            Assert.Contains(Audit.AuditActions.OidcClientAdded, actions);
            Assert.Contains(Audit.AuditActions.OidcClientSecretRotated, actions);
            Assert.Contains(Audit.AuditActions.OidcClientRemoved, actions);
        }
    }

    /// <summary>
    /// Random and hostile parameters at every endpoint we added: never a 500, never a redirect to a URI that is not registered.
    /// </summary>
    [Fact]
    public async Task Fuzzed_requests_to_the_provider_never_fail_on_the_server_nor_redirect_elsewhere()
    {
        var client = await _oidc.ClientAsync();
        var random = new Random(1515);
        string[] junk = ["", "%00", "\u0000", new string('a', 5000), "https://evil.test/", "javascript:alert(1)", "../../", "S256", "plain", "code id_token",
            "openid" + new string(' ', 300), "\"'><script>", "urn:ietf:params:oauth:request_uri:x", client, OidcDriver.RedirectUri, "-1", "99999999999999999999"];
        string[] names = ["client_id", "response_type", "redirect_uri", "scope", "state", "nonce", "code_challenge", "code_challenge_method", "prompt",
            "max_age", "request_uri", "request", "response_mode", "acr_values", "id_token_hint", "post_logout_redirect_uri", "grant_type", "code",
            "refresh_token", "client_secret", "token", "cs_login_after", "cs_consent"];
        string[] paths = ["/connect/authorize", "/connect/token", "/connect/par", "/connect/userinfo", "/connect/introspect", "/connect/revoke", "/connect/logout",
            "/consent", "/connect/logout/confirm"];
        for (var i = 0; i < 300; i++)
        {
            var fields = Enumerable.Range(0, random.Next(1, 8)).Select(_ => KeyValuePair.Create(names[random.Next(names.Length)], junk[random.Next(junk.Length)]))
                .DistinctBy(f => f.Key).ToList();
            var path = paths[random.Next(paths.Length)];
            using var request = random.Next(2) == 0
                ? new HttpRequestMessage(HttpMethod.Get, Microsoft.AspNetCore.WebUtilities.QueryHelpers.AddQueryString(path, fields!))
                : new HttpRequestMessage(HttpMethod.Post, path) { Content = new FormUrlEncodedContent(fields) };
            var response = await _oidc.Browser.Client.SendAsync(request);
            Assert.True((int)response.StatusCode < 500, $"{request.Method} {request.RequestUri} {string.Join('&', fields)} → {(int)response.StatusCode}");
            if (response.Headers.Location is { IsAbsoluteUri: true } location && location.Authority != server.BaseAddress.Authority)
            {
                Assert.StartsWith(OidcDriver.RedirectUri, location.ToString(), StringComparison.Ordinal);
            }
        }
    }
}

public sealed class SqliteOidcTests(SqliteServer server) : OidcSuite<SqliteServer>(server);

public sealed class PostgresOidcTests(PostgresServer server) : OidcSuite<PostgresServer>(server);
