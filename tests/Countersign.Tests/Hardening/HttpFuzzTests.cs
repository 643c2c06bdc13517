using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Countersign.Tests.Infrastructure;
using Npgsql;
using Xunit.Abstractions;

namespace Countersign.Tests.Hardening;

/// <summary>
/// A seeded HTTP fuzzer against a real server process: every operation of <c>/openapi/v1.json</c> (read at run
/// time, so a new endpoint is covered the day it is added) and every form of every page, with malformed bodies,
/// charsets, methods, headers and lengths, signed in (bearer and cookie, as a user and as an administrator) and
/// not. Any 5xx, any answer slower than 5 s, or the process exiting fails the test, with the seed and the
/// requests that did it. <c>COUNTERSIGN_FUZZ_SEED</c> replays a run; <c>COUNTERSIGN_FUZZ_SECONDS</c> changes its length.
/// </summary>
public sealed partial class HttpFuzzTests(ITestOutputHelper output)
{
    private const string Password = "violet Anchor 7 drifting kites";
    private static readonly TimeSpan Slow = TimeSpan.FromSeconds(5);

    private static int Seed => int.TryParse(Environment.GetEnvironmentVariable("COUNTERSIGN_FUZZ_SEED"), out var s) ? s : 20261201;

    private static TimeSpan Budget => TimeSpan.FromSeconds(
        double.TryParse(Environment.GetEnvironmentVariable("COUNTERSIGN_FUZZ_SECONDS"), CultureInfo.InvariantCulture, out var s) ? s : 40);

    private static Dictionary<string, string> Common => new()
    {
        ["Defences:RateLimits:Enabled"] = "false",
        // Off so attempts reach the password and second-factor code; a captcha field is still verified when sent.
        ["Defences:Captcha:Enabled"] = "false",
        ["Audit:AttemptLogPath"] = "data/attempts.jsonl",
    };

    private static IReadOnlyList<string[]> Admin => [["users", "add", "fuzzadmin", "--password", Password, "--admin"]];

    [Fact]
    public async Task Fuzz_every_operation_and_form_on_sqlite_without_a_5xx()
    {
        await using var server = await ChildServer.StartAsync(Common, commands: Admin);
        await RunAsync(server, Seed);
    }

    [Fact]
    public async Task Fuzz_every_operation_and_form_on_postgres_and_redis_without_a_5xx()
    {
        var database = "cs_fuzz_" + Guid.NewGuid().ToString("N");
        await using (var admin = await NpgsqlDataSource.Create(Required.Postgres).OpenConnectionAsync())
        {
            await using var create = new NpgsqlCommand($"CREATE DATABASE {database}", admin);
            await create.ExecuteNonQueryAsync();
        }
        try
        {
            var settings = Common;
            settings["Storage:Provider"] = "Postgres";
            settings["Storage:ConnectionString"] = new NpgsqlConnectionStringBuilder(Required.Postgres) { Database = database }.ConnectionString;
            settings["Storage:MigrateAtStart"] = "true";
            settings["Redis:Configuration"] = Required.Redis;
            settings["Redis:KeyPrefix"] = $"fuzz:{Guid.NewGuid():N}:";
            await using var server = await ChildServer.StartAsync(settings, commands: Admin);
            await RunAsync(server, Seed + 1);
        }
        finally
        {
            NpgsqlConnection.ClearAllPools();
            await using var admin = await NpgsqlDataSource.Create(Required.Postgres).OpenConnectionAsync();
            await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS {database} WITH (FORCE)", admin);
            await drop.ExecuteNonQueryAsync();
        }
    }

    private sealed record Operation(string Method, string Path, JsonObject? BodySchema);

    /// <summary>A form as one identity saw it: its anti-forgery token is bound to that identity's cookies.</summary>
    private sealed record Form(string Page, string Action, IReadOnlyList<string> Fields, string? Token, Identity Owner);

    private sealed record Identity(string Name, string? Bearer, BrowserSession? Browser);

