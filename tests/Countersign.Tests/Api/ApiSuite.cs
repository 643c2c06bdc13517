using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Countersign.Accounts;
using Countersign.Audit;
using Countersign.Cli;
using Countersign.Secrets;
using Countersign.Storage;
using Countersign.Tests.Infrastructure;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.EntityFrameworkCore;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Countersign.Tests.Api;

/// <summary>What every HTTP suite needs: a client for a running server and a few steps in its words.</summary>
public abstract class ApiSuiteBase(TestServer server)
{
    protected const string Password = "violet Anchor 7 drifting kites";

    protected TestServer Server { get; } = server;

    protected HttpClient Client { get; } = server.CreateClient();

    protected static string NewName() => "user" + Guid.NewGuid().ToString("N")[..10];

    protected async Task<string> RegisterAsync(string? name = null, string password = Password)
    {
        name ??= NewName();
        var response = await Client.PostJson("/api/accounts", new { username = name, password });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return name;
    }

    protected Task<HttpResponseMessage> Login(string name, string password) =>
        Client.PostJson("/api/auth/login", new { username = name, password });

    protected async Task<JsonElement> LoginAsync(string name, string password = Password)
    {
        var response = await Login(name, password);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Body();
    }

    /// <summary>A registered account given a role, as an administrator would.</summary>
    protected async Task<string> UserWithRoleAsync(string role)
    {
        var name = await RegisterAsync();
        await WithScope(async sp =>
        {
            var accounts = sp.GetRequiredService<AccountAdmin>();
            await accounts.AddRoleAsync((await accounts.FindAsync(name))!, role, "test");
            return 0;
        });
        return name;
    }

    protected async Task<string> TokenAsync(string name) => (await LoginAsync(name)).GetProperty("access_token").GetString()!;

    protected static HttpRequestMessage WithToken(HttpMethod method, string path, string token) =>
        new(method, path) { Headers = { Authorization = new AuthenticationHeaderValue("Bearer", token) } };

    /// <summary>The same with a JSON body, snake_case as the API speaks it.</summary>
    protected static HttpRequestMessage WithToken(HttpMethod method, string path, string token, object body)
    {
        var request = WithToken(method, path, token);
        request.Content = new StringContent(JsonSerializer.Serialize(body, Json.Options), System.Text.Encoding.UTF8, "application/json");
        return request;
    }

    /// <summary>An advisor and a client, each signed in, paired by an administrator through the API.</summary>
    protected async Task<PairedUsers> PairAsync()
    {
        var admin = await TokenAsync(await UserWithRoleAsync(Roles.Admin));
        var advisor = await UserWithRoleAsync(Roles.Advisor);
        var client = await UserWithRoleAsync(Roles.Client);
        var created = await Client.SendAsync(WithToken(HttpMethod.Post, "/api/admin/pairs", admin, new { advisor, client }));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        return new(advisor, client, await TokenAsync(advisor), await TokenAsync(client), (await created.Body()).GetProperty("id").GetString()!);
    }

    protected sealed record PairedUsers(string Advisor, string Client, string AdvisorToken, string ClientToken, string PairId);

    protected async Task<T> WithScope<T>(Func<IServiceProvider, Task<T>> work)
    {
        await using var scope = Server.Services.CreateAsyncScope();
        return await work(scope.ServiceProvider);
    }
}

/// <summary>
/// The HTTP API's behaviour, written once and run against each database (SQLite with the in-memory
/// store, PostgreSQL with Redis) by the subclasses at the bottom of this file.
/// </summary>
public abstract class ApiSuite(TestServer server) : ApiSuiteBase(server)
{
    [Fact]
    public async Task Register_creates_an_account_with_a_normalised_username()
    {
        var raw = "  Ｍａｒｉｅ" + Guid.NewGuid().ToString("N")[..6] + " ";
        var response = await Client.PostJson("/api/accounts", new { username = raw, password = Password });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var body = await response.Body();
        Assert.Equal(raw.Trim().Normalize(NormalizationForm.FormKC), body.GetProperty("username").GetString());
        Assert.StartsWith("Marie", body.GetProperty("username").GetString(), StringComparison.Ordinal);

        // Case and width variants name the same account.
        var again = await Client.PostJson("/api/accounts", new { username = raw.Trim().ToUpperInvariant(), password = Password });
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        Assert.Equal("username_taken", (await again.Body()).GetProperty("error").GetString());
        await LoginAsync(body.GetProperty("username").GetString()!.ToLowerInvariant());
    }

