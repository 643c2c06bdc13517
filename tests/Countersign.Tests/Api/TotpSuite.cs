using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using Countersign.Storage;
using Countersign.Tests.Infrastructure;
using Countersign.Totp;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using OtpNet;

namespace Countersign.Tests.Api;

/// <summary>Second factors over the API, run on SQLite with memory and on PostgreSQL with Redis.</summary>
public abstract class TotpSuite(TestServer server) : ApiSuiteBase(server)
{
    private sealed record Enrolled(string Name, string Token, byte[] Secret, string Base32, List<string> RecoveryCodes, long ConfirmedStep);

    /// <summary>A step with at least four seconds left, so the server sees the same step as the test.</summary>
    private static async Task<long> SettledStepAsync()
    {
        var now = DateTimeOffset.UtcNow;
        if (Rfc6238.Period - now.ToUnixTimeSeconds() % Rfc6238.Period < 4)
        {
            await Task.Delay(TimeSpan.FromSeconds(5));
        }
        return Rfc6238.StepAt(DateTimeOffset.UtcNow);
    }

    private async Task<(string Name, string Token, JsonElement Enrolment)> StartAsync()
    {
        var name = await RegisterAsync();
        var token = (await LoginAsync(name)).GetProperty("access_token").GetString()!;
        var response = await Client.SendAsync(WithToken(HttpMethod.Post, "/api/me/totp", token));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (name, token, await response.Body());
    }

    /// <summary>Enrols and confirms with the code of step s−1, leaving s and s+1 for the test to use.</summary>
    private async Task<Enrolled> EnrolAsync()
    {
        var (name, token, enrolment) = await StartAsync();
        var base32 = enrolment.GetProperty("secret").GetString()!;
        var secret = Base32Encoding.ToBytes(base32);
        var step = await SettledStepAsync() - 1;
        var confirm = await Client.SendAsync(WithToken(HttpMethod.Post, "/api/me/totp/confirm", token, new { code = Rfc6238.Code(secret, step) }));
        Assert.Equal(HttpStatusCode.OK, confirm.StatusCode);
        var codes = (await confirm.Body()).GetProperty("recovery_codes").EnumerateArray().Select(c => c.GetString()!).ToList();
        return new(name, token, secret, base32, codes, step);
    }

    private static StringContent JsonContent(object body) =>
        new(JsonSerializer.Serialize(body, Json.Options), Encoding.UTF8, "application/json");

    private Task<HttpResponseMessage> LoginWith(string name, object extra)
    {
        var body = JsonSerializer.SerializeToElement(extra, Json.Options).EnumerateObject()
            .ToDictionary(p => p.Name, p => (object?)p.Value.ToString());
        body["username"] = name;
        body["password"] = Password;
        return Client.PostJson("/api/auth/login", body);
    }

