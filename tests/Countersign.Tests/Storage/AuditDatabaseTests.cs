using System.Net;
using Countersign.Audit;
using Countersign.Hosting;
using Countersign.Secrets;
using Countersign.Storage;
using Countersign.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Npgsql;

namespace Countersign.Tests.StorageTests;

/// <summary>
/// A deployment with a separate audit database (issue 17), each role as an operator would set them up: the
/// application's own role owns the main database (not a superuser, so grants bind it), the audit database is
/// owned by a third role, and the nodes ship to it as a role that may only INSERT and SELECT. The shipper's
/// connections pass through a relay the test can cut, as if the audit database went down.
/// </summary>
public sealed class SeparateAuditServer : TestServer
{
    private readonly string _suffix = Guid.NewGuid().ToString("N")[..12];

    public SeparateAuditServer() : base(Database.Postgres, StateStore.Redis) => Relay.Start();

    public TcpRelay Relay { get; } = new(new IPEndPoint(IPAddress.Loopback, new NpgsqlConnectionStringBuilder(Required.Postgres).Port));

    public string AppRole => "cs_app_" + _suffix;
    public string OwnerRole => "cs_audit_owner_" + _suffix;
    public string WriterRole => "cs_audit_writer_" + _suffix;
    public string AuditDatabase => "cs_audit_" + _suffix;

    /// <summary>A connection to the audit database as <paramref name="role"/>, directly (not through the relay).</summary>
    public string AuditAs(string role) =>
        new NpgsqlConnectionStringBuilder(Required.Postgres) { Database = AuditDatabase, Username = role, Pooling = false }.ConnectionString;

    /// <summary>The server's superuser, on the audit database.</summary>
    public string AuditAsSuperuser => new NpgsqlConnectionStringBuilder(Required.Postgres) { Database = AuditDatabase, Pooling = false }.ConnectionString;

    public override async Task InitializeAsync()
    {
        await Superuser($"""
            CREATE ROLE {AppRole} LOGIN;
            CREATE ROLE {OwnerRole} LOGIN;
            CREATE ROLE {WriterRole} LOGIN;
            """);
        await Superuser($"CREATE DATABASE {AuditDatabase} OWNER {OwnerRole}");
        var writer = new NpgsqlConnectionStringBuilder(Required.Postgres)
        {
            Database = AuditDatabase, Username = WriterRole, Port = Relay.Port, Timeout = 2, Pooling = true,
        }.ConnectionString;
        // Set up before the nodes start, as `db migrate` is run before them (the tests run it again through the CLI).
        await AuditTrail.MigrateAsync(AuditAs(OwnerRole), writer, CancellationToken.None);
        Settings["Audit:ConnectionString"] = writer;
        Settings["Audit:MigrationConnectionString"] = AuditAs(OwnerRole);
        Settings["Audit:ShipInterval"] = "00:00:00.1";
        Settings["Audit:CheckpointInterval"] = "01:00:00"; // the tests write their checkpoints themselves
        await base.InitializeAsync();
    }

    protected override void Configure(Dictionary<string, string?> settings)
    {
        // The main database belongs to the application's role, which migrates it at start like any owner.
        var main = new NpgsqlConnectionStringBuilder(settings["Storage:ConnectionString"]);
        Superuser($"ALTER DATABASE {main.Database} OWNER TO {AppRole}").GetAwaiter().GetResult();
        main.Username = AppRole;
        settings["Storage:ConnectionString"] = main.ConnectionString;
    }

    public override async Task DisposeAsync()
    {
        Relay.Start();
        await base.DisposeAsync();
        await Relay.DisposeAsync();
        await Superuser($"DROP DATABASE IF EXISTS {AuditDatabase} WITH (FORCE)");
        await Superuser($"DROP ROLE IF EXISTS {AppRole}; DROP ROLE IF EXISTS {OwnerRole}; DROP ROLE IF EXISTS {WriterRole};");
    }

    private static async Task Superuser(string sql)
    {
        await using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(Required.Postgres) { Pooling = false }.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}

/// <summary>
/// Issue 17, "Separate, append-only audit": the change and its event commit together in the main database (the
/// outbox), the shipper copies them in order with their hashes to the audit database, whose rows neither the
/// application's role nor the shipper's can rewrite, and <c>audit verify</c> checks that copy. Each test has a
/// deployment of its own.
/// </summary>
public sealed class AuditDatabaseTests
{
    private const string Password = "violet Anchor 7 drifting kites";