    [Fact]
    public async Task Register_lists_every_policy_failure_at_once()
    {
        var response = await Client.PostJson("/api/accounts", new { username = "has space", password = "abc" });
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var body = await response.Body();
        Assert.Equal("policy_violation", body.GetProperty("error").GetString());
        var codes = body.GetProperty("codes").EnumerateArray().Select(c => c.GetString()).ToList();
        Assert.Contains("InvalidUserName", codes);
        Assert.Contains("PasswordTooShort", codes);
        Assert.Contains("PasswordWeak", codes);
        Assert.True(body.GetProperty("errors").TryGetProperty("password", out _));
    }

    [Theory]
    [InlineData("password123", "PasswordCommon")]
    [InlineData("aaaaaaaaaaaa", "PasswordWeak")]
    public async Task Register_refuses_common_and_guessable_passwords_with_the_reason(string password, string code)
    {
        var response = await Client.PostJson("/api/accounts", new { username = NewName(), password });
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(code, (await response.Body()).GetProperty("codes").EnumerateArray().Select(c => c.GetString()));
    }

    [Fact]
    public async Task Register_accepts_a_128_character_password_without_truncating_it()
    {
        var longPassword = string.Concat(Enumerable.Range(0, 8).Select(_ => Guid.NewGuid().ToString("N")));
        Assert.Equal(256, longPassword.Length);
        var tooLong = await Client.PostJson("/api/accounts", new { username = NewName(), password = longPassword });
        Assert.Equal(HttpStatusCode.BadRequest, tooLong.StatusCode);

        var password = longPassword[..128];
        var name = await RegisterAsync(password: password);
        await LoginAsync(name, password);
        // Differs only in the last character: would pass if anything truncated it.
        var wrong = await Client.PostJson("/api/auth/login", new { username = name, password = password[..127] + (password[127] == 'a' ? 'b' : 'a') });
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
    }

    [Fact]
    public async Task Login_returns_an_es256_access_token_with_the_documented_claims()
    {
        var name = await RegisterAsync();
        var tokens = await LoginAsync(name);
        Assert.Equal("Bearer", tokens.GetProperty("token_type").GetString());
        Assert.Equal(300, tokens.GetProperty("expires_in").GetInt32());
        Assert.True(Base64UrlEncoder.DecodeBytes(tokens.GetProperty("refresh_token").GetString()!).Length >= 32);

        var jwt = new JsonWebToken(tokens.GetProperty("access_token").GetString());
        Assert.Equal("ES256", jwt.Alg);
        Assert.False(string.IsNullOrEmpty(jwt.Kid));
        foreach (var claim in new[] { "sub", "name", "roles", "sid", "iat", "exp", "iss", "aud", "jti" })
        {
            Assert.True(jwt.TryGetPayloadValue<object>(claim, out _), $"claim {claim} is missing");
        }
        Assert.Equal(name, jwt.GetClaim("name").Value);
        Assert.Equal(300, (jwt.ValidTo - jwt.IssuedAt).TotalSeconds);
    }