    private async Task RunAsync(ChildServer server, int seed)
    {
        using var anonymous = server.CreateClient();
        var document = JsonNode.Parse(await anonymous.GetStringAsync("/openapi/v1.json"))!.AsObject();
        var operations = Operations(document);
        Assert.True(operations.Count >= 20, $"only {operations.Count} operations in /openapi/v1.json");

        var user = "fuzz" + Guid.NewGuid().ToString("N")[..8];
        Assert.Equal(HttpStatusCode.Created, (await anonymous.PostAsync("/api/accounts", JsonBody(new { username = user, password = Password }))).StatusCode);
        var identities = new List<Identity> { new("anonymous", null, null) };
        foreach (var name in new[] { user, "fuzzadmin" })
        {
            var login = await anonymous.PostAsync("/api/auth/login", JsonBody(new { username = name, password = Password }));
            Assert.Equal(HttpStatusCode.OK, login.StatusCode);
            var bearer = JsonDocument.Parse(await login.Content.ReadAsStringAsync()).RootElement.GetProperty("access_token").GetString();
            var browser = new BrowserSession(server.BaseAddress);
            await browser.SignInAsync(name, Password);
            identities.Add(new(name, bearer, browser));
        }
        var anonymousBrowser = new BrowserSession(server.BaseAddress);
        identities.Add(new("anonymous-browser", null, anonymousBrowser));

        var forms = new List<Form>();
        foreach (var identity in identities.Where(i => i.Browser is not null))
        {
            foreach (var page in new[] { "/", "/login", "/account", "/calls", "/logout", "/docs", "/devices/add", "/signup", "/login/forgot",
                "/login/new-password", "/account?confirm=sign-out-others", "/account?confirm=remove-totp", "/account?confirm=new-codes",
                "/reauth", "/admin", "/admin/users", "/admin/defences", "/admin/pairs", "/admin/audit",
                "/admin/services", "/admin/clients" })
            {
                // Some pages redirect some identities (to /login, or from /logout); those have no form to offer.
                var html = await (await identity.Browser!.Client.GetAsync(page)).Content.ReadAsStringAsync();
                // Signing out would leave the rest of the run without that session; the anonymous browser posts it instead.
                // So would ending its other sessions (its bearer token is one): those forms are fuzzed unconfirmed only.
                forms.AddRange(Forms(page, html, identity).Where(f => identity.Bearer is null
                    || !(f.Action.StartsWith("/logout", StringComparison.OrdinalIgnoreCase)
                        || f.Action.Contains("handler=RevokeSession", StringComparison.OrdinalIgnoreCase)
                        || f.Action.Contains("handler=SignOutOthers", StringComparison.OrdinalIgnoreCase))));
            }
        }
        Assert.Contains(forms, f => f.Page == "/login");
        Assert.Contains(forms, f => f.Page == "/account");
        Assert.Contains(forms, f => f.Page == "/devices/add");
        Assert.Contains(forms, f => f.Page == "/signup");
        Assert.Contains(forms, f => f.Page == "/login/forgot");
        Assert.Contains(forms, f => f.Action.Contains("handler=ChangePassword", StringComparison.OrdinalIgnoreCase));
        // The console's forms, as the administrator (signed in moments ago, so step-up lets them through to the handlers).
        Assert.Contains(forms, f => f.Page == "/admin/users" && f.Owner.Name == "fuzzadmin");
        Assert.Contains(forms, f => f.Page == "/admin/pairs" && f.Owner.Name == "fuzzadmin");
        Assert.Contains(forms, f => f.Page == "/admin/services" && f.Action.Contains("handler=Grant", StringComparison.OrdinalIgnoreCase));
        Assert.Contains(forms, f => f.Page == "/admin/clients" && f.Action.Contains("handler=Add", StringComparison.OrdinalIgnoreCase));
        Assert.Contains(forms, f => f.Page == "/reauth");

        var failures = new ConcurrentQueue<string>();
        var count = 0L;
        var slowest = TimeSpan.Zero;
        var gate = new Lock();
        var clock = Stopwatch.StartNew();
        var workers = Enumerable.Range(0, 4).Select(w => Task.Run(async () =>
        {
            var random = new Random(seed * 31 + w);
            while (clock.Elapsed < Budget && failures.Count < 20 && !server.HasExited)
            {
                var form = random.Next(4) == 0 ? forms[random.Next(forms.Count)] : null;
                var identity = form?.Owner ?? identities[random.Next(identities.Count)];
                var client = identity.Browser?.Client ?? anonymous;
                using var request = form is not null
                    ? FormRequest(random, form)
                    : OperationRequest(random, operations[random.Next(operations.Count)], identity.Bearer);
                var described = $"{request.Method} {request.RequestUri} as {identity.Name} [{request.Content?.Headers.ContentType}]";
                var body = request.Content is null ? "" : Encoding.UTF8.GetString(await request.Content.ReadAsByteArrayAsync());
                var started = Stopwatch.StartNew();
                try
                {
                    using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
                    using var response = await client.SendAsync(request, timeout.Token);
                    await response.Content.ReadAsByteArrayAsync(timeout.Token);
                    var took = started.Elapsed;
                    lock (gate)
                    {
                        slowest = took > slowest ? took : slowest;
                    }
                    if ((int)response.StatusCode >= 500)
                    {
                        failures.Enqueue($"{(int)response.StatusCode} for {described} body {Clip(body)}");
                    }
                    else if (took > Slow)
                    {
                        failures.Enqueue($"{took.TotalSeconds:F1} s for {described} body {Clip(body)}");
                    }
                }
                catch (Exception)
                {
                    // A connection the server closed on a bad request, or a request HttpClient will not send, is fine; a hang is not.
                    if (started.Elapsed > Slow)
                    {
                        failures.Enqueue($"no answer in {started.Elapsed.TotalSeconds:F1} s for {described} body {Clip(body)}");
                    }
                }
                Interlocked.Increment(ref count);
            }
        })).ToList();
        await Task.WhenAll(workers);
        foreach (var identity in identities)
        {
            identity.Browser?.Dispose();
        }

        output.WriteLine($"seed {seed}: {count} requests over {operations.Count} operations and {forms.Count} forms in {clock.Elapsed.TotalSeconds:F0} s, slowest {slowest.TotalMilliseconds:F0} ms");
        Assert.False(server.HasExited, $"the server exited (code {(server.HasExited ? server.ExitCode : 0)}), seed {seed}:\n{server.Output}");
        Assert.True(failures.IsEmpty, $"seed {seed}, {count} requests:\n{string.Join('\n', failures.Take(20))}\n--- server log tail ---\n{Tail(server.Output)}");
        Assert.True(count > 500, $"only {count} requests in {Budget}");
    }

