using System.Data.Common;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text.Json;
using Countersign.Tests.Infrastructure;
using Countersign.Totp;
using Microsoft.EntityFrameworkCore.Diagnostics;
using OtpNet;

namespace Countersign.Tests.ForwardAuth;

/// <summary>
/// Counts the database commands the server runs, so a test can say that a path ran none (or no write). The
/// background poll of the change counter (<c>forward_auth_generation</c>, every 500 ms whatever the traffic) is not
/// the verify path's, and is left out.
/// </summary>
public sealed class CommandCounter : DbCommandInterceptor
{
    private int _all;
    private int _writes;

    public int All => Volatile.Read(ref _all);
    public int Writes => Volatile.Read(ref _writes);

    public void Reset()
    {
        Interlocked.Exchange(ref _all, 0);
        Interlocked.Exchange(ref _writes, 0);
    }

    private void Count(DbCommand command)
    {
        var text = command.CommandText.TrimStart();
        if (text.StartsWith("SELECT", StringComparison.OrdinalIgnoreCase) && text.Contains("forward_auth_generation", StringComparison.Ordinal))
        {
            return;
        }
        Interlocked.Increment(ref _all);
        if (!text.StartsWith("SELECT", StringComparison.OrdinalIgnoreCase) && !text.StartsWith("PRAGMA", StringComparison.OrdinalIgnoreCase))
        {
            Interlocked.Increment(ref _writes);
        }
    }

    public override InterceptionResult<DbDataReader> ReaderExecuting(DbCommand command, CommandEventData eventData, InterceptionResult<DbDataReader> result)
    {
        Count(command);
        return result;
    }

    public override ValueTask<InterceptionResult<DbDataReader>> ReaderExecutingAsync(DbCommand command, CommandEventData eventData,
        InterceptionResult<DbDataReader> result, CancellationToken cancellationToken = default)
    {
        Count(command);
        return ValueTask.FromResult(result);
    }

    public override InterceptionResult<int> NonQueryExecuting(DbCommand command, CommandEventData eventData, InterceptionResult<int> result)
    {
        Count(command);
        return result;
    }

    public override ValueTask<InterceptionResult<int>> NonQueryExecutingAsync(DbCommand command, CommandEventData eventData, InterceptionResult<int> result,
        CancellationToken cancellationToken = default)
    {
        Count(command);
        return ValueTask.FromResult(result);
    }

    public override InterceptionResult<object> ScalarExecuting(DbCommand command, CommandEventData eventData, InterceptionResult<object> result)
    {
        Count(command);
        return result;
    }

    public override ValueTask<InterceptionResult<object>> ScalarExecutingAsync(DbCommand command, CommandEventData eventData, InterceptionResult<object> result,
        CancellationToken cancellationToken = default)
    {
        Count(command);
        return ValueTask.FromResult(result);
    }
}

/// <summary>
/// A server for the forward-auth suites: 127.0.0.1 is its trusted proxy (the tests, nginx and Caddy call from there);
/// a client bound to another loopback address (<see cref="ForwardAuthSteps.Untrusted"/>) is anyone else. Last seen is
/// flushed by hand, so no background write lands in a window where a test counts commands.
/// </summary>
public class ForwardAuthServer(Database database, StateStore store) : TestServer(database, store)
{
    public CommandCounter Commands { get; } = new();

    protected override void Configure(Dictionary<string, string?> settings)
    {
        settings["Network:TrustedProxies:0"] = "127.0.0.1";
        settings["ForwardAuth:LastSeenFlushInterval"] = "01:00:00";
        settings["ForwardAuth:PublicOrigin"] = "https://auth.example.test";
    }

    protected override void ConfigureServices(IServiceCollection services) => services.AddSingleton<IInterceptor>(Commands);
}

public sealed class SqliteMemoryForwardAuth() : ForwardAuthServer(Database.Sqlite, StateStore.Memory);

public sealed class SqliteRedisForwardAuth() : ForwardAuthServer(Database.Sqlite, StateStore.Redis);

public sealed class PostgresMemoryForwardAuth() : ForwardAuthServer(Database.Postgres, StateStore.Memory);

public sealed class PostgresRedisForwardAuth() : ForwardAuthServer(Database.Postgres, StateStore.Redis);

/// <summary>The steps of the forward-auth suites, in the API's words.</summary>
public sealed class ForwardAuthSteps(TestServer server)
{
    public const string Password = "violet Anchor 7 drifting kites";

    /// <summary>No cookie jar: each request carries exactly the cookie the test gives it.</summary>
    public HttpClient Client { get; } = new(new HttpClientHandler { UseCookies = false, AllowAutoRedirect = false })
    {
        BaseAddress = server.BaseAddress,
        Timeout = TimeSpan.FromSeconds(60),
    };

