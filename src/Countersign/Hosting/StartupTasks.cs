using Countersign.Accounts;
using Countersign.Sessions;
using Countersign.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Countersign.Hosting;

/// <summary>
/// What must hold before the server takes requests: valid options, an up-to-date schema (migrated here in
/// embedded mode), loaded signing keys, and a hint for a new operator on creating the first administrator.
/// </summary>
internal sealed partial class StartupTasks(IServiceProvider services, SigningKeys signingKeys, ILogger<StartupTasks> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken ct)
    {
        await signingKeys.LoadAsync(ct);
        services.GetRequiredService<PasswordHasher>().Prepare();
        await using var scope = services.CreateAsyncScope();
        await UsernameSkeletons.BackfillAsync(scope.ServiceProvider, ct);
        if (!await scope.ServiceProvider.GetRequiredService<AccountAdmin>().AnyAdminAsync(ct))
        {
            LogNoAdmin(logger);
        }
    }

    public Task StopAsync(CancellationToken ct) => Task.CompletedTask;

    /// <summary>
    /// Validates every option (all failures at once) and brings the schema up to date when configured to,
    /// otherwise refuses an outdated schema with the command that fixes it. Runs before the host starts,
    /// so nothing (Data Protection included) reads the database before it is migrated.
    /// </summary>
    public static async Task PrepareAsync(IServiceProvider services, CancellationToken ct)
    {
        services.GetService<IStartupValidator>()?.Validate();
        var storage = services.GetRequiredService<IOptions<StorageOptions>>().Value;
        if (storage.EffectiveMigrateAtStart)
        {
            await StorageSetup.MigrateAsync(services, ct);
            return;
        }
        await using var scope = services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<CountersignDb>();
        if ((await db.Database.GetPendingMigrationsAsync(ct)).Any())
        {
            throw new InvalidOperationException("The database schema is not up to date. Run `countersign db migrate` first.");
        }
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Warning,
        Message = "No administrator exists yet. Create one with: countersign users add <username> --admin")]
    private static partial void LogNoAdmin(ILogger logger);
}