    private static string Tail(string log) => log.Length > 6000 ? log[^6000..] : log;

    private static string Clip(string body) => body.Length > 160 ? body[..160] + $"…({body.Length})" : body;

    private static StringContent JsonBody(object value) => new(JsonSerializer.Serialize(value), Encoding.UTF8, "application/json");

    private static List<Operation> Operations(JsonObject document)
    {
        var schemas = document["components"]?["schemas"]?.AsObject();
        var list = new List<Operation>();
        foreach (var (path, item) in document["paths"]!.AsObject())
        {
            foreach (var (method, operation) in item!.AsObject())
            {
                if (method is "parameters" or "summary" or "description" or "servers")
                {
                    continue;
                }
                var schema = operation?["requestBody"]?["content"]?["application/json"]?["schema"];
                list.Add(new(method.ToUpperInvariant(), path, Resolve(schema, schemas)));
            }
        }
        return list;
    }

    private static JsonObject? Resolve(JsonNode? schema, JsonObject? schemas)
    {
        if (schema?["$ref"]?.GetValue<string>() is { } reference && schemas is not null)
        {
            return schemas[reference.Split('/')[^1]]?.AsObject();
        }
        return schema as JsonObject;
    }

    private static IEnumerable<Form> Forms(string page, string html, Identity owner)
    {
        foreach (Match form in FormElement().Matches(html))
        {
            var action = ActionAttribute().Match(form.Groups[1].Value) is { Success: true } a ? WebUtility.HtmlDecode(a.Groups[1].Value) : page;
            var fields = NameAttribute().Matches(form.Groups[2].Value).Select(m => m.Groups[1].Value)
                .Where(n => n != "__RequestVerificationToken").Distinct().ToList();
            yield return new(page, action, fields, BrowserSession.Token(form.Value), owner);
        }
    }

    // ---- requests ----

    private static readonly string[] Methods = ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD", "TRACE", "PROPFIND", "FOO"];

    private static readonly string?[] ContentTypes =
    [
        "application/json", "application/json; charset=utf-8", "application/json; charset=\"utf-8\"", "application/json; charset=UTF8", "application/json; charset=ebcdic",
        "application/json; charset=utf-7", "application/json; charset=utf-16", "application/json; charset=iso-8859-1",
        "application/json; charset=", "application/json;;", "application/merge-patch+json", "text/plain", "text/json",
        "application/x-www-form-urlencoded", "application/x-www-form-urlencoded; charset=utf-7", "multipart/form-data; boundary=x",
        "multipart/form-data", "application/xml", "*/*", "application/json; boundary=\"", null,
    ];

