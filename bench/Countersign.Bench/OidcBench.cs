using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.WebUtilities;

/// <summary>
/// The OpenID Connect token endpoint (issue 15, docs/benchmarks.md): refresh-token rotations for a public and a confidential
/// client, and client-credentials grants, each as requests per second from concurrent workers, with the API's own refresh
/// (<c>POST /api/auth/refresh</c>) as the baseline in the same run, one server on PostgreSQL. Every worker rotates its own
/// chain, as one application per user would.
/// </summary>
internal static partial class OidcBench
{
    private const string Password = "violet Anchor 7 drifting kites";
    private const string Redirect = "https://bench.example.test/cb";

    public static async Task<int> RunAsync(string[] args)
    {
        var options = new BenchArgs(args, "--postgres", "--rounds", "--seconds", "--server", "--workers");
        var smoke = options.Smoke;
        var dll = options.Get("--server") ?? throw new ArgumentException("--server PATH/countersign.dll is required");
        var postgres = options.Get("--postgres") ?? throw new ArgumentException("--postgres CONNECTION is required");
        var seconds = smoke ? 1 : int.Parse(options.Get("--seconds") ?? "10", CultureInfo.InvariantCulture);
        var workers = smoke ? 2 : int.Parse(options.Get("--workers") ?? "16", CultureInfo.InvariantCulture);
        var rounds = smoke ? 1 : int.Parse(options.Get("--rounds") ?? "3", CultureInfo.InvariantCulture);
        var settings = new Dictionary<string, string>
        {
            ["Defences:RateLimits:Enabled"] = "false",
            ["QuadFactor:Enabled"] = "false",
            // Plain cookie names over http://127.0.0.1, so .NET's cookie container keeps them for the sign-in steps.
            ["Tokens:InsecureDevCookies"] = "true",
            ["Connections:MaxConnectionsPerClient"] = "0",
        };
        await using var server = await Server.StartOnPostgresAsync(dll, postgres, settings, "oidc");
        var environment = new Dictionary<string, string>
        {
            ["COUNTERSIGN__Storage__Provider"] = "Postgres",
            ["COUNTERSIGN__Storage__ConnectionString"] = postgres.Replace("Database=postgres", $"Database={server.Database}", StringComparison.Ordinal),
        };
        var publicClient = "benchpublic";
        await CliAsync(dll, environment, "clients", "add", publicClient, "--redirect-uri", Redirect, "--first-party");
        var confidential = "benchconfidential";
        var secret = SecretLine().Match(await CliAsync(dll, environment, "clients", "add", confidential, "--redirect-uri", Redirect, "--first-party",
            "--confidential", "--client-credentials")).Groups[1].Value;

        using var api = new HttpClient { BaseAddress = server.BaseAddress };
        var users = new List<string>();
        for (var w = 0; w < workers; w++)
        {
            var name = $"oidc{w}-" + Convert.ToHexString(RandomNumberGenerator.GetBytes(3)).ToLowerInvariant();
            (await api.PostAsJsonAsync("/api/accounts", new { username = name, password = Password })).EnsureSuccessStatusCode();
            users.Add(name);
        }
        // One chain per worker and operation, each begun by a real sign-in: login page, authorize, code exchange.
        var apiChains = new string[workers];
        var publicChains = new string[workers];
        var confidentialChains = new string[workers];
        for (var w = 0; w < workers; w++)
        {
            apiChains[w] = (await Ok(await api.PostAsJsonAsync("/api/auth/login", new { username = users[w], password = Password }))).GetProperty("refresh_token").GetString()!;
            publicChains[w] = await CodeFlowAsync(server.BaseAddress, users[w], publicClient, null);
            confidentialChains[w] = await CodeFlowAsync(server.BaseAddress, users[w], confidential, secret);
        }

        var operations = new (string Name, Func<HttpClient, int, Task> Run)[]
        {
            ("API refresh (POST /api/auth/refresh, baseline)", async (http, w) =>
                apiChains[w] = (await Ok(await http.PostAsJsonAsync("/api/auth/refresh", new { refresh_token = apiChains[w] }))).GetProperty("refresh_token").GetString()!),
            ("OIDC refresh, public client", async (http, w) =>
                publicChains[w] = (await Ok(await http.SendAsync(Token(null, null, ("grant_type", "refresh_token"), ("refresh_token", publicChains[w]), ("client_id", publicClient)))))
                    .GetProperty("refresh_token").GetString()!),
            ("OIDC refresh, confidential client (client_secret_basic)", async (http, w) =>
                confidentialChains[w] = (await Ok(await http.SendAsync(Token(confidential, secret, ("grant_type", "refresh_token"), ("refresh_token", confidentialChains[w])))))
                    .GetProperty("refresh_token").GetString()!),
            ("OIDC client credentials (confidential)", async (http, _) =>
                await Ok(await http.SendAsync(Token(confidential, secret, ("grant_type", "client_credentials"))))),
        };

        Console.WriteLine($"{workers} workers, {seconds} s per measurement, {rounds} rounds; one server on PostgreSQL (fsync off), in-memory ephemeral state");
        var results = operations.ToDictionary(o => o.Name, _ => new List<double>());
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = workers }) { BaseAddress = server.BaseAddress };
        for (var round = 0; round < rounds; round++)
        {
            foreach (var (name, run) in operations)
            {
                results[name].Add(await RatePerSecondAsync(http, run, workers, TimeSpan.FromSeconds(seconds)));
            }
        }
        var baseline = Median(results[operations[0].Name]);
        Console.WriteLine($"{"operation",-58} {"req/s (median)",15} {"vs API refresh",15}   rounds");
        foreach (var (name, _) in operations)
        {
            var median = Median(results[name]);
            Console.WriteLine($"{name,-58} {median,15:F0} {median / baseline,15:F2}   {string.Join(" / ", results[name].Select(r => r.ToString("F0", CultureInfo.InvariantCulture)))}");
        }
        var cpus = Environment.ProcessorCount;
        Console.WriteLine($"per vCPU ({cpus} shared by server, PostgreSQL and driver): OIDC refresh {Median(results[operations[2].Name]) / cpus:F0}/s " +
            "(Keycloak publishes ~120 refreshes/s per vCPU)");
        return 0;
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted[sorted.Count / 2];
    }

    private static async Task<double> RatePerSecondAsync(HttpClient http, Func<HttpClient, int, Task> run, int workers, TimeSpan duration)
    {
        var done = 0L;
        var watch = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, workers).Select(w => Task.Run(async () =>
        {
            while (watch.Elapsed < duration)
            {
                await run(http, w);
                Interlocked.Increment(ref done);
            }
        })));
        return done / watch.Elapsed.TotalSeconds;
    }

    private static HttpRequestMessage Token(string? client, string? secret, params (string Key, string Value)[] form)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/connect/token")
        {
            Content = new FormUrlEncodedContent(form.Select(f => KeyValuePair.Create(f.Key, f.Value))),
        };
        if (client is not null && secret is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.ASCII.GetBytes($"{client}:{secret}")));
        }
        return request;
    }

    /// <summary>A user signs in for an application the way a browser does; returns the first refresh token.</summary>
    private static async Task<string> CodeFlowAsync(Uri baseAddress, string user, string client, string? secret)
    {
        using var browser = new HttpClient(new HttpClientHandler { CookieContainer = new CookieContainer(), AllowAutoRedirect = false }) { BaseAddress = baseAddress };
        var verifier = WebEncoders.Base64UrlEncode(RandomNumberGenerator.GetBytes(32));
        var challenge = WebEncoders.Base64UrlEncode(SHA256.HashData(Encoding.ASCII.GetBytes(verifier)));
        var authorize = QueryHelpers.AddQueryString("/connect/authorize", new Dictionary<string, string?>
        {
            ["client_id"] = client, ["response_type"] = "code", ["redirect_uri"] = Redirect, ["scope"] = "openid offline_access",
            ["code_challenge"] = challenge, ["code_challenge_method"] = "S256", ["state"] = "bench",
        });
        var login = (await browser.GetAsync(authorize)).Headers.Location ?? throw new BenchFailedException("authorize did not send the user to sign in");
        var page = await browser.GetStringAsync(login);
        var token = WebUtility.HtmlDecode(AntiForgery().Match(page).Groups[1].Value);
        var returnUrl = QueryHelpers.ParseQuery(login.Query)["ReturnUrl"].ToString();
        var signedIn = await browser.PostAsync("/login", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["__RequestVerificationToken"] = token, ["Username"] = user, ["Password"] = Password, ["ReturnUrl"] = returnUrl,
        }));
        var back = await browser.GetAsync(signedIn.Headers.Location ?? throw new BenchFailedException($"sign-in answered {(int)signedIn.StatusCode}"));
        var code = QueryHelpers.ParseQuery((back.Headers.Location ?? throw new BenchFailedException($"authorize answered {(int)back.StatusCode}")).Query)["code"].ToString();
        var form = new List<(string, string)> { ("grant_type", "authorization_code"), ("code", code), ("redirect_uri", Redirect), ("code_verifier", verifier) };
        if (secret is null)
        {
            form.Add(("client_id", client));
        }
        using var http = new HttpClient { BaseAddress = baseAddress };
        return (await Ok(await http.SendAsync(Token(client, secret, [.. form])))).GetProperty("refresh_token").GetString()!;
    }

    private static async Task<string> CliAsync(string dll, Dictionary<string, string> environment, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet", [dll, .. args]) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }
        using var cli = Process.Start(start)!;
        var output = await cli.StandardOutput.ReadToEndAsync();
        await cli.WaitForExitAsync();
        return cli.ExitCode == 0 ? output
            : throw new BenchFailedException($"countersign {string.Join(' ', args)} failed: {output}{await cli.StandardError.ReadToEndAsync()}");
    }

    private static async Task<JsonElement> Ok(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        return response.IsSuccessStatusCode ? JsonDocument.Parse(text).RootElement.Clone()
            : throw new BenchFailedException($"{response.RequestMessage?.RequestUri} answered {(int)response.StatusCode}: {text}");
    }

    [GeneratedRegex(@"Client secret \(shown once, keep it secret\): (\S+)")]
    private static partial Regex SecretLine();

    [GeneratedRegex("name=\"__RequestVerificationToken\" type=\"hidden\" value=\"([^\"]+)\"")]
    private static partial Regex AntiForgery();
}
