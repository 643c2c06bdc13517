using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Countersign.Storage;
using Countersign.Tests.Api;
using Countersign.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace Countersign.Tests.Hardening;

/// <summary>
/// The penetration test's findings (issue 11), each as the request that used to break the server, run on
/// SQLite with the in-memory store and on PostgreSQL with Redis.
/// </summary>
public abstract class HardeningSuite(TestServer server) : ApiSuiteBase(server)
{
    private static HttpRequestMessage Raw(HttpMethod method, string path, string? body = null, string? contentType = null)
    {
        var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = new StringContent(body);
            request.Content.Headers.Remove("Content-Type");
            // Unvalidated, so malformed values ("charset=") go out as written.
            request.Content.Headers.TryAddWithoutValidation("Content-Type", contentType ?? "application/json");
        }
        return request;
    }

    [Theory]
    [InlineData("application/json; charset=ebcdic")]
    [InlineData("application/json; charset=utf-7")]
    [InlineData("application/json; charset=x-no-such-charset")]
    [InlineData("application/json; charset=UTF8")]
    [InlineData("application/json; charset=")]
    [InlineData("application/x-www-form-urlencoded; charset=utf-7")]
    public async Task M1_1_a_body_in_a_charset_other_than_utf8_is_a_415_problem(string contentType)
    {
        foreach (var path in new[] { "/api/auth/login", "/api/accounts", "/api/auth/refresh" })
        {
            var response = await Client.SendAsync(Raw(HttpMethod.Post, path, """{"username":"a","password":"b"}""", contentType));
            Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
            Assert.Equal("unsupported_charset", (await response.Body()).GetProperty("error").GetString());
        }
        // UTF-8 named explicitly is fine, quoted or not.
        foreach (var utf8 in new[] { "application/json; charset=UTF-8", "application/json; charset=\"utf-8\"" })
        {
            var response = await Client.SendAsync(Raw(HttpMethod.Post, "/api/auth/login", $$"""{"username":"{{NewName()}}","password":"b"}""", utf8));
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        }
    }

    [Theory]
    [InlineData("GET", "/api/me", 401, "unauthorized")]
    [InlineData("GET", "/no-such-page", 404, "not_found")]
    [InlineData("DELETE", "/api/auth/login", 405, "method_not_allowed")]
    public async Task M1_2_a_bodiless_error_asked_for_as_html_is_still_a_problem(string method, string path, int status, string error)
    {
        var request = Raw(new HttpMethod(method), path);
        request.Headers.Accept.ParseAdd("text/html");
        var response = await Client.SendAsync(request);
        Assert.Equal(status, (int)response.StatusCode);
        Assert.Equal(error, (await response.Body()).GetProperty("error").GetString());
    }

    [Fact]
    public async Task M1_4_a_passkey_credential_without_a_ceremony_is_refused_not_a_crash()
    {
        using var anonymous = new BrowserSession(Server.BaseAddress);
        var token = await anonymous.TokenAsync("/login");
        var signIn = new HttpRequestMessage(HttpMethod.Post, "/login/passkey")
        {
            Content = new StringContent("""{"credential":"x"}""", Encoding.UTF8, "application/json"),
        };
        signIn.Headers.Add("RequestVerificationToken", token);
        var response = await anonymous.Client.SendAsync(signIn);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("invalid_passkey", (await response.Body()).GetProperty("error").GetString());

        var name = await RegisterAsync();
        using var browser = new BrowserSession(Server.BaseAddress);
        await browser.SignInAsync(name, Password);
        var accountToken = await browser.TokenAsync("/account");
        var register = new HttpRequestMessage(HttpMethod.Post, "/account/passkeys")
        {
            Content = new StringContent("""{"credential":"x"}""", Encoding.UTF8, "application/json"),
        };
        register.Headers.Add("RequestVerificationToken", accountToken);
        var registered = await browser.Client.SendAsync(register);
        Assert.Equal(HttpStatusCode.BadRequest, registered.StatusCode);
        Assert.Equal("passkey_rejected", (await registered.Body()).GetProperty("error").GetString());

        // A form body the anti-forgery check cannot read is a 400 too.
        var unreadable = new HttpRequestMessage(HttpMethod.Post, "/account/passkeys/creation-options") { Content = new StringContent("{}") };
        unreadable.Content.Headers.Remove("Content-Type");
        unreadable.Content.Headers.TryAddWithoutValidation("Content-Type", "multipart/form-data; boundary=x");
        Assert.Equal(HttpStatusCode.BadRequest, (await browser.Client.SendAsync(unreadable)).StatusCode);
    }

    [Fact]
    public async Task M1_5_a_form_key_in_bracket_syntax_is_just_an_unknown_field()
    {
        using var browser = new BrowserSession(Server.BaseAddress);
        var token = await browser.TokenAsync("/login");
        foreach (var key in new[] { "[", "a[", "[b]]", "]" })
        {
            var response = await browser.PostFormAsync("/login", token, (key, "1"), ("Username", NewName()), ("Password", "wrong"));
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        }
    }

    [Fact]
    public async Task M1_6_a_page_request_no_handler_takes_is_405()
    {
        var name = await RegisterAsync();
        using var browser = new BrowserSession(Server.BaseAddress);
        await browser.SignInAsync(name, Password);
        var trace = await browser.Client.SendAsync(new HttpRequestMessage(HttpMethod.Trace, "/account"));
        Assert.Equal(HttpStatusCode.MethodNotAllowed, trace.StatusCode);
        var token = await browser.TokenAsync("/account");
        var post = await browser.PostFormAsync("/account", token);
        Assert.Equal(HttpStatusCode.MethodNotAllowed, post.StatusCode);
        Assert.Equal("method_not_allowed", (await post.Body()).GetProperty("error").GetString());
        // The page itself still works.
        Assert.Equal(HttpStatusCode.OK, (await browser.Client.GetAsync("/account")).StatusCode);
    }

    [Fact]
    public async Task M1_7_concurrent_totp_enrolments_of_one_user_never_fail()
    {
        var token = await TokenAsync(await RegisterAsync());
        var responses = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Client.SendAsync(WithToken(HttpMethod.Post, "/api/me/totp", token))));
        Assert.All(responses, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
    }

    [Theory]
    [InlineData(300, "x")]
    [InlineData(20, "\uFDFA")]
    [InlineData(60_000, "y")]
    [InlineData(40, "\U0001F600")]
    public async Task M1_8_and_M3_an_overlong_username_fails_like_any_other_and_is_audited_cut_short(int repeat, string unit)
    {
        // An odd number of ASCII characters first, so a cut at 64 UTF-16 units would fall inside a surrogate pair.
        var name = "a" + string.Concat(Enumerable.Repeat(unit, repeat)) + Guid.NewGuid().ToString("N")[..6];
        var response = await Login(name, "wrong password");
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("invalid_credentials", (await response.Body()).GetProperty("error").GetString());

        var row = await WithScope(async sp => await sp.GetRequiredService<CountersignDb>().AuditEvents.AsNoTracking()
            .Where(e => e.Action == Countersign.Audit.AuditActions.LoginFailed).OrderByDescending(e => e.Id).FirstAsync());
        Assert.NotNull(row.Username);
        Assert.True(row.Username.Length <= Countersign.Accounts.UsernameValidator.MaxLength + 1, $"audited {row.Username.Length} characters");
        Assert.EndsWith("…", row.Username, StringComparison.Ordinal);
        Assert.DoesNotContain(Enumerable.Range(0, row.Username.Length), i => char.IsHighSurrogate(row.Username[i])
            && (i + 1 == row.Username.Length || !char.IsLowSurrogate(row.Username[i + 1])));
    }

    public static TheoryData<string> LookAlikes => new()
    {
        "\u200B", "\u200D", "\uFEFF", "\u2060", "\u00AD", "\u2062", "\u180E",
    };

    [Theory]
    [MemberData(nameof(LookAlikes))]
    public async Task M4_an_invisible_character_makes_no_new_name(string invisible)
    {
        var name = await RegisterAsync("alice" + Guid.NewGuid().ToString("N")[..6]);
        foreach (var variant in new[] { name + invisible, name[..2] + invisible + name[2..], invisible + name })
        {
            var response = await Client.PostJson("/api/accounts", new { username = variant, password = Password });
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Contains("InvalidUserName", (await response.Body()).GetProperty("codes").EnumerateArray().Select(c => c.GetString()));
        }
    }

    [Fact]
    public async Task M4_look_alike_names_are_taken()
    {
        var suffix = Guid.NewGuid().ToString("N")[..6];
        var name = await RegisterAsync("alice" + suffix);
        var refused = new[]
        {
            "\u202E" + "ecila" + suffix,            // right-to-left override: shows as "alice…"
            "\u0430lice" + suffix,                  // Cyrillic а
            "ali\u0441e" + suffix,                  // Cyrillic с
            "al\u0456ce" + suffix,                  // Cyrillic і
            "al\u0131ce" + suffix,                  // dotless ı
            "al\u0131\u0307ce" + suffix,            // dotless ı with a combining dot above
            "ali\u0307ce" + suffix,                 // i with a second dot
            "aIice" + suffix,                       // capital I for l
            "ALICE" + suffix,
        };
        foreach (var variant in refused)
        {
            var response = await Client.PostJson("/api/accounts", new { username = variant, password = Password });
            Assert.True(response.StatusCode is HttpStatusCode.Conflict or HttpStatusCode.BadRequest,
                $"{Uri.EscapeDataString(variant)} answered {(int)response.StatusCode}");
        }
        Assert.Equal(HttpStatusCode.Conflict, (await Client.PostJson("/api/accounts", new { username = "\u0430lice" + suffix, password = Password })).StatusCode);
        // The real owner still signs in, and names in other scripts still register.
        await LoginAsync(name);
        foreach (var other in new[] { "José", "Zoë", "Ελένη", "Дмитрий", "山田太郎", "Nguyễn" })
        {
            await RegisterAsync(other + Guid.NewGuid().ToString("N")[..6]);
        }
    }

    [Fact]
    public async Task L1_pages_and_api_responses_carry_the_security_headers()
    {
        var page = await Client.GetAsync("/login");
        var csp = string.Join(";", page.Headers.GetValues("Content-Security-Policy"));
        Assert.Contains("frame-ancestors 'none'", csp, StringComparison.Ordinal);
        Assert.Contains("object-src 'none'", csp, StringComparison.Ordinal);
        var scriptSrc = csp.Split(';').Select(d => d.Trim()).Single(d => d.StartsWith("script-src", StringComparison.Ordinal));
        Assert.DoesNotContain("unsafe-inline", scriptSrc, StringComparison.Ordinal);
        Assert.DoesNotContain("unsafe-eval", scriptSrc, StringComparison.Ordinal);
        Assert.Equal("DENY", page.Headers.GetValues("X-Frame-Options").Single());
        Assert.Equal("same-origin", page.Headers.GetValues("Cross-Origin-Opener-Policy").Single());
        Assert.Contains("camera=()", page.Headers.GetValues("Permissions-Policy").Single(), StringComparison.Ordinal);
        // HSTS only over HTTPS (RFC 6797 §7.2): this test server speaks plain HTTP.
        Assert.False(page.Headers.Contains("Strict-Transport-Security"));

        foreach (var response in new[] { page, await Client.GetAsync("/api/me"), await Client.GetAsync("/site.css"), await Login(NewName(), "x") })
        {
            Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
            Assert.Equal("strict-origin-when-cross-origin", response.Headers.GetValues("Referrer-Policy").Single());
        }
    }

    [Fact]
    public async Task L2_responses_with_tokens_secrets_or_codes_are_not_stored()
    {
        var name = await RegisterAsync();
        var login = await Login(name, Password);
        var tokens = await login.Body();
        var refresh = await Client.PostJson("/api/auth/refresh", new { refresh_token = tokens.GetProperty("refresh_token").GetString() });
        var access = (await refresh.Body()).GetProperty("access_token").GetString()!;
        var start = await Client.SendAsync(WithToken(HttpMethod.Post, "/api/me/totp", access));
        var secret = (await start.Body()).GetProperty("secret").GetString()!;
        var code = Countersign.Totp.Rfc6238.Code(OtpNet.Base32Encoding.ToBytes(secret), Countersign.Totp.Rfc6238.StepAt(DateTimeOffset.UtcNow));
        var confirm = await Client.SendAsync(WithToken(HttpMethod.Post, "/api/me/totp/confirm", access, new { code }));
        Assert.Equal(HttpStatusCode.OK, confirm.StatusCode);
        foreach (var response in new[] { login, refresh, start, confirm })
        {
            Assert.True(response.Headers.CacheControl?.NoStore, $"{response.RequestMessage?.RequestUri} is cacheable");
        }
    }

    [Fact]
    public async Task L3_registration_says_taken_only_to_a_valid_password()
    {
        var name = await RegisterAsync();
        var weak = await Client.PostJson("/api/accounts", new { username = name, password = "abc" });
        Assert.Equal(HttpStatusCode.BadRequest, weak.StatusCode);
        var codes = (await weak.Body()).GetProperty("codes").EnumerateArray().Select(c => c.GetString()).ToList();
        Assert.DoesNotContain("DuplicateUserName", codes);
        Assert.Contains("PasswordTooShort", codes);
        Assert.Equal(HttpStatusCode.Conflict, (await Client.PostJson("/api/accounts", new { username = name, password = Password })).StatusCode);
    }
}

public sealed class SqliteHardeningTests(SqliteServer server) : HardeningSuite(server), IClassFixture<SqliteServer>;

public sealed class PostgresHardeningTests(PostgresServer server) : HardeningSuite(server), IClassFixture<PostgresServer>;
