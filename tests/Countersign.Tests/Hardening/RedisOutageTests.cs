using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Countersign.Tests.Infrastructure;

namespace Countersign.Tests.Hardening;

/// <summary>A Redis of the test's own on a free port, so the test can stop and restart it (scripts/test's is shared).</summary>
public sealed class OwnRedisServer() : TestServer(Database.Sqlite, StateStore.Redis)
{
    private Process? _redis;

    public int RedisPort { get; } = FreePort();

    public override async Task InitializeAsync()
    {
        await StartRedisAsync();
        await base.InitializeAsync();
    }

    protected override void Configure(Dictionary<string, string?> settings)
    {
        settings["Redis:Configuration"] = $"127.0.0.1:{RedisPort}";
        settings["Redis:Timeout"] = "00:00:00.750"; // production's default: the outage must fail fast with it
    }

    public async Task StartRedisAsync()
    {
        // No persistence, exactly what the pen test found in a default install.
        _redis = Process.Start(new ProcessStartInfo("redis-server")
        {
            ArgumentList = { "--bind", "127.0.0.1", "--port", RedisPort.ToString(System.Globalization.CultureInfo.InvariantCulture), "--save", "", "--appendonly", "no" },
            RedirectStandardOutput = true,
            UseShellExecute = false,
        })!;
        _redis.OutputDataReceived += (_, _) => { };
        _redis.BeginOutputReadLine();
        for (var i = 0; i < 100; i++)
        {
            try
            {
                using var probe = new TcpClient();
                await probe.ConnectAsync(IPAddress.Loopback, RedisPort);
                return;
            }
            catch (SocketException)
            {
                await Task.Delay(100);
            }
        }
        throw new InvalidOperationException("redis-server did not start");
    }

    public async Task StopRedisAsync()
    {
        if (_redis is { HasExited: false })
        {
            _redis.Kill();
            await _redis.WaitForExitAsync();
        }
        _redis?.Dispose();
        _redis = null;
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        await StopRedisAsync();
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

public sealed class RedisOutageTests(OwnRedisServer server) : Api.ApiSuiteBase(server), IClassFixture<OwnRedisServer>
{
    [Fact]
    public async Task L4_with_redis_down_requests_fail_closed_fast_with_503_and_recover_when_it_is_back()
    {
        var name = await RegisterAsync();
        var ready = await Client.GetAsync("/health/ready");
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        // Redis keeps nothing on disk: ready, with a warning.
        Assert.Equal("Degraded", await ready.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.OK, (await Login(name, Password)).StatusCode);

        await server.StopRedisAsync();
        var logins = new List<double>();
        var healths = new List<double>();
        for (var i = 0; i < 5; i++)
        {
            var clock = Stopwatch.StartNew();
            var login = await Login(name, Password);
            logins.Add(clock.Elapsed.TotalSeconds);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, login.StatusCode);
            Assert.Equal("ephemeral_store_unavailable", (await login.Body()).GetProperty("error").GetString());
            clock.Restart();
            Assert.Equal(HttpStatusCode.ServiceUnavailable, (await Client.GetAsync("/health/ready")).StatusCode);
            healths.Add(clock.Elapsed.TotalSeconds);
        }
        logins.Sort();
        healths.Sort();
        Assert.True(logins[2] < 1.0, $"sign-in with Redis down took {string.Join(", ", logins)} s");
        Assert.True(healths[2] < 1.0, $"readiness with Redis down took {string.Join(", ", healths)} s");
        Assert.True(logins[^1] < 2.0 && healths[^1] < 2.0, "a request waited on a dead Redis");

        await server.StartRedisAsync();
        var deadline = Stopwatch.StartNew();
        HttpStatusCode status;
        do
        {
            await Task.Delay(250);
            status = (await Login(name, Password)).StatusCode;
        }
        while (status != HttpStatusCode.OK && deadline.Elapsed < TimeSpan.FromSeconds(15));
        Assert.Equal(HttpStatusCode.OK, status);
    }
}