    private static readonly string[] Accepts =
    [
        "application/json", "text/html", "*/*", "application/xml", "text/html;q=0.1, application/problem+json", "image/png", "garbage", "",
    ];

    private static readonly string[] Segments =
    [
        "00000000-0000-0000-0000-000000000000", "x", "-1", "0", "99999999999999999999", "%00", "%2e%2e%2f%2e%2e", "%E2%80%AE",
        "a%20b", new('a', 300), "%FF%FE", "null", "true", "{id}", "%ED%A0%80",
    ];

    private static HttpRequestMessage OperationRequest(Random random, Operation operation, string? bearer)
    {
        var path = PathParameter().Replace(operation.Path, _ => random.Next(3) == 0 ? Guid.NewGuid().ToString() : Pick(random, Segments));
        if (random.Next(5) == 0)
        {
            path += "?" + Pick(random, ["a=1", "%zz", "handler=x", "returnUrl=//evil.example", new string('q', 3000) + "=1", "x[]=1&x[=2"]);
        }
        var method = random.Next(6) == 0 ? Pick(random, Methods) : operation.Method;
        var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (method is not ("GET" or "HEAD" or "TRACE") || random.Next(8) == 0)
        {
            var body = random.Next(5) == 0 ? Garbage(random) : JsonFor(random, operation.BodySchema);
            SetContent(request, random, body, random.Next(4) == 0 ? Pick(random, ContentTypes) : "application/json");
        }
        Decorate(request, random, bearer);
        return request;
    }

    private static HttpRequestMessage FormRequest(Random random, Form form)
    {
        var method = random.Next(8) == 0 ? Pick(random, Methods) : "POST";
        var request = new HttpRequestMessage(new HttpMethod(method), form.Action);
        var fields = new List<KeyValuePair<string, string>>();
        if (form.Token is not null && random.Next(6) != 0)
        {
            fields.Add(new("__RequestVerificationToken", random.Next(10) == 0 ? "forged" : form.Token));
        }
        foreach (var field in form.Fields)
        {
            if (random.Next(5) != 0)
            {
                fields.Add(new(field, Value(random)));
            }
        }
        if (random.Next(4) == 0)
        {
            fields.Add(new(Pick(random, ["[", "]", "a[", "[0]", "a.b", "handler", "__proto__", new string('k', 2000), "%00", "Username[0]"]), Value(random)));
        }
        var encoded = string.Join('&', fields.Select(f => Uri.EscapeDataString(f.Key) + "=" + Uri.EscapeDataString(f.Value)));
        if (random.Next(10) == 0)
        {
            encoded = Garbage(random);
        }
        SetContent(request, random, encoded, random.Next(5) == 0 ? Pick(random, ContentTypes) : "application/x-www-form-urlencoded");
        Decorate(request, random, bearer: null);
        return request;
    }

    private static void SetContent(HttpRequestMessage request, Random random, string body, string? contentType)
    {
        var content = new ByteArrayContent(random.Next(20) == 0 ? Encoding.Unicode.GetBytes(body) : Encoding.UTF8.GetBytes(body));
        if (contentType is not null)
        {
            content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        }
        request.Content = content;
    }