    /// <summary>The same server from 127.0.0.5, which is not a trusted proxy.</summary>
    public HttpClient Untrusted { get; } = new(new SocketsHttpHandler
    {
        UseCookies = false,
        AllowAutoRedirect = false,
        ConnectCallback = async (context, ct) =>
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            socket.Bind(new IPEndPoint(IPAddress.Parse("127.0.0.5"), 0));
            await socket.ConnectAsync(IPAddress.Loopback, context.DnsEndPoint.Port, ct);
            return new NetworkStream(socket, ownsSocket: true);
        },
    })
    {
        BaseAddress = new Uri(server.BaseAddress.ToString().Replace("localhost", "127.0.0.1", StringComparison.Ordinal)),
        Timeout = TimeSpan.FromSeconds(60),
    };

    public static string NewName() => "fa" + Guid.NewGuid().ToString("N")[..10];

    public sealed record TotpUser(string Name, byte[] Secret, string AccessToken);

    public async Task<string> RegisterAsync(string? name = null)
    {
        name ??= NewName();
        var response = await Client.PostJson("/api/accounts", new { username = name, password = Password });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return name;
    }

    public async Task<string> TokenAsync(string name)
    {
        var response = await Client.PostJson("/api/auth/login", new { username = name, password = Password });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await response.Body()).GetProperty("access_token").GetString()!;
    }

    public static HttpRequestMessage WithToken(HttpMethod method, string path, string token, object? body = null)
    {
        var request = new HttpRequestMessage(method, path) { Headers = { Authorization = new AuthenticationHeaderValue("Bearer", token) } };
        if (body is not null)
        {
            request.Content = new StringContent(JsonSerializer.Serialize(body, Json.Options), System.Text.Encoding.UTF8, "application/json");
        }
        return request;
    }

    private string? _admin;

    public async Task<string> AdminAsync()
    {
        if (_admin is not null)
        {
            return _admin;
        }
        var name = await RegisterAsync();
        await using (var scope = server.Services.CreateAsyncScope())
        {
            var accounts = scope.ServiceProvider.GetRequiredService<Accounts.AccountAdmin>();
            await accounts.AddRoleAsync((await accounts.FindAsync(name))!, Accounts.Roles.Admin, "test");
        }
        return _admin = await TokenAsync(name);
    }

    /// <summary>A service at <paramref name="host"/>; returns its token.</summary>
    public async Task<string> ServiceAsync(string name, string host, string prefix = "/", bool sendsIdentity = false)
    {
        var response = await Client.SendAsync(WithToken(HttpMethod.Post, "/api/admin/services", await AdminAsync(),
            new { name, host, path_prefix = prefix, sends_identity = sendsIdentity }));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (await response.Body()).GetProperty("token").GetString()!;
    }

    public async Task GrantAsync(string user, string service)
    {
        var response = await Client.SendAsync(WithToken(HttpMethod.Post, "/api/admin/grants", await AdminAsync(), new { user, service }));
        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
    }

    /// <summary>A step with at least four seconds left, so the server sees the same step as the test.</summary>
    public static async Task<long> SettledStepAsync()
    {
        if (Rfc6238.Period - DateTimeOffset.UtcNow.ToUnixTimeSeconds() % Rfc6238.Period < 4)
        {
            await Task.Delay(TimeSpan.FromSeconds(5));
        }
        return Rfc6238.StepAt(DateTimeOffset.UtcNow);
    }

    /// <summary>An account with a confirmed authenticator (confirmed with the previous step's code, so this step's is unspent).</summary>
    public async Task<TotpUser> TotpUserAsync()
    {
        var name = await RegisterAsync();
        var token = await TokenAsync(name);
        var started = await Client.SendAsync(WithToken(HttpMethod.Post, "/api/me/totp", token));
        Assert.Equal(HttpStatusCode.OK, started.StatusCode);
        var secret = Base32Encoding.ToBytes((await started.Body()).GetProperty("secret").GetString()!);
        var step = await SettledStepAsync() - 1;
        var confirm = await Client.SendAsync(WithToken(HttpMethod.Post, "/api/me/totp/confirm", token, new { code = Rfc6238.Code(secret, step) }));
        Assert.Equal(HttpStatusCode.OK, confirm.StatusCode);
        return new(name, secret, token);
    }

    public static string CurrentCode(TotpUser user) => Rfc6238.Code(user.Secret, Rfc6238.StepAt(DateTimeOffset.UtcNow));

    public Task<HttpResponseMessage> AddDevice(string username, string code, string? name = null) =>
        Client.PostJson("/api/devices", new { username, totp_code = code, name });

    /// <summary>Registers a device with this step's code; returns the cookie's value.</summary>
    public async Task<string> DeviceAsync(TotpUser user)
    {
        await SettledStepAsync();
        var response = await AddDevice(user.Name, CurrentCode(user), "test browser");
        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        return CookieValue(response);
    }

    public static string CookieValue(HttpResponseMessage response)
    {
        var header = response.Headers.GetValues("Set-Cookie").Single(h => h.StartsWith("__Secure-cs_device=", StringComparison.Ordinal));
        return header.Split(';')[0]["__Secure-cs_device=".Length..];
    }

    public static HttpRequestMessage Verify(string service, string? serviceToken, string? cookie)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, "/verify/" + service);
        if (serviceToken is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", serviceToken);
        }
        if (cookie is not null)
        {
            request.Headers.Add("Cookie", "__Secure-cs_device=" + cookie);
        }
        return request;
    }

    /// <summary>What nginx's auth_request sends for <paramref name="url"/>.</summary>
    public static HttpRequestMessage Proxied(string url, string? cookie, string method = "GET")
    {
        var uri = new Uri(url);
        var request = new HttpRequestMessage(HttpMethod.Get, "/forward-auth");
        request.Headers.Add("X-Forwarded-Method", method);
        request.Headers.Add("X-Forwarded-Proto", uri.Scheme);
        request.Headers.Add("X-Forwarded-Host", uri.Authority);
        request.Headers.Add("X-Forwarded-Uri", uri.PathAndQuery);
        if (cookie is not null)
        {
            request.Headers.Add("Cookie", "__Secure-cs_device=" + cookie);
        }
        return request;
    }

    /// <summary>Polls until <paramref name="done"/> holds; returns how long it took, or fails after <paramref name="limit"/>.</summary>
    public static async Task<TimeSpan> UntilAsync(Func<Task<bool>> done, TimeSpan limit)
    {
        var started = System.Diagnostics.Stopwatch.StartNew();
        while (!await done())
        {
            Assert.True(started.Elapsed < limit, $"not within {limit.TotalSeconds} s");
            await Task.Delay(20);
        }
        return started.Elapsed;
    }
}
