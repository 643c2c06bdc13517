using Countersign.Hosting;
using Countersign.Storage;
using Microsoft.EntityFrameworkCore;

namespace Countersign.Tests.StorageTests;

/// <summary>
/// Start-up no longer asks EF Core to diff the model with the migrations (StorageSetup.SkipModelDiffAtMigrate, for
/// the time to ready), so this suite does: a model change without a migration for each provider fails here.
/// </summary>
public sealed class MigrationsTests
{
    [Theory]
    [InlineData("Sqlite", "Data Source=:memory:")]
    [InlineData("Postgres", "Host=127.0.0.1;Port=1;Database=none")]
    public async Task Every_model_change_has_a_migration(string provider, string connectionString)
    {
        // The server's own composition (Identity's schema version included); the check opens no connection.
        await using var app = CountersignApp.Build(CountersignApp.CreateBuilder(b => b.Configuration.AddInMemoryCollection(
            new Dictionary<string, string?> { ["Storage:Provider"] = provider, ["Storage:ConnectionString"] = connectionString })));
        await using var scope = app.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<CountersignDb>();
        Assert.True(db.Database.IsSqlite() == (provider == "Sqlite"));
        Assert.False(db.Database.HasPendingModelChanges(),
            $"the {provider} model has changes no migration covers: add one (docs/architecture.md \"Adding a migration\")");
    }
}