    [Fact]
    public async Task Login_failures_are_identical_for_unknown_user_wrong_password_and_disabled_account()
    {
        var known = await RegisterAsync();
        var disabled = await RegisterAsync();
        await WithScope(async sp =>
        {
            var admin = sp.GetRequiredService<AccountAdmin>();
            await admin.SetDisabledAsync((await admin.FindAsync(disabled))!, true, "test");
            return 0;
        });

        var answers = new List<(HttpStatusCode Status, string Body)>();
        foreach (var (name, password) in new[] { (NewName(), Password), (known, Password + "x"), (disabled, Password) })
        {
            var response = await Client.PostJson("/api/auth/login", new { username = name, password });
            var body = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(await response.Content.ReadAsStringAsync())!;
            body.Remove("trace_id");
            answers.Add((response.StatusCode, JsonSerializer.Serialize(body)));
        }
        Assert.All(answers, a => Assert.Equal(HttpStatusCode.Unauthorized, a.Status));
        Assert.Single(answers.Select(a => a.Body).Distinct());
        Assert.Contains("\"error\":\"invalid_credentials\"", answers[0].Body, StringComparison.Ordinal);

        // Only the audit log knows which it was.
        var reasons = await WithScope(sp => sp.GetRequiredService<CountersignDb>().AuditEvents
            .Where(e => e.Action == AuditActions.LoginFailed && (e.Username == known || e.Username == disabled))
            .Select(e => e.Detail).ToListAsync());
        Assert.Contains(reasons, r => r!.Contains("wrong_password", StringComparison.Ordinal));
        Assert.Contains(reasons, r => r!.Contains("disabled", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Me_needs_a_valid_token_and_returns_the_account()
    {
        Assert.Equal(HttpStatusCode.Unauthorized, (await Client.GetAsync("/api/me")).StatusCode);
        var bogus = await Client.SendAsync(WithToken(HttpMethod.Get, "/api/me", "eyJhbGciOiJub25lIn0.e30."));
        Assert.Equal(HttpStatusCode.Unauthorized, bogus.StatusCode);

        var name = await RegisterAsync();
        var tokens = await LoginAsync(name);
        var me = await Client.SendAsync(WithToken(HttpMethod.Get, "/api/me", tokens.GetProperty("access_token").GetString()!));
        Assert.Equal(HttpStatusCode.OK, me.StatusCode);
        Assert.Equal(name, (await me.Body()).GetProperty("username").GetString());
    }

    [Fact]
    public async Task Refresh_rotates_the_pair_and_the_old_token_stops_working()
    {
        var tokens = await LoginAsync(await RegisterAsync());
        var first = tokens.GetProperty("refresh_token").GetString()!;
        var response = await Client.PostJson("/api/auth/refresh", new { refresh_token = first });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var second = (await response.Body()).GetProperty("refresh_token").GetString()!;
        Assert.NotEqual(first, second);

        var third = await Client.PostJson("/api/auth/refresh", new { refresh_token = second });
        Assert.Equal(HttpStatusCode.OK, third.StatusCode);
        var unknown = await Client.PostJson("/api/auth/refresh", new { refresh_token = Base64UrlEncoder.Encode(new byte[32]) });
        Assert.Equal(HttpStatusCode.Unauthorized, unknown.StatusCode);
        Assert.Equal("invalid_grant", (await unknown.Body()).GetProperty("error").GetString());
    }

    [Fact]
    public async Task Refresh_token_reuse_revokes_the_family_and_is_audited()
    {
        var name = await RegisterAsync();
        var tokens = await LoginAsync(name);
        var first = tokens.GetProperty("refresh_token").GetString()!;
        var rotated = await (await Client.PostJson("/api/auth/refresh", new { refresh_token = first })).Body();
        var current = rotated.GetProperty("refresh_token").GetString()!;

        var replay = await Client.PostJson("/api/auth/refresh", new { refresh_token = first });
        Assert.Equal(HttpStatusCode.Unauthorized, replay.StatusCode);

        // Every token of that login is dead now, including the newest one and its access token.
        Assert.Equal(HttpStatusCode.Unauthorized, (await Client.PostJson("/api/auth/refresh", new { refresh_token = current })).StatusCode);
        var me = await Client.SendAsync(WithToken(HttpMethod.Get, "/api/me", rotated.GetProperty("access_token").GetString()!));
        Assert.Equal(HttpStatusCode.Unauthorized, me.StatusCode);
        Assert.True(await WithScope(sp => sp.GetRequiredService<CountersignDb>().AuditEvents
            .AnyAsync(e => e.Action == AuditActions.RefreshReuseDetected && e.Username == name)));
    }

    [Fact]
    public async Task Concurrent_refreshes_of_one_token_let_exactly_one_win()
    {
        var tokens = await LoginAsync(await RegisterAsync());
        var token = tokens.GetProperty("refresh_token").GetString()!;
        using var start = new ManualResetEventSlim();
        var attempts = Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
        {
            start.Wait();
            return await Client.PostJson("/api/auth/refresh", new { refresh_token = token });
        })).ToList();
        start.Set();
        var responses = await Task.WhenAll(attempts);
        var winner = Assert.Single(responses, r => r.StatusCode == HttpStatusCode.OK);
        Assert.All(responses.Where(r => r != winner), r => Assert.Equal(HttpStatusCode.Unauthorized, r.StatusCode));
        // The losers presented a token someone else exchanged: reuse, so the winner's new token is dead too.
        var rotated = (await winner.Body()).GetProperty("refresh_token").GetString();
        Assert.Equal(HttpStatusCode.Unauthorized, (await Client.PostJson("/api/auth/refresh", new { refresh_token = rotated })).StatusCode);
    }

    [Fact]
    public async Task Logout_revokes_the_family()
    {
        var tokens = await LoginAsync(await RegisterAsync());
        var refresh = tokens.GetProperty("refresh_token").GetString()!;
        Assert.Equal(HttpStatusCode.NoContent, (await Client.PostJson("/api/auth/logout", new { refresh_token = refresh })).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await Client.PostJson("/api/auth/refresh", new { refresh_token = refresh })).StatusCode);
        var me = await Client.SendAsync(WithToken(HttpMethod.Get, "/api/me", tokens.GetProperty("access_token").GetString()!));
        Assert.Equal(HttpStatusCode.Unauthorized, me.StatusCode);
        // Unknown tokens get the same 204: logout reveals nothing.
        Assert.Equal(HttpStatusCode.NoContent, (await Client.PostJson("/api/auth/logout", new { refresh_token = "nope" })).StatusCode);
    }

