using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using Countersign.Hosting;
using Npgsql;

namespace Countersign.Tests.Infrastructure;

public enum Database { Sqlite, Postgres }

public enum StateStore { Memory, Redis }

/// <summary>
/// A real Countersign server on a loopback Kestrel socket, on the database and ephemeral store asked
/// for. PostgreSQL and Redis come from scripts/test; when they are absent the test fails, never skips.
/// </summary>
public class TestServer : IAsyncLifetime, IAsyncDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("countersign-test-").FullName;
    private string? _postgresDatabase;
    private WebApplication? _app;

    public TestServer(Database database, StateStore ephemeral = StateStore.Memory)
    {
        DatabaseKind = database;
        EphemeralKind = ephemeral;
    }

    public Database DatabaseKind { get; }
    public StateStore EphemeralKind { get; }
    public Uri BaseAddress { get; private set; } = null!;
    public IServiceProvider Services => _app!.Services;
    public Dictionary<string, string?> Settings { get; } = [];
    public string AttemptLogPath => Path.Combine(_folder, "attempts.jsonl");

    /// <summary>Cheap hashing keeps the suite fast; the hashing tests and the benchmarks use real parameters.</summary>
    protected virtual void Configure(Dictionary<string, string?> settings)
    {
    }

    /// <summary>Another node of the same deployment: its database, Redis, keys and peppers.</summary>
    public TestServer? ShareWith { get; init; }

    public virtual async Task InitializeAsync()
    {
        if (ShareWith is not null)
        {
            foreach (var (key, value) in ShareWith.Settings)
            {
                Settings[key] = value;
            }
            Settings["Storage:MigrateAtStart"] = "false";
            await StartAsync();
            return;
        }
        Settings["Passwords:MemoryKiB"] = "1024";
        Settings["Passwords:Iterations"] = "1";
        Settings["Secrets:MasterKey"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        Settings["Secrets:Peppers:1"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        Settings["Audit:AttemptLogPath"] = AttemptLogPath;
        Settings["LocalAdmin:SocketPath"] = Path.Combine(_folder, "admin.sock");
        Settings["Logging:LogLevel:Default"] = "Warning";
        // Every test client comes from 127.0.0.1: per-address defences are switched on only by the suites
        // that test them. Lockout is per username, and on everywhere.
        Settings["Defences:RateLimits:Enabled"] = "false";
        Settings["Defences:Captcha:Enabled"] = "false";
        Settings["Redis:KeyPrefix"] = $"test:{Guid.NewGuid():N}:";
        // Dozens of servers share two cores in this suite, so a Redis reply can wait on a starved thread pool
        // longer than production's 750 ms; the outage tests (Hardening/RedisOutageTests.cs) keep that default.
        Settings["Redis:Timeout"] = "00:00:05";
        Settings["Logging:LogLevel:Microsoft.EntityFrameworkCore"] = "Error";
        // On by default in embedded mode, on one fixed port: the quad-factor suites turn it on, on a free port.
        Settings["QuadFactor:Enabled"] = "false";
        if (DatabaseKind == Database.Postgres)
        {
            _postgresDatabase = "cs_test_" + Guid.NewGuid().ToString("N");
            await using (var admin = await NpgsqlDataSource.Create(Required.Postgres).OpenConnectionAsync())
            {
                await using var create = new NpgsqlCommand($"CREATE DATABASE {_postgresDatabase}", admin);
                await create.ExecuteNonQueryAsync();
            }
            Settings["Storage:Provider"] = "Postgres";
            Settings["Storage:ConnectionString"] = new NpgsqlConnectionStringBuilder(Required.Postgres) { Database = _postgresDatabase }.ConnectionString;
            Settings["Storage:MigrateAtStart"] = "true";
        }
        else
        {
            Settings["Storage:ConnectionString"] = $"Data Source={Path.Combine(_folder, "countersign.db")}";
        }
        if (EphemeralKind == StateStore.Redis)
        {
            Settings["Redis:Configuration"] = Required.Redis;
        }
        Configure(Settings);
        await StartAsync();
    }

    private async Task StartAsync()
    {
        _app = CountersignApp.Build(CountersignApp.CreateBuilder(ConfigureBuilder));
        await StartupTasks.PrepareAsync(_app.Services, CancellationToken.None);
        await _app.StartAsync();
        BaseAddress = new Uri(_app.Urls.First().Replace("127.0.0.1", "localhost", StringComparison.Ordinal));
    }

    /// <summary>The same configuration as the server, for running CLI commands against its database.</summary>
    public void ConfigureBuilder(WebApplicationBuilder builder)
    {
        builder.Configuration.AddInMemoryCollection(Settings);
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        if (Clock is not null)
        {
            builder.Services.AddSingleton<TimeProvider>(Clock);
        }
        ConfigureServices(builder.Services);
    }

    /// <summary>Extra services for a suite that needs them (a log it reads, say).</summary>
    protected virtual void ConfigureServices(IServiceCollection services)
    {
    }

    /// <summary>A clock the test moves, when set before start.</summary>
    public Microsoft.Extensions.Time.Testing.FakeTimeProvider? Clock { get; protected set; }

    public HttpClient CreateClient() => new() { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(60) };

    /// <summary>For a server a test starts itself (<c>await using</c>), besides xunit's fixtures.</summary>
    async ValueTask IAsyncDisposable.DisposeAsync() => await DisposeAsync();

    public virtual async Task DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
        if (_postgresDatabase is not null)
        {
            NpgsqlConnection.ClearAllPools();
            await using var admin = await NpgsqlDataSource.Create(Required.Postgres).OpenConnectionAsync();
            await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS {_postgresDatabase} WITH (FORCE)", admin);
            await drop.ExecuteNonQueryAsync();
        }
        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
            // A file still held open by the OS is left to the temp cleaner.
        }
    }
}

/// <summary>Connection details of the servers scripts/test starts.</summary>
public static class Required
{
    public static string Postgres => Environment.GetEnvironmentVariable("COUNTERSIGN_TEST_POSTGRES")
        ?? throw new InvalidOperationException("COUNTERSIGN_TEST_POSTGRES is not set: run the tests through scripts/test, which starts PostgreSQL.");

    public static string Redis => Environment.GetEnvironmentVariable("COUNTERSIGN_TEST_REDIS")
        ?? throw new InvalidOperationException("COUNTERSIGN_TEST_REDIS is not set: run the tests through scripts/test, which starts Redis.");
}

public sealed class SqliteServer() : TestServer(Database.Sqlite);

public sealed class PostgresServer() : TestServer(Database.Postgres, StateStore.Redis);

/// <summary>snake_case JSON, as the API speaks it.</summary>
public static class Json
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web) { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public static Task<HttpResponseMessage> PostJson<T>(this HttpClient client, string path, T body) =>
        client.PostAsJsonAsync(path, body, Options);

    public static async Task<JsonElement> Body(this HttpResponseMessage response) =>
        JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
}
