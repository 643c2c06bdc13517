using System.Net;
using System.Text;
using System.Text.Json;
using Countersign.ForwardAuth;
using Countersign.Storage;
using Countersign.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using static Countersign.Tests.ForwardAuth.ForwardAuthSteps;

namespace Countersign.Tests.ForwardAuth;

/// <summary>
/// Devices, <c>/verify/{service}</c> and <c>/forward-auth</c> over real HTTP, written once and run on SQLite and
/// PostgreSQL, each with the in-memory store and with Redis (the subclasses at the bottom).
/// </summary>
public abstract class ForwardAuthSuite(ForwardAuthServer server)
{
    protected ForwardAuthServer Server { get; } = server;

    protected ForwardAuthSteps Steps { get; } = new(server);

    protected HttpClient Client => Steps.Client;

    private static Guid IdOf(string cookie)
    {
        Assert.True(DeviceCookie.TryParse(cookie, out var id, out _));
        return id;
    }

    private static string Unique(string stem) => stem + Guid.NewGuid().ToString("N")[..8];

    private async Task<T> WithScope<T>(Func<IServiceProvider, Task<T>> work)
    {
        await using var scope = Server.Services.CreateAsyncScope();
        return await work(scope.ServiceProvider);
    }

    [Fact]
    public async Task A_totp_code_registers_a_device_with_a_secure_httponly_lax_cookie_and_only_an_hmac_is_stored()
    {
        var user = await Steps.TotpUserAsync();
        await SettledStepAsync();
        var response = await Steps.AddDevice(user.Name, CurrentCode(user), "laptop");
        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        var header = response.Headers.GetValues("Set-Cookie").Single(h => h.StartsWith("__Secure-cs_device=", StringComparison.Ordinal));
        var attributes = header.Split(';').Select(a => a.Trim().ToLowerInvariant()).ToList();
        Assert.Contains("secure", attributes);
        Assert.Contains("httponly", attributes);
        Assert.Contains("samesite=lax", attributes);
        Assert.Contains("path=/", attributes);
        Assert.Contains($"max-age={(int)TimeSpan.FromDays(30).TotalSeconds}", attributes);

        var value = CookieValue(response);
        Assert.True(DeviceCookie.TryParse(value, out var id, out var secret));
        Assert.Equal(32, secret.Length);
        var stored = await WithScope(sp => sp.GetRequiredService<CountersignDb>().Set<Device>().AsNoTracking().SingleAsync(d => d.Id == id));
        Assert.Equal("laptop", stored.Name);
        Assert.False(stored.SecretHash.AsSpan().SequenceEqual(secret));
        Assert.True(stored.SecretHash.AsSpan().SequenceEqual(Server.Services.GetRequiredService<ForwardAuthKeys>().DeviceHash(secret)));

        var devices = await (await Client.SendAsync(WithToken(HttpMethod.Get, "/api/me/devices", user.AccessToken))).Body();
        var listed = Assert.Single(devices.EnumerateArray());
        Assert.Equal(id, listed.GetProperty("id").GetGuid());
        Assert.Equal("laptop", listed.GetProperty("name").GetString());
        Assert.True(listed.TryGetProperty("last_seen_at", out _));
        Assert.True(listed.TryGetProperty("created_at", out _));
    }

