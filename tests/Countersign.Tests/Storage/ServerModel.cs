using Countersign.Hosting;

namespace Countersign.Tests.StorageTests;

/// <summary>
/// The server's own composition (Identity's schema version included) for each provider, with a connection string
/// nothing opens: the model checks (MigrationsTests, CompiledModelTests) need the server's context, not a database.
/// </summary>
internal static class ServerModel
{
    public static TheoryData<string, string> Providers => new()
    {
        { "Sqlite", "Data Source=:memory:" },
        { "Postgres", "Host=127.0.0.1;Port=1;Database=none" },
    };

    public static WebApplication App(string provider, string connectionString) =>
        CountersignApp.Build(CountersignApp.CreateBuilder(b => b.Configuration.AddInMemoryCollection(
            new Dictionary<string, string?> { ["Storage:Provider"] = provider, ["Storage:ConnectionString"] = connectionString })));
}
