using System.Net;
using Countersign.Tests.Api;
using Countersign.Tests.Infrastructure;
using Microsoft.Extensions.Logging;

namespace Countersign.Tests.StorageTests;

/// <summary>A PostgreSQL server whose Entity Framework warnings reach a log the test reads (the suite's default hides them).</summary>
public sealed class SaveWarningsServer() : TestServer(Database.Postgres)
{
    public WarningLog Log { get; } = new();

    protected override void Configure(Dictionary<string, string?> settings) =>
        settings["Logging:LogLevel:Microsoft.EntityFrameworkCore"] = "Warning";

    protected override void ConfigureServices(IServiceCollection services) => services.AddSingleton<ILoggerProvider>(Log);
}

/// <summary>
/// The saves that carry audit rows in their own command (Audit/AuditBatching.cs) are every sign-in's and refresh's: a
/// warning there is one log line per request, the operator's log buried under it and each request paying to write it.
/// </summary>
public sealed class SaveWarningsTests(SaveWarningsServer server) : ApiSuiteBase(server), IClassFixture<SaveWarningsServer>
{
    [Fact]
    public async Task Sign_ins_refreshes_and_failed_sign_ins_on_PostgreSQL_log_no_Entity_Framework_warning()
    {
        var name = await RegisterAsync();
        var log = server.Log;
        log.Entries.Clear();

        var tokens = await LoginAsync(name);
        var refreshed = await Client.PostJson("/api/auth/refresh", new { refresh_token = tokens.GetProperty("refresh_token").GetString() });
        var failed = await Login(name, "not the password at all");

        Assert.Equal(HttpStatusCode.OK, refreshed.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, failed.StatusCode);
        // Compared with an empty list, not with Assert.DoesNotContain, so that a failure prints the warnings themselves.
        Assert.Equal([], log.Entries.Where(e => e.Category.StartsWith("Microsoft.EntityFrameworkCore", StringComparison.Ordinal))
            .Select(e => $"{e.EventId}: {e.Message}").Distinct());
    }
}