    private static async Task<SeparateAuditServer> StartAsync()
    {
        var server = new SeparateAuditServer();
        await server.InitializeAsync();
        return server;
    }

    private sealed record Row(int Chain, long Seq, long Id, string Action, string? Username, string Hash);

    private static async Task<List<Row>> MainRowsAsync(TestServer server)
    {
        await using var scope = server.Services.CreateAsyncScope();
        var rows = await scope.ServiceProvider.GetRequiredService<CountersignDb>().AuditEvents.AsNoTracking()
            .OrderBy(e => e.Chain).ThenBy(e => e.Seq).ToListAsync();
        return [.. rows.Select(e => new Row(e.Chain, e.Seq, e.Id, e.Action, e.Username, Convert.ToHexString(e.Hash)))];
    }

    private static async Task<List<Row>> AuditRowsAsync(SeparateAuditServer server)
    {
        await using var connection = new NpgsqlConnection(server.AuditAsSuperuser);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("""
            SELECT "Chain", "Seq", "Id", "Action", "Username", "Hash" FROM audit_trail_events ORDER BY "Chain", "Seq"
            """, connection);
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<Row>();
        while (await reader.ReadAsync())
        {
            rows.Add(new Row(reader.GetInt32(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetString(3),
                reader.IsDBNull(4) ? null : reader.GetString(4), Convert.ToHexString(reader.GetFieldValue<byte[]>(5))));
        }
        return rows;
    }

    /// <summary>Until the audit database has every event and checkpoint of the main one (the background shipper's work).</summary>
    private static async Task WaitUntilShippedAsync(TestServer server, TimeSpan? limit = null)
    {
        var shipper = server.Services.GetRequiredService<AuditShipper>();
        var deadline = DateTime.UtcNow + (limit ?? TimeSpan.FromSeconds(20));
        var waiting = (Events: -1L, Checkpoints: -1L);
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                waiting = await shipper.WaitingAsync();
                if (waiting == (0, 0))
                {
                    return;
                }
            }
            catch (NpgsqlException)
            {
                // The relay may still be coming back.
            }
            await Task.Delay(100);
        }
        Assert.Fail($"still waiting to be shipped after {limit ?? TimeSpan.FromSeconds(20)}: {waiting.Events} events, {waiting.Checkpoints} checkpoints");
    }

    private static async Task<AuditCheckpoint?> CheckpointAsync(TestServer server)
    {
        await using var scope = server.Services.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<AuditCheckpoints>().WriteAsync(scope.ServiceProvider.GetRequiredService<CountersignDb>());
    }

    private static Task<AuditVerification> VerifyAuditDatabaseAsync(TestServer server) =>
        AuditVerifier.VerifyAsync(server.Services.GetRequiredService<AuditTrail>(), server.Services.GetRequiredService<KeyMaterial>());

    private static async Task<HealthStatus> AuditHealthAsync(TestServer server) =>
        (await server.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync(c => c.Name == "audit_database")).Entries["audit_database"].Status;