    [Fact]
    public async Task Every_failed_device_registration_is_the_same_401()
    {
        var user = await Steps.TotpUserAsync();
        var disabled = await Steps.TotpUserAsync();
        var noTotp = await Steps.RegisterAsync();
        await WithScope(async sp =>
        {
            var admin = sp.GetRequiredService<Accounts.AccountAdmin>();
            await admin.SetDisabledAsync((await admin.FindAsync(disabled.Name))!, true, "test");
            return 0;
        });
        await SettledStepAsync();
        var used = CurrentCode(user);
        Assert.Equal(HttpStatusCode.NoContent, (await Steps.AddDevice(user.Name, used)).StatusCode);

        var answers = new List<(HttpStatusCode Status, string Body, bool Cookie)>();
        foreach (var (name, code) in new[]
        {
            (NewName(), "123456"),                                 // unknown user
            (user.Name, used == "000000" ? "111111" : "000000"),   // wrong code
            (user.Name, used),                                     // replayed code (RFC 6238 §5.2)
            (disabled.Name, CurrentCode(disabled)),                // disabled account
            (noTotp, "123456"),                                    // no authenticator at all
        })
        {
            var response = await Steps.AddDevice(name, code);
            var body = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(await response.Content.ReadAsStringAsync())!;
            body.Remove("trace_id");
            answers.Add((response.StatusCode, JsonSerializer.Serialize(body), response.Headers.Contains("Set-Cookie")));
        }
        Assert.All(answers, a => Assert.Equal(HttpStatusCode.Unauthorized, a.Status));
        Assert.Single(answers.Select(a => a.Body).Distinct());
        Assert.All(answers, a => Assert.False(a.Cookie));
        Assert.Contains("\"error\":\"invalid_credentials\"", answers[0].Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Wrong_codes_lock_device_registration_through_the_sign_in_core()
    {
        var user = await Steps.TotpUserAsync();
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await Steps.AddDevice(user.Name, "000000" == CurrentCode(user) ? "111111" : "000000")).StatusCode);
        }
        await SettledStepAsync();
        var locked = await Steps.AddDevice(user.Name, CurrentCode(user));
        Assert.Equal((HttpStatusCode)423, locked.StatusCode);
        Assert.Equal("account_locked", (await locked.Body()).GetProperty("error").GetString());
    }

    [Fact]
    public async Task Verify_answers_each_of_the_four_outcomes_exactly()
    {
        var user = await Steps.TotpUserAsync();
        var cookie = await Steps.DeviceAsync(user);
        var service = Unique("svc");
        var token = await Steps.ServiceAsync(service, service + ".example.test");

        async Task<(HttpStatusCode Status, string Body, HttpResponseMessage Response)> Ask(string name, string? serviceToken, string? deviceCookie)
        {
            var response = await Client.SendAsync(Verify(name, serviceToken, deviceCookie));
            return (response.StatusCode, await response.Content.ReadAsStringAsync(), response);
        }

        // 404, empty: no cookie, a malformed one, an unknown device, a wrong secret, a wrong or missing service token.
        var id = IdOf(cookie);
        var unknown = DeviceCookie.Format(Guid.NewGuid(), new byte[32]);
        var wrongSecret = DeviceCookie.Format(id, new byte[32]);
        var otherToken = await Steps.ServiceAsync(Unique("other"), Unique("other") + ".example.test");
        // One character changed (a token that already began with "A" made this the right token one run in 64).
        var wrongToken = (token[0] == 'A' ? "B" : "A") + token[1..];
        foreach (var (name, t, c) in new (string, string?, string?)[]
        {
            (service, token, null), (service, token, "garbage"), (service, token, cookie + "x"), (service, token, unknown),
            (service, token, wrongSecret), (service, wrongToken, cookie), (service, null, cookie), (service, otherToken, cookie),
            (Unique("nosuch"), wrongToken, cookie),
        })
        {
            var (status, body, _) = await Ask(name, t, c);
            Assert.Equal(HttpStatusCode.NotFound, status);
            Assert.Equal("", body);
        }

        // 404 "Service Not Found!": a valid device, a valid caller, no such service.
        var missing = await Ask(Unique("nosuch"), token, cookie);
        Assert.Equal(HttpStatusCode.NotFound, missing.Status);
        Assert.Equal("Service Not Found!", missing.Body);

        // 401: the service exists, no grant.
        var denied = await Ask(service, token, cookie);
        Assert.Equal(HttpStatusCode.Unauthorized, denied.Status);
        Assert.Equal("User does not have access to this service", denied.Body);
        Assert.False(denied.Response.Headers.Contains(ForwardAuthApi.SubjectHeader));

        // 200 with the pairwise subject and the device.
        await Steps.GrantAsync(user.Name, service);
        var granted = await Ask(service, token, cookie);
        Assert.Equal(HttpStatusCode.OK, granted.Status);
        Assert.Equal(id.ToString("N"), granted.Response.Headers.GetValues(ForwardAuthApi.DeviceHeader).Single());
        Assert.Equal(43, granted.Response.Headers.GetValues(ForwardAuthApi.SubjectHeader).Single().Length);
        // Neither name nor roles unless the service is configured to receive them.
        Assert.False(granted.Response.Headers.Contains(ForwardAuthApi.UserHeader));
    }

    [Fact]
    public async Task Pairwise_subjects_are_stable_per_service_and_differ_across_services_and_admins_reach_every_service()
    {
        var user = await Steps.TotpUserAsync();
        var first = await Steps.DeviceAsync(user);
        var secondResponse = await Steps.AddDevice(user.Name, Totp.Rfc6238.Code(user.Secret, Totp.Rfc6238.StepAt(DateTimeOffset.UtcNow) + 1));
        Assert.Equal(HttpStatusCode.NoContent, secondResponse.StatusCode);
        var second = CookieValue(secondResponse);
        var (a, b) = (Unique("a"), Unique("b"));
        var tokenA = await Steps.ServiceAsync(a, a + ".example.test");
        var tokenB = await Steps.ServiceAsync(b, b + ".example.test", sendsIdentity: true);
        await Steps.GrantAsync(user.Name, a);
        await Steps.GrantAsync(user.Name, b);

        async Task<HttpResponseMessage> Ok(string service, string token, string cookie)
        {
            var response = await Client.SendAsync(Verify(service, token, cookie));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            return response;
        }
        static string Subject(HttpResponseMessage r) => r.Headers.GetValues(ForwardAuthApi.SubjectHeader).Single();

        var atA = Subject(await Ok(a, tokenA, first));
        Assert.Equal(atA, Subject(await Ok(a, tokenA, second)));
        Assert.Equal(atA, Subject(await Ok(a, tokenA, first)));
        var atB = await Ok(b, tokenB, first);
        Assert.NotEqual(atA, Subject(atB));
        Assert.Equal(user.Name, Uri.UnescapeDataString(atB.Headers.GetValues(ForwardAuthApi.UserHeader).Single()));

        // The admin role reaches every service without a grant (the seed's rule).
        var admin = await Steps.TotpUserAsync();
        await WithScope(async sp =>
        {
            var accounts = sp.GetRequiredService<Accounts.AccountAdmin>();
            await accounts.AddRoleAsync((await accounts.FindAsync(admin.Name))!, Accounts.Roles.Admin, "test");
            return 0;
        });
        var adminCookie = await Steps.DeviceAsync(admin);
        Assert.NotEqual(atA, Subject(await Ok(a, tokenA, adminCookie)));
    }

    [Fact]
    public async Task Revoking_the_device_removing_the_grant_disabling_the_user_or_removing_the_service_takes_effect_at_once()
    {
        var service = Unique("rev");
        var token = await Steps.ServiceAsync(service, service + ".example.test");
        async Task<(string Name, string Cookie)> Granted()
        {
            var user = await Steps.TotpUserAsync();
            var cookie = await Steps.DeviceAsync(user);
            await Steps.GrantAsync(user.Name, service);
            Assert.Equal(HttpStatusCode.OK, (await Client.SendAsync(Verify(service, token, cookie))).StatusCode);
            return (user.Name, cookie);
        }

        var revoked = await Granted();
        var id = IdOf(revoked.Cookie);
        Assert.Equal(HttpStatusCode.NoContent,
            (await Client.SendAsync(WithToken(HttpMethod.Delete, $"/api/admin/devices/{id}", await Steps.AdminAsync()))).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await Client.SendAsync(Verify(service, token, revoked.Cookie))).StatusCode);

        var ungranted = await Granted();
        Assert.Equal(HttpStatusCode.NoContent, (await Client.SendAsync(WithToken(HttpMethod.Delete,
            $"/api/admin/grants?user={ungranted.Name}&service={service}", await Steps.AdminAsync()))).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await Client.SendAsync(Verify(service, token, ungranted.Cookie))).StatusCode);

        var disabled = await Granted();
        await WithScope(async sp =>
        {
            var admin = sp.GetRequiredService<Accounts.AccountAdmin>();
            await admin.SetDisabledAsync((await admin.FindAsync(disabled.Name))!, true, "test");
            return 0;
        });
        await UntilAsync(async () => (await Client.SendAsync(Verify(service, token, disabled.Cookie))).StatusCode == HttpStatusCode.NotFound,
            TimeSpan.FromSeconds(1));

        var kept = await Granted();
        Assert.Equal(HttpStatusCode.NoContent,
            (await Client.SendAsync(WithToken(HttpMethod.Delete, $"/api/admin/services/{service}", await Steps.AdminAsync()))).StatusCode);
        var gone = await Client.SendAsync(Verify(service, token, kept.Cookie));
        Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
        Assert.Equal("", await gone.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task A_user_revokes_their_own_device_but_not_someone_elses()
    {
        var user = await Steps.TotpUserAsync();
        var other = await Steps.TotpUserAsync();
        var mine = IdOf(await Steps.DeviceAsync(user));
        var theirs = IdOf(await Steps.DeviceAsync(other));
        Assert.Equal(HttpStatusCode.NotFound, (await Client.SendAsync(WithToken(HttpMethod.Delete, $"/api/me/devices/{theirs}", user.AccessToken))).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await Client.SendAsync(WithToken(HttpMethod.Delete, $"/api/me/devices/{mine}", user.AccessToken))).StatusCode);
        Assert.Empty((await (await Client.SendAsync(WithToken(HttpMethod.Get, "/api/me/devices", user.AccessToken))).Body()).EnumerateArray());
        Assert.Single((await (await Client.SendAsync(WithToken(HttpMethod.Get, "/api/me/devices", other.AccessToken))).Body()).EnumerateArray());
        Assert.True(await WithScope(sp => sp.GetRequiredService<CountersignDb>().AuditEvents.AnyAsync(e => e.Action == Audit.AuditActions.DeviceRevoked)));
    }

    [Fact]
    public async Task Neither_verify_path_runs_a_database_write_and_a_warm_cache_runs_no_command_at_all()
    {
        var user = await Steps.TotpUserAsync();
        var cookie = await Steps.DeviceAsync(user);
        var service = Unique("hot");
        var host = service + ".example.test";
        var token = await Steps.ServiceAsync(service, host);
        await Steps.GrantAsync(user.Name, service);
        await Server.Services.GetRequiredService<DeviceActivity>().FlushAsync(CancellationToken.None);
        // The node's poll has seen the grant's change (else it drops the cache once more, mid-count).
        await Server.Services.GetRequiredService<ForwardAuthCache>().PollAsync(CancellationToken.None);

        // Cold: the cache was just dropped by the grant; the first of each reads, none writes.
        Server.Commands.Reset();
        Assert.Equal(HttpStatusCode.OK, (await Client.SendAsync(Verify(service, token, cookie))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Client.SendAsync(Proxied($"https://{host}/x", cookie))).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await Client.SendAsync(Proxied($"https://{host}/x", DeviceCookie.Format(Guid.NewGuid(), new byte[32])))).StatusCode);
        Assert.True(Server.Commands.All > 0, "the cold requests read the database");
        Assert.Equal(0, Server.Commands.Writes);

        // Warm: 200 of each, no command at all.
        Server.Commands.Reset();
        for (var i = 0; i < 100; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await Client.SendAsync(Verify(service, token, cookie))).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await Client.SendAsync(Proxied($"https://{host}/x?i={i}", cookie))).StatusCode);
        }
        Assert.Equal(0, Server.Commands.All);

        // "Last seen" arrives with the batch, in one flush.
        var id = IdOf(cookie);
        var before = await WithScope(sp => sp.GetRequiredService<CountersignDb>().Set<Device>().AsNoTracking().SingleAsync(d => d.Id == id));
        Assert.True(await Server.Services.GetRequiredService<DeviceActivity>().FlushAsync(CancellationToken.None) >= 1);
        var after = await WithScope(sp => sp.GetRequiredService<CountersignDb>().Set<Device>().AsNoTracking().SingleAsync(d => d.Id == id));
        Assert.True(after.LastSeenAt > before.LastSeenAt);
    }

    [Fact]
    public async Task Forward_auth_answers_200_with_identity_401_with_the_device_page_and_403_without_a_grant()
    {
        var user = await Steps.TotpUserAsync();
        var cookie = await Steps.DeviceAsync(user);
        var service = Unique("fwd");
        var host = service + ".example.test";
        await Steps.ServiceAsync(service, host, "/app");

        var anonymous = await Client.SendAsync(Proxied($"https://{host}/app/page?q=1", null));
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.Equal($"https://auth.example.test/devices/add?rd={Uri.EscapeDataString($"https://{host}/app/page?q=1")}",
            anonymous.Headers.Location!.OriginalString);

        Assert.Equal(HttpStatusCode.Forbidden, (await Client.SendAsync(Proxied($"https://{host}/app/page", cookie))).StatusCode);
        await Steps.GrantAsync(user.Name, service);
        var ok = await Client.SendAsync(Proxied($"https://{host}/app/page", cookie));
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        Assert.Equal(43, ok.Headers.GetValues(ForwardAuthApi.SubjectHeader).Single().Length);

        // Outside the prefix, or on a host no service has: refused, not guessed.
        Assert.Equal(HttpStatusCode.Forbidden, (await Client.SendAsync(Proxied($"https://{host}/apple", cookie))).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await Client.SendAsync(Proxied($"https://{host}/app/../other", cookie))).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await Client.SendAsync(Proxied($"https://nosuch.example.test/app", cookie))).StatusCode);
    }

    [Fact]
    public async Task Forwarded_headers_from_an_untrusted_address_are_ignored()
    {
        var user = await Steps.TotpUserAsync();
        var cookie = await Steps.DeviceAsync(user);
        var service = Unique("untr");
        var host = service + ".example.test";
        await Steps.ServiceAsync(service, host);
        await Steps.GrantAsync(user.Name, service);
        Assert.Equal(HttpStatusCode.OK, (await Client.SendAsync(Proxied($"https://{host}/", cookie))).StatusCode);
        // The same request from 127.0.0.5: X-Forwarded-Host is not believed, and the auth server's own host is no service.
        Assert.Equal(HttpStatusCode.Forbidden, (await Steps.Untrusted.SendAsync(Proxied($"https://{host}/", cookie))).StatusCode);
    }

    [Theory]
    [InlineData("//evil.example")]
    [InlineData("/\\evil.example")]
    [InlineData("/%09/evil.example")]
    [InlineData("https:evil.example")]
    [InlineData("https://{host}@evil.example/")]
    [InlineData("https://{host}.evil.example/")]
    [InlineData("http://{host}/")]
    [InlineData("javascript:alert(1)")]
    [InlineData("https://evil.example/")]
    [InlineData("https://{host}\\@evil.example/")]
    [InlineData("https://{host}%2f@evil.example/")]
    [InlineData("\thttps://{host}/")]
    public async Task Every_redirect_trick_lands_on_the_account_page(string rd)
    {
        var (host, cookie) = await RedirectSetupAsync();
        var response = await Client.SendAsync(new HttpRequestMessage(HttpMethod.Get, "/devices/add?rd=" + Uri.EscapeDataString(rd.Replace("{host}", host, StringComparison.Ordinal)))
        {
            Headers = { { "Cookie", "__Secure-cs_device=" + cookie } },
        });
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal("/account", response.Headers.Location!.OriginalString);
    }

    [Fact]
    public async Task A_configured_service_url_over_https_is_followed()
    {
        var (host, cookie) = await RedirectSetupAsync();
        var target = $"https://{host}/deep/page?x=1";
        var response = await Client.SendAsync(new HttpRequestMessage(HttpMethod.Get, "/devices/add?rd=" + Uri.EscapeDataString(target))
        {
            Headers = { { "Cookie", "__Secure-cs_device=" + cookie } },
        });
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal(target, response.Headers.Location!.OriginalString);
    }

    private (string Host, string Cookie)? _redirect;

    private async Task<(string Host, string Cookie)> RedirectSetupAsync()
    {
        if (_redirect is { } ready)
        {
            return ready;
        }
        var user = await Steps.TotpUserAsync();
        var cookie = await Steps.DeviceAsync(user);
        var service = Unique("rd");
        await Steps.ServiceAsync(service, service + ".example.test");
        return (_redirect = (service + ".example.test", cookie)).Value;
    }

    [Fact]
    public async Task A_copy_of_the_database_holds_no_user_id_beside_a_service_id()
    {
        var user = await Steps.TotpUserAsync();
        var service = Unique("leak");
        await Steps.ServiceAsync(service, service + ".example.test");
        await Steps.GrantAsync(user.Name, service);
        var (userId, serviceId) = await WithScope(async sp =>
        {
            var db = sp.GetRequiredService<CountersignDb>();
            return ((await db.Users.SingleAsync(u => u.UserName == user.Name)).Id, (await db.Set<ProtectedService>().SingleAsync(s => s.Name == service)).Id);
        });
        var rows = await RowsAsync();
        Assert.Contains(rows, r => Holds(r, userId));
        Assert.Contains(rows, r => Holds(r, serviceId));
        Assert.DoesNotContain(rows, r => Holds(r, userId) && Holds(r, serviceId));
        // The admin listing still knows, from the encrypted pair.
        var listing = await (await Client.SendAsync(WithToken(HttpMethod.Get, $"/api/admin/grants?service={service}", await Steps.AdminAsync()))).Body();
        Assert.Equal(user.Name, Assert.Single(listing.EnumerateArray()).GetProperty("user").GetString());
    }

    /// <summary>Every id in every form a row could hold it: text (any case, with or without dashes) or 16 bytes either order.</summary>
    private static bool Holds(string row, Guid id) =>
        row.Contains(id.ToString("D"), StringComparison.OrdinalIgnoreCase) || row.Contains(id.ToString("N"), StringComparison.OrdinalIgnoreCase)
        || row.Contains(Convert.ToHexString(id.ToByteArray()), StringComparison.OrdinalIgnoreCase)
        || row.Contains(Convert.ToHexString(id.ToByteArray(bigEndian: true)), StringComparison.OrdinalIgnoreCase);

    /// <summary>Each row of each table as text, blobs in hex: what a stolen copy of the database shows.</summary>
    private async Task<List<string>> RowsAsync()
    {
        var rows = new List<string>();
        if (Server.DatabaseKind == Database.Sqlite)
        {
            await using var connection = new Microsoft.Data.Sqlite.SqliteConnection(Server.Settings["Storage:ConnectionString"]);
            await connection.OpenAsync();
            var tables = new List<string>();
            await using (var list = connection.CreateCommand())
            {
                list.CommandText = "SELECT name FROM sqlite_master WHERE type = 'table'";
                await using var reader = await list.ExecuteReaderAsync();
                while (await reader.ReadAsync()) tables.Add(reader.GetString(0));
            }
            foreach (var table in tables)
            {
                await using var select = connection.CreateCommand();
                select.CommandText = $"SELECT * FROM \"{table}\"";
                await using var reader = await select.ExecuteReaderAsync();
                while (await reader.ReadAsync())
                {
                    var row = new StringBuilder();
                    for (var i = 0; i < reader.FieldCount; i++)
                    {
                        var value = reader.GetValue(i);
                        row.Append(value is byte[] bytes ? Convert.ToHexString(bytes) : value.ToString()).Append('|');
                    }
                    rows.Add(row.ToString());
                }
            }
            return rows;
        }
        await using var pg = new NpgsqlConnection(Server.Settings["Storage:ConnectionString"]);
        await pg.OpenAsync();
        var names = new List<string>();
        await using (var list = new NpgsqlCommand("SELECT tablename FROM pg_tables WHERE schemaname = 'public'", pg))
        await using (var reader = await list.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync()) names.Add(reader.GetString(0));
        }
        foreach (var table in names)
        {
            // bytea as hex text, uuids as text: row_to_json shows both.
            await using var select = new NpgsqlCommand($"SELECT row_to_json(t)::text FROM \"{table}\" t", pg);
            await using var reader = await select.ExecuteReaderAsync();
            while (await reader.ReadAsync()) rows.Add(reader.GetString(0).Replace("\\\\x", "", StringComparison.Ordinal));
        }
        return rows;
    }

    [Fact]
    public async Task The_cli_prints_a_service_token_once_and_keeps_only_its_salted_hash()
    {
        var service = Unique("cli");
        var (exit, output, error) = await CliRunner.RunAsync(Server.ConfigureBuilder, "services", "add", service, "--host", service + ".example.test");
        Assert.True(exit == 0, error);
        var token = output.Split("keep it secret): ")[1].Trim();
        Assert.Equal(43, token.Length);
        var stored = await WithScope(sp => sp.GetRequiredService<CountersignDb>().Set<ProtectedService>().AsNoTracking().SingleAsync(s => s.Name == service));
        Assert.DoesNotContain(await RowsAsync(), r => r.Contains(token, StringComparison.Ordinal)
            || r.Contains(Convert.ToHexString(Microsoft.AspNetCore.WebUtilities.WebEncoders.Base64UrlDecode(token)), StringComparison.OrdinalIgnoreCase));
        Assert.Equal(32, stored.TokenHash.Length);

        var user = await Steps.TotpUserAsync();
        Assert.Equal(0, (await CliRunner.RunAsync(Server.ConfigureBuilder, "grants", "add", user.Name, service)).Exit);
        var listed = await CliRunner.RunAsync(Server.ConfigureBuilder, "grants", "list", "--service", service);
        Assert.Contains(user.Name, listed.Output, StringComparison.Ordinal);
        var cookie = await Steps.DeviceAsync(user);
        // The CLI is another process's write: the server sees it at its next poll of the change counter
        // (ForwardAuth:PollInterval, 500 ms), not at once; a verify sent sooner may still find no such service.
        await UntilAsync(async () => (await Client.SendAsync(Verify(service, token, cookie))).StatusCode == HttpStatusCode.OK, TimeSpan.FromSeconds(1));

        var rotated = await CliRunner.RunAsync(Server.ConfigureBuilder, "services", "rotate-token", service);
        var newToken = rotated.Output.Split("keep it secret): ")[1].Trim();
        await UntilAsync(async () => (await Client.SendAsync(Verify(service, token, cookie))).StatusCode == HttpStatusCode.NotFound, TimeSpan.FromSeconds(1));
        Assert.Equal(HttpStatusCode.OK, (await Client.SendAsync(Verify(service, newToken, cookie))).StatusCode);

        var id = IdOf(cookie);
        Assert.Contains(id.ToString("N"), (await CliRunner.RunAsync(Server.ConfigureBuilder, "devices", "list", "--user", user.Name)).Output, StringComparison.Ordinal);
        Assert.Equal(0, (await CliRunner.RunAsync(Server.ConfigureBuilder, "devices", "revoke", id.ToString())).Exit);
        Assert.Equal(0, (await CliRunner.RunAsync(Server.ConfigureBuilder, "grants", "remove", user.Name, service)).Exit);
        Assert.Equal(1, (await CliRunner.RunAsync(Server.ConfigureBuilder, "grants", "remove", user.Name, service)).Exit);
        Assert.Equal(0, (await CliRunner.RunAsync(Server.ConfigureBuilder, "services", "remove", service)).Exit);
        Assert.True(await WithScope(sp => sp.GetRequiredService<CountersignDb>().AuditEvents
            .CountAsync(e => e.Action == Audit.AuditActions.ServiceAdded || e.Action == Audit.AuditActions.GrantAdded || e.Action == Audit.AuditActions.GrantRemoved
                || e.Action == Audit.AuditActions.ServiceRemoved || e.Action == Audit.AuditActions.ServiceTokenRotated)) >= 5);
    }
}

public sealed class SqliteMemoryForwardAuthSuite(SqliteMemoryForwardAuth server) : ForwardAuthSuite(server), IClassFixture<SqliteMemoryForwardAuth>;

public sealed class SqliteRedisForwardAuthSuite(SqliteRedisForwardAuth server) : ForwardAuthSuite(server), IClassFixture<SqliteRedisForwardAuth>;

public sealed class PostgresMemoryForwardAuthSuite(PostgresMemoryForwardAuth server) : ForwardAuthSuite(server), IClassFixture<PostgresMemoryForwardAuth>;

public sealed class PostgresRedisForwardAuthSuite(PostgresRedisForwardAuth server) : ForwardAuthSuite(server), IClassFixture<PostgresRedisForwardAuth>;