    [Fact]
    public async Task Sessions_are_listed_and_one_can_be_revoked()
    {
        var name = await RegisterAsync();
        var a = await LoginAsync(name);
        var b = await LoginAsync(name);
        var tokenA = a.GetProperty("access_token").GetString()!;
        var list = await (await Client.SendAsync(WithToken(HttpMethod.Get, "/api/me/sessions", tokenA))).Body();
        Assert.Equal(2, list.GetArrayLength());
        Assert.Single(list.EnumerateArray(), s => s.GetProperty("current").GetBoolean());
        Assert.All(list.EnumerateArray(), s => Assert.Equal("127.0.0.1", s.GetProperty("client_ip").GetString()));

        var other = list.EnumerateArray().Single(s => !s.GetProperty("current").GetBoolean()).GetProperty("id").GetString();
        var revoke = await Client.SendAsync(WithToken(HttpMethod.Delete, $"/api/me/sessions/{other}", tokenA));
        Assert.Equal(HttpStatusCode.NoContent, revoke.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await Client.PostJson("/api/auth/refresh", new { refresh_token = b.GetProperty("refresh_token").GetString() })).StatusCode);
        Assert.Equal(1, (await (await Client.SendAsync(WithToken(HttpMethod.Get, "/api/me/sessions", tokenA))).Body()).GetArrayLength());