    private static async Task<string> RegisterAndSignInAsync(HttpClient http, int logins)
    {
        var name = "user" + Guid.NewGuid().ToString("N")[..10];
        Assert.Equal(HttpStatusCode.Created, (await http.PostJson("/api/accounts", new { username = name, password = Password })).StatusCode);
        for (var i = 0; i < logins; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await http.PostJson("/api/auth/login", new { username = name, password = Password })).StatusCode);
        }
        return name;
    }

    private static async Task<PostgresException> RefusedAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return await Assert.ThrowsAsync<PostgresException>(() => command.ExecuteNonQueryAsync());
    }

    [Fact]
    public async Task Events_written_through_the_app_reach_the_audit_database_in_order_with_their_hashes_and_verify()
    {
        await using var server = await StartAsync();
        using var http = server.CreateClient();
        var name = await RegisterAndSignInAsync(http, logins: 3);
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.PostJson("/api/auth/login", new { username = name, password = "wrong " + Password })).StatusCode);
        await CheckpointAsync(server);
        await WaitUntilShippedAsync(server);

        // Row for row: the same chain, number, id and hash as sealed in the main database.
        var main = await MainRowsAsync(server);
        Assert.Equal(main, await AuditRowsAsync(server));
        Assert.Equal(3, main.Count(r => r.Action == AuditActions.LoginSucceeded && r.Username == name));
        Assert.Contains(main, r => r.Action == AuditActions.LoginFailed && r.Username == name);

        var result = await VerifyAuditDatabaseAsync(server);
        Assert.True(result.Intact, result.Problem);
        Assert.Equal(main.Count, result.Events);
        Assert.Equal(1, result.Checkpoints);

        var (exit, output, _) = await CliRunner.RunAsync(server.ConfigureBuilder, "audit", "verify");
        Assert.Equal(0, exit);
        Assert.Contains($"ok {main.Count} events", output, StringComparison.Ordinal);
        Assert.Contains("in the audit database", output, StringComparison.Ordinal);
        Assert.Contains("waiting in the main database to be shipped: 0 events, 0 checkpoints", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Neither_the_application_role_nor_the_shipper_role_can_rewrite_the_audit_database()
    {
        await using var server = await StartAsync();
        using var http = server.CreateClient();
        await RegisterAndSignInAsync(http, logins: 1);
        await CheckpointAsync(server);
        await WaitUntilShippedAsync(server);

        // Someone widened the grants; `db migrate` (run at every upgrade) narrows them again.
        await using (var owner = new NpgsqlConnection(server.AuditAs(server.OwnerRole)))
        {
            await owner.OpenAsync();
            await using var widen = new NpgsqlCommand($"GRANT UPDATE, DELETE, TRUNCATE ON audit_trail_events, audit_trail_checkpoints TO {server.WriterRole}, {server.AppRole}", owner);
            await widen.ExecuteNonQueryAsync();
        }
        var (exit, output, error) = await CliRunner.RunAsync(server.ConfigureBuilder, "db", "migrate");
        Assert.True(exit == 0, error);
        Assert.Contains($"{server.WriterRole} may INSERT and SELECT only", output, StringComparison.Ordinal);

        foreach (var role in new[] { server.AppRole, server.WriterRole })
        {
            foreach (var sql in new[]
            {
                """UPDATE audit_trail_events SET "Username" = 'someone-else'""",
                """DELETE FROM audit_trail_events""",
                """TRUNCATE audit_trail_events""",
                """UPDATE audit_trail_checkpoints SET "Heads" = '[]'""",
                """DELETE FROM audit_trail_checkpoints""",
                """TRUNCATE audit_trail_checkpoints""",
            })
            {
                var refused = await RefusedAsync(server.AuditAs(role), sql);
                Assert.Equal(PostgresErrorCodes.InsufficientPrivilege, refused.SqlState);
                Assert.Contains("permission denied", refused.MessageText, StringComparison.Ordinal);
            }
        }
        // An upsert would be an update: the shipper's role may only add rows that are not there yet.
        var upsert = await RefusedAsync(server.AuditAs(server.WriterRole), """
            INSERT INTO audit_trail_events SELECT * FROM audit_trail_events LIMIT 1
            ON CONFLICT ("Chain", "Seq") DO UPDATE SET "Username" = 'someone-else'
            """);
        Assert.Equal(PostgresErrorCodes.InsufficientPrivilege, upsert.SqlState);
        // The application's role cannot even read it; the tables' owner is stopped by the triggers.
        Assert.Equal(PostgresErrorCodes.InsufficientPrivilege, (await RefusedAsync(server.AuditAs(server.AppRole), "SELECT 1 FROM audit_trail_events")).SqlState);
        foreach (var sql in new[] { """UPDATE audit_trail_events SET "Username" = 'someone-else'""", "DELETE FROM audit_trail_checkpoints", "TRUNCATE audit_trail_events" })
        {
            var refused = await RefusedAsync(server.AuditAs(server.OwnerRole), sql);
            Assert.Contains("append-only", refused.MessageText, StringComparison.Ordinal);
        }
        var verified = await VerifyAuditDatabaseAsync(server);
        Assert.True(verified.Intact, verified.Problem);
        Assert.Equal((await MainRowsAsync(server)).Count, verified.Events);

        // `db migrate` will not hand the nodes the owner's role, nor a superuser, whom no grant binds.
        var asOwner = await Assert.ThrowsAsync<InvalidOperationException>(() => AuditTrail.MigrateAsync(server.AuditAs(server.OwnerRole), server.AuditAs(server.OwnerRole), default));
        Assert.Contains("the owner of the audit tables", asOwner.Message, StringComparison.Ordinal);
        var asSuperuser = await Assert.ThrowsAsync<InvalidOperationException>(() => AuditTrail.MigrateAsync(server.AuditAs(server.OwnerRole), server.AuditAsSuperuser, default));
        Assert.Contains("superuser", asSuperuser.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Sign_ins_succeed_while_the_audit_database_is_down_and_their_events_ship_when_it_returns()
    {
        await using var server = await StartAsync();
        using var http = server.CreateClient();
        var name = await RegisterAndSignInAsync(http, logins: 1);
        await WaitUntilShippedAsync(server);
        var before = (await AuditRowsAsync(server)).Count;

        server.Relay.Stop();
        var shipper = server.Services.GetRequiredService<AuditShipper>();
        try
        {
            for (var i = 0; i < 5; i++)
            {
                Assert.Equal(HttpStatusCode.OK, (await http.PostJson("/api/auth/login", new { username = name, password = Password })).StatusCode);
            }
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
            while (shipper.Failing is null && DateTime.UtcNow < deadline)
            {
                await Task.Delay(50);
            }
            // Still ready (the node stays in the load balancer), but it says the outbox is growing.
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/health/ready")).StatusCode);
            Assert.Equal(HealthStatus.Degraded, await AuditHealthAsync(server));
            Assert.Equal(before, (await AuditRowsAsync(server)).Count);
        }
        finally
        {
            server.Relay.Start();
        }
        Assert.Equal(6, (await MainRowsAsync(server)).Count(r => r.Action == AuditActions.LoginSucceeded && r.Username == name));

        // Backoff caps at 30 s; the outage here lasted a second or two, so the next try comes within a few.
        await WaitUntilShippedAsync(server, TimeSpan.FromSeconds(40));
        Assert.Equal(await MainRowsAsync(server), await AuditRowsAsync(server));
        Assert.True((await VerifyAuditDatabaseAsync(server)).Intact);
        var healthy = DateTime.UtcNow + TimeSpan.FromSeconds(5);
        while (shipper.Failing is not null && DateTime.UtcNow < healthy)
        {
            await Task.Delay(50);
        }
        Assert.Equal(HealthStatus.Healthy, await AuditHealthAsync(server));
    }

    [Fact]
    public async Task Tampering_in_the_audit_database_is_found_by_verify()
    {
        await using var server = await StartAsync();
        using var http = server.CreateClient();
        await RegisterAndSignInAsync(http, logins: 4);
        await CheckpointAsync(server);
        await WaitUntilShippedAsync(server);
        var rows = await AuditRowsAsync(server);
        var victim = rows[rows.Count / 2];

        async Task AsSuperuser(string sql, bool disableTriggers)
        {
            await using var connection = new NpgsqlConnection(server.AuditAsSuperuser);
            await connection.OpenAsync();
            // What a superuser can still do (docs/security.md): switch the append-only triggers off for a session.
            await using var command = new NpgsqlCommand((disableTriggers ? "SET session_replication_role = replica; " : "") + sql, connection);
            await command.ExecuteNonQueryAsync();
        }

        var edit = $"""UPDATE audit_trail_events SET "Username" = 'someone-else' WHERE "Chain" = {victim.Chain} AND "Seq" = {victim.Seq}""";
        var guarded = await Assert.ThrowsAsync<PostgresException>(() => AsSuperuser(edit, disableTriggers: false));
        Assert.Contains("append-only", guarded.MessageText, StringComparison.Ordinal);

        await AsSuperuser(edit, disableTriggers: true);
        var result = await VerifyAuditDatabaseAsync(server);
        Assert.Equal(victim.Id, result.FirstBrokenEvent);
        Assert.Contains("does not match its hash", result.Problem, StringComparison.Ordinal);
        var (exit, output, _) = await CliRunner.RunAsync(server.ConfigureBuilder, "audit", "verify");
        Assert.Equal(1, exit);
        Assert.Contains($"broken in the audit database: event {victim.Id}", output, StringComparison.Ordinal);

        // Put back, then the end of a chain cut off: the shipped checkpoint names the missing head.
        await AsSuperuser($"""UPDATE audit_trail_events SET "Username" = {(victim.Username is null ? "NULL" : $"'{victim.Username}'")} WHERE "Chain" = {victim.Chain} AND "Seq" = {victim.Seq}""", disableTriggers: true);
        Assert.True((await VerifyAuditDatabaseAsync(server)).Intact);
        // From a head the shipped checkpoint signed to the end of its chain (later rows, if any, are not covered by it).
        AuditCheckpoint? shippedCheckpoint = null;
        await foreach (var checkpoint in server.Services.GetRequiredService<AuditTrail>().ReadCheckpointsAsync())
        {
            shippedCheckpoint = checkpoint;
        }
        var signed = AuditCheckpoints.ParseHeads(shippedCheckpoint!.Heads)[^1];
        var cut = $"""DELETE FROM audit_trail_events WHERE "Chain" = {signed.Chain} AND "Seq" >= {signed.Seq}""";
        // Cut in the audit database alone, the rows come back: the main database still has them, and ships them again.
        await AsSuperuser(cut, disableTriggers: true);
        await WaitUntilShippedAsync(server);
        Assert.Equal(await MainRowsAsync(server), await AuditRowsAsync(server));
        Assert.True((await VerifyAuditDatabaseAsync(server)).Intact);
        // Cut in both (the main database first, or the shipper would put them back in between).
        await using (var scope = server.Services.CreateAsyncScope())
        {
            await scope.ServiceProvider.GetRequiredService<CountersignDb>().AuditEvents
                .Where(e => e.Chain == signed.Chain && e.Seq >= signed.Seq).ExecuteDeleteAsync();
        }
        await AsSuperuser(cut, disableTriggers: true);
        result = await VerifyAuditDatabaseAsync(server);
        Assert.False(result.Intact);
        Assert.Contains("were removed from its end", result.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Two_nodes_shipping_at_once_neither_duplicate_nor_reorder()
    {
        await using var first = await StartAsync();
        await using var second = new TestServer(Database.Postgres, StateStore.Redis) { ShareWith = first };
        await second.InitializeAsync();
        var nodes = new TestServer[] { first, second };
        using var writing = new CancellationTokenSource();

        // Writers on both nodes, while both nodes' background shippers run and four more rounds loop besides.
        var shippers = Enumerable.Range(0, 4).Select(i => Task.Run(async () =>
        {
            var shipper = nodes[i % 2].Services.GetRequiredService<AuditShipper>();
            while (!writing.IsCancellationRequested)
            {
                await shipper.ShipOnceAsync();
            }
        })).ToList();
        await Task.WhenAll(Enumerable.Range(0, 8).Select(w => Task.Run(async () =>
        {
            for (var i = 0; i < 25; i++)
            {
                await using var scope = nodes[w % 2].Services.CreateAsyncScope();
                await scope.ServiceProvider.GetRequiredService<AuditLog>().RecordAloneAsync(
                    scope.ServiceProvider.GetRequiredService<CountersignDb>(), new AuditEntry("ship_test", null, $"w{w}-{i}"));
                if (i % 10 == 9)
                {
                    await CheckpointAsync(nodes[w % 2]);
                }
            }
        })));
        await writing.CancelAsync();
        await Task.WhenAll(shippers);
        await WaitUntilShippedAsync(first);

        var main = await MainRowsAsync(first);
        var shipped = await AuditRowsAsync(first);
        Assert.Equal(200, main.Count(r => r.Action == "ship_test"));
        Assert.Equal(main, shipped);
        foreach (var chain in shipped.GroupBy(r => r.Chain))
        {
            Assert.Equal(Enumerable.Range(1, chain.Count()).Select(n => (long)n), chain.Select(r => r.Seq));
        }
        var result = await VerifyAuditDatabaseAsync(first);
        Assert.True(result.Intact, result.Problem);
        Assert.True(result.Checkpoints >= 1);
    }

    [Fact]
    public async Task A_separate_audit_database_with_sqlite_as_the_main_one_is_refused_at_start()
    {
        var settings = new Dictionary<string, string?>
        {
            ["Storage:ConnectionString"] = $"Data Source={Path.Combine(Path.GetTempPath(), $"cs-{Guid.NewGuid():N}.db")}",
            ["Secrets:MasterKey"] = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)),
            ["Secrets:Peppers:1"] = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)),
            ["Audit:ConnectionString"] = "Host=127.0.0.1;Database=audit",
        };
        await using var app = CountersignApp.Build(CountersignApp.CreateBuilder(b => b.Configuration.AddInMemoryCollection(settings)));
        var refused = await Assert.ThrowsAnyAsync<Exception>(() => StartupTasks.PrepareAsync(app.Services, CancellationToken.None));
        Assert.Contains("Audit:ConnectionString (a separate audit database) needs Storage:Provider=Postgres.", Countersign.Cli.CountersignCli.ConfigurationErrors(refused) ?? []);
    }
}