    [Fact]
    public async Task Enrolment_returns_a_160_bit_secret_an_otpauth_uri_and_qr_codes()
    {
        var (name, _, enrolment) = await StartAsync();
        Assert.Equal(20, Base32Encoding.ToBytes(enrolment.GetProperty("secret").GetString()!).Length);
        var uri = new Uri(enrolment.GetProperty("otpauth_uri").GetString()!);
        Assert.Equal("otpauth", uri.Scheme);
        Assert.Equal("totp", uri.Host);
        Assert.Equal($"/Countersign:{name}", Uri.UnescapeDataString(uri.AbsolutePath));
        var query = System.Web.HttpUtility.ParseQueryString(uri.Query);
        Assert.Equal(enrolment.GetProperty("secret").GetString(), query["secret"]);
        Assert.Equal("Countersign", query["issuer"]);
        Assert.Equal("SHA1", query["algorithm"]);
        Assert.Equal("6", query["digits"]);
        Assert.Equal("30", query["period"]);
        var png = Convert.FromBase64String(enrolment.GetProperty("qr_png_base64").GetString()!);
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], png[..4]);
        Assert.StartsWith("<svg", enrolment.GetProperty("qr_svg").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_code_from_oathtool_confirms_the_enrolment()
    {
        var (_, token, enrolment) = await StartAsync();
        await SettledStepAsync();
        var oathtool = Process.Start(new ProcessStartInfo("oathtool", ["--totp", "-b", enrolment.GetProperty("secret").GetString()!])
        {
            RedirectStandardOutput = true,
        }) ?? throw new InvalidOperationException("oathtool did not start: scripts/test installs it");
        var code = (await oathtool.StandardOutput.ReadToEndAsync()).Trim();
        await oathtool.WaitForExitAsync();
        Assert.Equal(0, oathtool.ExitCode);
        var confirm = await Client.SendAsync(WithToken(HttpMethod.Post, "/api/me/totp/confirm", token, new { code }));
        Assert.Equal(HttpStatusCode.OK, confirm.StatusCode);
        Assert.Equal(10, (await confirm.Body()).GetProperty("recovery_codes").GetArrayLength());
    }

    [Fact]
    public async Task Login_asks_with_417_refuses_a_wrong_code_with_400_and_accepts_the_right_one()
    {
        var user = await EnrolAsync();
        var needed = await Login(user.Name, Password);
        Assert.Equal(HttpStatusCode.ExpectationFailed, needed.StatusCode);
        var body = await needed.Body();
        Assert.Equal("mfa_required", body.GetProperty("error").GetString());
        Assert.Equal(["totp", "recovery_code"], body.GetProperty("methods").EnumerateArray().Select(m => m.GetString()));

        var wrongCode = Rfc6238.Code(user.Secret, user.ConfirmedStep + 1) == "000000" ? "111111" : "000000";
        var wrong = await LoginWith(user.Name, new { totp_code = wrongCode });
        Assert.Equal(HttpStatusCode.BadRequest, wrong.StatusCode);
        Assert.Equal("invalid_mfa_code", (await wrong.Body()).GetProperty("error").GetString());

        var code = Rfc6238.Code(user.Secret, user.ConfirmedStep + 1);
        Assert.Equal(HttpStatusCode.OK, (await LoginWith(user.Name, new { totp_code = code })).StatusCode);
        // RFC 6238 §5.2: the same code twice is refused, with the same answer as a wrong one.
        var replay = await LoginWith(user.Name, new { totp_code = code });
        Assert.Equal(HttpStatusCode.BadRequest, replay.StatusCode);
        Assert.Equal("invalid_mfa_code", (await replay.Body()).GetProperty("error").GetString());
        // So is the step before it, already passed.
        Assert.Equal(HttpStatusCode.BadRequest, (await LoginWith(user.Name, new { totp_code = Rfc6238.Code(user.Secret, user.ConfirmedStep) })).StatusCode);
    }

    [Fact]
    public async Task Concurrent_submissions_of_one_code_let_exactly_one_in()
    {
        var user = await EnrolAsync();
        var code = Rfc6238.Code(user.Secret, user.ConfirmedStep + 1);
        using var start = new ManualResetEventSlim();
        var attempts = Enumerable.Range(0, 6).Select(_ => Task.Run(async () =>
        {
            start.Wait();
            return (await LoginWith(user.Name, new { totp_code = code })).StatusCode;
        })).ToList();
        start.Set();
        var statuses = await Task.WhenAll(attempts);
        Assert.Equal(1, statuses.Count(s => s == HttpStatusCode.OK));
    }

    [Fact]
    public async Task A_recovery_code_works_once()
    {
        var user = await EnrolAsync();
        var code = user.RecoveryCodes[3].ToUpperInvariant().Replace("-", " ", StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, (await LoginWith(user.Name, new { recovery_code = code })).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await LoginWith(user.Name, new { recovery_code = user.RecoveryCodes[3] })).StatusCode);
        var status = await (await Client.SendAsync(WithToken(HttpMethod.Get, "/api/me/recovery-codes", user.Token))).Body();
        Assert.Equal(9, status.GetProperty("recovery_codes_remaining").GetInt32());
        Assert.True(status.GetProperty("totp_enabled").GetBoolean());
    }

    [Fact]
    public async Task A_recovery_code_with_the_password_resets_mfa_so_the_user_can_enrol_again()
    {
        var user = await EnrolAsync();
        var wrong = await Client.PostJson("/api/auth/mfa/reset", new { username = user.Name, password = Password, recovery_code = "aaaaa-aaaaa" });
        Assert.Equal(HttpStatusCode.BadRequest, wrong.StatusCode);
        var reset = await Client.PostJson("/api/auth/mfa/reset", new { username = user.Name, password = Password, recovery_code = user.RecoveryCodes[0] });
        Assert.Equal(HttpStatusCode.NoContent, reset.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Login(user.Name, Password)).StatusCode);
        Assert.True(await WithScope(sp => sp.GetRequiredService<CountersignDb>().AuditEvents
            .AnyAsync(e => e.Action == Audit.AuditActions.TotpDisabled && e.Username == user.Name)));
        // The old sessions ended with the factor change (ASVS 7.4.3).
        Assert.Equal(HttpStatusCode.Unauthorized, (await Client.SendAsync(WithToken(HttpMethod.Get, "/api/me", user.Token))).StatusCode);
    }

    [Fact]
    public async Task Wrong_codes_count_toward_the_lockout()
    {
        var user = await EnrolAsync();
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(HttpStatusCode.BadRequest, (await LoginWith(user.Name, new { totp_code = $"00000{i}" })).StatusCode);
        }
        Assert.Equal((HttpStatusCode)423, (await LoginWith(user.Name, new { totp_code = Rfc6238.Code(user.Secret, user.ConfirmedStep + 1) })).StatusCode);
    }

    [Fact]
    public async Task Removing_the_authenticator_needs_the_password_or_a_code()
    {
        var user = await EnrolAsync();
        var token = (await (await LoginWith(user.Name, new { recovery_code = user.RecoveryCodes[1] })).Body()).GetProperty("access_token").GetString()!;
        Assert.Equal(HttpStatusCode.BadRequest, (await Client.SendAsync(WithToken(HttpMethod.Delete, "/api/me/totp", token, new { password = "nope" }))).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await Client.SendAsync(WithToken(HttpMethod.Delete, "/api/me/totp", token, new { password = Password }))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Login(user.Name, Password)).StatusCode);
    }

    [Fact]
    public async Task The_admin_cli_resets_every_second_factor()
    {
        var user = await EnrolAsync();
        Assert.Equal(0, await Cli.CountersignCli.Create(Server.ConfigureBuilder).Parse(["users", "reset-mfa", user.Name]).InvokeAsync());
        Assert.Equal(HttpStatusCode.OK, (await Login(user.Name, Password)).StatusCode);
        Assert.True(await WithScope(sp => sp.GetRequiredService<CountersignDb>().AuditEvents
            .AnyAsync(e => e.Action == Audit.AuditActions.TotpDisabled && e.Username == user.Name && e.Detail!.Contains("admin_cli"))));
    }

    [Fact]
    public async Task Admins_read_the_server_time_and_step_to_diagnose_drift()
    {
        var token = await TokenAsync(await UserWithRoleAsync(Accounts.Roles.Admin));
        var time = await (await Client.SendAsync(WithToken(HttpMethod.Get, "/api/admin/time", token))).Body();
        Assert.InRange(time.GetProperty("step").GetInt64(), Rfc6238.StepAt(DateTimeOffset.UtcNow) - 1, Rfc6238.StepAt(DateTimeOffset.UtcNow) + 1);
        Assert.Equal(30, time.GetProperty("period").GetInt32());
    }

    [Fact]
    public async Task Neither_the_secret_nor_the_recovery_codes_appear_in_clear_anywhere_in_the_database()
    {
        var user = await EnrolAsync();
        var dump = await DumpDatabaseAsync();
        Assert.NotEmpty(dump);
        Assert.DoesNotContain(user.Base32, dump, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(Convert.ToHexString(user.Secret), dump, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(Encoding.Latin1.GetString(user.Secret), dump, StringComparison.Ordinal);
        foreach (var code in user.RecoveryCodes)
        {
            Assert.DoesNotContain(code, dump, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain(code.Replace("-", "", StringComparison.Ordinal), dump, StringComparison.OrdinalIgnoreCase);
        }
        Assert.Contains(user.Name, dump, StringComparison.Ordinal);
    }

    /// <summary>Every byte the database holds, as text: the SQLite file and its WAL, or every PostgreSQL table.</summary>
    private async Task<string> DumpDatabaseAsync()
    {
        if (Server.DatabaseKind == Database.Sqlite)
        {
            var file = Server.Settings["Storage:ConnectionString"]!["Data Source=".Length..];
            var text = new StringBuilder();
            foreach (var path in new[] { file, file + "-wal" }.Where(File.Exists))
            {
                await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
                using var memory = new MemoryStream();
                await stream.CopyToAsync(memory);
                text.Append(Encoding.Latin1.GetString(memory.ToArray()));
            }
            return text.ToString();
        }
        await using var connection = new NpgsqlConnection(Server.Settings["Storage:ConnectionString"]);
        await connection.OpenAsync();
        var tables = new List<string>();
        await using (var list = new NpgsqlCommand("SELECT tablename FROM pg_tables WHERE schemaname = 'public'", connection))
        await using (var reader = await list.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                tables.Add(reader.GetString(0));
            }
        }
        var dump = new StringBuilder();
        foreach (var table in tables)
        {
            await using var select = new NpgsqlCommand($"SELECT coalesce(string_agg(t::text, E'\\n'), '') FROM \"{table}\" t", connection);
            dump.Append(await select.ExecuteScalarAsync());
        }
        return dump.ToString();
    }
}

public sealed class SqliteTotpTests(SqliteServer server) : TotpSuite(server), IClassFixture<SqliteServer>;

public sealed class PostgresTotpTests(PostgresServer server) : TotpSuite(server), IClassFixture<PostgresServer>;