        // Someone else's session id is simply not found.
        var stranger = await LoginAsync(await RegisterAsync());
        var theirs = await Client.SendAsync(WithToken(HttpMethod.Delete, $"/api/me/sessions/{new JsonWebToken(tokenA).GetClaim("sid").Value}",
            stranger.GetProperty("access_token").GetString()!));
        Assert.Equal(HttpStatusCode.NotFound, theirs.StatusCode);
    }

    [Fact]
    public async Task Jwks_verifies_an_access_token()
    {
        var tokens = await LoginAsync(await RegisterAsync());
        var jwks = new JsonWebKeySet(await Client.GetStringAsync("/.well-known/jwks.json"));
        var result = await new JsonWebTokenHandler().ValidateTokenAsync(tokens.GetProperty("access_token").GetString(), new TokenValidationParameters
        {
            IssuerSigningKeys = jwks.GetSigningKeys(),
            ValidIssuer = "http://localhost:5080",
            ValidAudience = "countersign",
        });
        Assert.True(result.IsValid, result.Exception?.Message);

        var tampered = tokens.GetProperty("access_token").GetString()![..^4] + "AAAA";
        Assert.False((await new JsonWebTokenHandler().ValidateTokenAsync(tampered, new TokenValidationParameters
        {
            IssuerSigningKeys = jwks.GetSigningKeys(), ValidIssuer = "http://localhost:5080", ValidAudience = "countersign",
        })).IsValid);
    }

    [Fact]
    public async Task Disabling_a_user_ends_their_sessions_and_refresh_tokens()
    {
        var name = await RegisterAsync();
        var tokens = await LoginAsync(name);
        await WithScope(async sp =>
        {
            var admin = sp.GetRequiredService<AccountAdmin>();
            await admin.SetDisabledAsync((await admin.FindAsync(name))!, true, "test");
            return 0;
        });
        Assert.Equal(HttpStatusCode.Unauthorized, (await Client.SendAsync(WithToken(HttpMethod.Get, "/api/me", tokens.GetProperty("access_token").GetString()!))).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await Client.PostJson("/api/auth/refresh", new { refresh_token = tokens.GetProperty("refresh_token").GetString() })).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await Client.PostJson("/api/auth/login", new { username = name, password = Password })).StatusCode);
    }

    [Fact]
    public async Task A_bcrypt_hash_imported_from_csv_signs_in_and_is_stored_as_argon2id_afterwards()
    {
        var name = NewName();
        var csv = Path.GetTempFileName();
        await File.WriteAllTextAsync(csv, $"username,bcrypt_hash\n{name},{BCrypt.Net.BCrypt.HashPassword("legacy pass phrase", 4)}\n");
        var exit = await CountersignCli.Create(Server.ConfigureBuilder).Parse(["users", "import", csv]).InvokeAsync();
        File.Delete(csv);
        Assert.Equal(0, exit);
        Assert.Equal("bcrypt", await HashModeAsync(name));

        Assert.Equal(HttpStatusCode.Unauthorized, (await Client.PostJson("/api/auth/login", new { username = name, password = "wrong pass phrase" })).StatusCode);
        Assert.Equal("bcrypt", await HashModeAsync(name));
        await LoginAsync(name, "legacy pass phrase");
        Assert.Equal("argon2id", await HashModeAsync(name));
        await LoginAsync(name, "legacy pass phrase");
    }

    private Task<string> HashModeAsync(string name) => WithScope(async sp =>
        PasswordHasher.Mode((await sp.GetRequiredService<AccountAdmin>().FindAsync(name))!.PasswordHash));

    [Fact]
    public async Task Key_rotation_and_reencrypt_keep_secrets_readable()
    {
        var name = await RegisterAsync();
        var before = await LoginAsync(name);
        var (newKey, _) = await WithScope(sp => KeysCommands.RotateAsync(sp, CancellationToken.None));
        var count = await WithScope(sp => KeysCommands.ReencryptAsync(sp, CancellationToken.None));
        Assert.True(count >= 2);

        await WithScope(async sp =>
        {
            var db = sp.GetRequiredService<CountersignDb>();
            var secrets = sp.GetRequiredService<SecretStore>();
            foreach (var key in await db.SigningKeys.AsNoTracking().ToListAsync())
            {
                Assert.Equal(newKey, SecretStore.KeyIdOf(key.ProtectedPrivateKey));
                Assert.NotEmpty(secrets.Unprotect(SecretStore.SigningKeyPurpose, key.ProtectedPrivateKey));
            }
            Assert.True(sp.GetRequiredService<IKeyManager>().GetAllKeys().Count >= 2);
            return 0;
        });
        // Tokens signed before the rotation still verify, and new sign-ins work.
        Assert.Equal(HttpStatusCode.OK, (await Client.SendAsync(WithToken(HttpMethod.Get, "/api/me", before.GetProperty("access_token").GetString()!))).StatusCode);
        await LoginAsync(name);
    }

    [Fact]
    public async Task The_private_signing_key_is_never_stored_in_clear()
    {
        await WithScope(async sp =>
        {
            var db = sp.GetRequiredService<CountersignDb>();
            var secrets = sp.GetRequiredService<SecretStore>();
            foreach (var key in await db.SigningKeys.AsNoTracking().ToListAsync())
            {
                var clear = secrets.Unprotect(SecretStore.SigningKeyPurpose, key.ProtectedPrivateKey);
                Assert.Equal(-1, key.ProtectedPrivateKey.AsSpan().IndexOf(clear.AsSpan(clear.Length - 32)));
            }
            var ring = string.Join("", await db.DataProtectionKeys.Select(k => k.Xml).ToListAsync());
            Assert.DoesNotContain("<masterKey", ring, StringComparison.Ordinal);
            Assert.Contains("encryptedKey", ring, StringComparison.Ordinal);
            return 0;
        });
    }

    [Fact]
    public async Task A_batch_of_audit_events_appended_at_once_keeps_the_chain_whole_and_in_order()
    {
        var tag = Guid.NewGuid().ToString("N");
        await WithScope(async sp =>
        {
            var db = sp.GetRequiredService<CountersignDb>();
            await using var tx = await db.Database.BeginTransactionAsync();
            sp.GetRequiredService<AuditLog>().AddMany(db,
                [.. Enumerable.Range(0, 1500).Select(i => new AuditEntry("batch_test", null, $"{tag}-{i:D4}", null, null))]);
            await db.SaveChangesAsync();
            await tx.CommitAsync();
            return 0;
        });
        var names = await WithScope(sp => sp.GetRequiredService<CountersignDb>().AuditEvents
            .Where(e => e.Action == "batch_test" && e.Username!.StartsWith(tag)).OrderBy(e => e.Id).Select(e => e.Username!).ToListAsync());
        Assert.Equal(Enumerable.Range(0, 1500).Select(i => $"{tag}-{i:D4}"), names);
        Assert.Null((await WithScope(sp => AuditVerifier.VerifyAsync(sp.GetRequiredService<CountersignDb>(), sp.GetRequiredService<Countersign.Secrets.KeyMaterial>()))).Problem);
    }

    [Fact]
    public async Task The_audit_chain_verifies_and_a_tampered_row_is_found()
    {
        var name = await RegisterAsync();
        await LoginAsync(name);
        var verified = await WithScope(sp => AuditVerifier.VerifyAsync(sp.GetRequiredService<CountersignDb>(), sp.GetRequiredService<Countersign.Secrets.KeyMaterial>()));
        Assert.Null(verified.Problem);
        Assert.True(verified.Events >= 2);
        Assert.Equal(0, await CountersignCli.Create(Server.ConfigureBuilder).Parse(["audit", "verify"]).InvokeAsync());

        var victim = await WithScope(sp => sp.GetRequiredService<CountersignDb>().AuditEvents
            .Where(e => e.Username == name && e.Action == AuditActions.LoginSucceeded).Select(e => new { e.Id, e.ClientIp }).SingleAsync());
        try
        {
            await WithScope(sp => sp.GetRequiredService<CountersignDb>().AuditEvents.Where(e => e.Id == victim.Id)
                .ExecuteUpdateAsync(s => s.SetProperty(e => e.ClientIp, "203.0.113.9")));
            var found = await WithScope(sp => AuditVerifier.VerifyAsync(sp.GetRequiredService<CountersignDb>(), sp.GetRequiredService<Countersign.Secrets.KeyMaterial>()));
            Assert.Equal(victim.Id, found.FirstBrokenEvent);
            Assert.Equal(1, await CountersignCli.Create(Server.ConfigureBuilder).Parse(["audit", "verify"]).InvokeAsync());
        }
        finally
        {
            await WithScope(sp => sp.GetRequiredService<CountersignDb>().AuditEvents.Where(e => e.Id == victim.Id)
                .ExecuteUpdateAsync(s => s.SetProperty(e => e.ClientIp, victim.ClientIp)));
        }
    }

    [Fact]
    public async Task Admin_audit_api_needs_the_admin_role_and_filters()
    {
        var name = await RegisterAsync();
        var userToken = (await LoginAsync(name)).GetProperty("access_token").GetString()!;
        Assert.Equal(HttpStatusCode.Forbidden, (await Client.SendAsync(WithToken(HttpMethod.Get, "/api/admin/audit", userToken))).StatusCode);

        await WithScope(async sp =>
        {
            var admin = sp.GetRequiredService<AccountAdmin>();
            await admin.AddRoleAsync((await admin.FindAsync(name))!, Roles.Admin, "test");
            return 0;
        });
        var adminToken = (await LoginAsync(name)).GetProperty("access_token").GetString()!;
        var page = await (await Client.SendAsync(WithToken(HttpMethod.Get, $"/api/admin/audit?user={name}&action=login_succeeded&limit=1", adminToken))).Body();
        var events = page.GetProperty("events");
        Assert.Equal(1, events.GetArrayLength());
        Assert.Equal("login_succeeded", events[0].GetProperty("action").GetString());
        Assert.Equal(name, events[0].GetProperty("username").GetString());
        var next = page.GetProperty("next_before").GetInt64();
        var older = await (await Client.SendAsync(WithToken(HttpMethod.Get, $"/api/admin/audit?user={name}&action=login_succeeded&before={next}", adminToken))).Body();
        Assert.Equal(1, older.GetProperty("events").GetArrayLength());
    }

    [Theory]
    [InlineData("/api/auth/login", "{\"username\": ")]
    [InlineData("/api/auth/login", "[1,2,3]")]
    [InlineData("/api/auth/login", "{\"username\": 5, \"password\": true}")]
    [InlineData("/api/auth/login", "{}")]
    [InlineData("/api/auth/login", "")]
    [InlineData("/api/accounts", "{\"username\": \"x\"}")]
    [InlineData("/api/auth/refresh", "{\"refresh_token\": null}")]
    [InlineData("/api/auth/logout", "not json")]
    public async Task Malformed_requests_get_400_problem_details(string path, string body)
    {
        var response = await Client.PostAsync(path, new StringContent(body, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Body();
        Assert.False(string.IsNullOrEmpty(problem.GetProperty("error").GetString()));
        Assert.DoesNotContain("   at ", problem.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_one_mebibyte_body_gets_a_400_problem()
    {
        var huge = "{\"username\": \"" + new string('a', 1024 * 1024) + "\", \"password\": \"x\"}";
        // Expect: 100-continue, as careful clients send large bodies: the server answers before the body
        // is sent, instead of closing the connection under a client that is still writing (a broken pipe).
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/auth/login") { Content = new StringContent(huge, Encoding.UTF8, "application/json") };
        request.Headers.ExpectContinue = true;
        var response = await Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("request_too_large", (await response.Body()).GetProperty("error").GetString());
    }

    [Fact]
    public async Task Health_and_api_description_are_served()
    {
        Assert.Equal("Healthy", await Client.GetStringAsync("/health/live"));
        Assert.Equal("Healthy", await Client.GetStringAsync("/health/ready"));
        var openApi = await Client.GetStringAsync("/openapi/v1.json");
        Assert.Contains("/api/auth/login", openApi, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, (await Client.GetAsync("/docs")).StatusCode);
    }

    [Fact]
    public async Task Every_attempt_is_written_to_the_json_lines_log()
    {
        var name = await RegisterAsync();
        await LoginAsync(name);
        await Client.PostJson("/api/auth/login", new { username = name, password = "wrong" });
        var deadline = DateTime.UtcNow.AddSeconds(10);
        List<JsonElement> mine = [];
        while (DateTime.UtcNow < deadline && mine.Count < 2)
        {
            await Task.Delay(100);
            var lines = File.Exists(Server.AttemptLogPath) ? await ReadSharedAsync(Server.AttemptLogPath) : [];
            mine = lines.Select(l => JsonDocument.Parse(l).RootElement.Clone()).Where(e => e.GetProperty("username").GetString() == name).ToList();
        }
        Assert.Equal(2, mine.Count);
        Assert.Equal(["success", "failure"], mine.Select(e => e.GetProperty("result").GetString()));
        Assert.Equal("wrong_password", mine[1].GetProperty("reason").GetString());
        Assert.Equal("argon2id", mine[1].GetProperty("hash_mode").GetString());
        Assert.True(mine[1].GetProperty("latency_ms").GetDouble() > 0);
        foreach (var field in new[] { "timestamp", "protections", "client_ip" })
        {
            Assert.True(mine[0].TryGetProperty(field, out _), field);
        }
        Assert.DoesNotContain(Password, string.Join("", mine), StringComparison.Ordinal);
    }

    private static async Task<string[]> ReadSharedAsync(string path)
    {
        await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var reader = new StreamReader(stream);
        return (await reader.ReadToEndAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }
}

public sealed class SqliteApiTests(SqliteServer server) : ApiSuite(server), IClassFixture<SqliteServer>;

public sealed class PostgresApiTests(PostgresServer server) : ApiSuite(server), IClassFixture<PostgresServer>;
