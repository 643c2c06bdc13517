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
    [MemberData(nameof(ServerModel.Providers), MemberType = typeof(ServerModel))]
    public async Task Every_model_change_has_a_migration(string provider, string connectionString)
    {
        await using var app = ServerModel.App(provider, connectionString);
        await using var scope = app.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<CountersignDb>();
        Assert.True(db.Database.IsSqlite() == (provider == "Sqlite"));
        Assert.False(db.Database.HasPendingModelChanges(),
            $"the {provider} model has changes no migration covers: add one (docs/architecture.md \"Adding a migration\")");
    }
}