    private static void Decorate(HttpRequestMessage request, Random random, string? bearer)
    {
        if (random.Next(3) == 0)
        {
            request.Headers.TryAddWithoutValidation("Accept", Pick(random, Accepts));
        }
        if (bearer is not null && random.Next(6) != 0)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", random.Next(10) == 0 ? bearer[..^3] + "AAA" : bearer);
        }
        else if (random.Next(6) == 0)
        {
            request.Headers.TryAddWithoutValidation("Authorization",
                Pick(random, ["Bearer", "Bearer x.y.z", "Basic Zm9vOmJhcg==", "Bearer " + new string('a', 5000), "Bearer eyJhbGciOiJub25lIn0.e30.", "Negotiate"]));
        }
        if (random.Next(6) == 0)
        {
            request.Headers.TryAddWithoutValidation(Pick(random, ["X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host", "X-Forwarded-Uri", "X-Forwarded-Method", "Origin", "Referer", "User-Agent", "Accept-Language", "Accept-Charset", "If-None-Match", "Range", "Expect"]),
                Pick(random, ["1.2.3.4, ::1", "javascript:alert(1)", "https://evil.example", new string('h', 6000), "/pub/..;/%2e%2e/%ZZ", "x", "\u00e9t\u00e9", "bytes=0-1,5-", "100-continue", "*", ""]));
        }
        if (random.Next(8) == 0)
        {
            request.Headers.TryAddWithoutValidation("Cookie", Pick(random, ["__Host-countersign=garbage", "a=b; " + new string('c', 4000), ".AspNetCore.Antiforgery.x=y",
                "__Secure-cs_device=garbage", "__Secure-cs_device=0123456789abcdef0123456789abcdef.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA_", "__Secure-cs_device=" + new string('d', 76)]));
        }
    }

    private static string JsonFor(Random random, JsonObject? schema)
    {
        var properties = schema?["properties"]?.AsObject().Select(p => p.Key).ToList() ?? [];
        var node = new JsonObject();
        foreach (var property in properties)
        {
            if (random.Next(4) != 0)
            {
                node[property] = JsonValueFor(random, depth: 0);
            }
        }
        if (random.Next(6) == 0)
        {
            node[Pick(random, ["extra", "__proto__", "$type", ""])] = JsonValueFor(random, 0);
        }
        var text = node.ToJsonString();
        return random.Next(10) switch
        {
            0 => text[..random.Next(text.Length + 1)],                     // truncated
            1 => Pick(random, ["null", "[]", "\"x\"", "1", "true", "{", "}", "[{}]", "{\"a\":1,\"a\":2}"]),
            2 => new string('[', 5000) + new string(']', 5000),             // deep nesting
            3 => "{\"username\":\"" + new string('u', 70_000) + "\",\"password\":\"p\"}", // over the body limit
            _ => text,
        };
    }

    private static JsonNode? JsonValueFor(Random random, int depth) => random.Next(depth > 1 ? 7 : 9) switch
    {
        0 => null,
        1 => JsonValue.Create(random.Next(int.MinValue, int.MaxValue)),
        2 => JsonValue.Create(random.NextDouble() * 1e300),
        3 => JsonValue.Create(random.Next(2) == 0),
        4 or 5 or 6 => JsonValue.Create(Value(random)),
        7 => new JsonArray(JsonValueFor(random, depth + 1), JsonValueFor(random, depth + 1)),
        _ => new JsonObject { ["k"] = JsonValueFor(random, depth + 1) },
    };

    private static readonly string[] Values =
    [
        "", " ", "a", "fuzzadmin", "admin", "123456", "000000", "en", "fr", "xx", "\u0000", "\u202Eecila", "alice\u200B", "\uFDFA\uFDFA\uFDFA",
        "' OR 1=1 --", "<script>alert(1)</script>", "../../etc/passwd", "%00", "\uD800", "𝕒𝕝𝕚𝕔𝕖", "9999999999999999999999",
        "YWJj", "eyJhbGciOiJIUzI1NiJ9.e30.x", "/account", "//evil.example", "\\\\evil", "javascript:alert(1)",
    ];

    private static string Value(Random random) => random.Next(12) switch
    {
        0 => new string((char)random.Next(0x20, 0xD7FF), random.Next(1, 400)),
        1 => new string('x', Pick(random, [64, 65, 128, 129, 256, 257, 4096, 60_000])),
        2 => Convert.ToBase64String(Encoding.UTF8.GetBytes(Pick(random,
            ["{\"algorithm\":\"SHA-256\",\"challenge\":\"a\",\"number\":1,\"salt\":\"a?expires=99999999999999\",\"signature\":\"b\"}", "{}", "[]", "x"]))),
        _ => Pick(random, Values),
    };

    private static string Garbage(Random random)
    {
        var bytes = new byte[Pick(random, [0, 1, 7, 100, 1000, 65_000, 70_000])];
        random.NextBytes(bytes);
        return Encoding.Latin1.GetString(bytes);
    }

    private static T Pick<T>(Random random, T[] items) => items[random.Next(items.Length)];

    [GeneratedRegex(@"\{[^}]+\}")]
    private static partial Regex PathParameter();

    [GeneratedRegex(@"<form([^>]*)>(.*?)</form>", RegexOptions.Singleline)]
    private static partial Regex FormElement();

    [GeneratedRegex("action=\"([^\"]*)\"")]
    private static partial Regex ActionAttribute();

    [GeneratedRegex("name=\"([^\"]+)\"")]
    private static partial Regex NameAttribute();
}
