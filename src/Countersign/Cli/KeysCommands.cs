using System.CommandLine;
using Countersign.Audit;
using Countersign.Secrets;
using Countersign.Sessions;
using Countersign.Storage;

namespace Countersign.Cli;

internal static class KeysCommands
{
    public static Command Create(Action<WebApplicationBuilder>? configure)
    {
        var rotate = new Command("rotate", "Add a new encryption key and a new token-signing key; old secrets and tokens stay readable.");
        rotate.SetAction((_, ct) => CountersignCli.WithHostAsync(configure, async (services, ct) =>
        {
            var (keyId, kid) = await RotateAsync(services, ct);
            Console.WriteLine($"New encryption key {keyId} is now the default; new signing key {kid} signs from the next server start.");
            Console.WriteLine("Run `countersign keys reencrypt` to move stored secrets onto the new key.");
            return 0;
        }, ct));

        var reencrypt = new Command("reencrypt", "Re-protect every stored secret under the newest encryption key.");
        reencrypt.SetAction((_, ct) => CountersignCli.WithHostAsync(configure, async (services, ct) =>
        {
            var count = await ReencryptAsync(services, ct);
            Console.WriteLine($"Re-encrypted {count} secret(s).");
            return 0;
        }, ct));
        return new Command("keys", "Encryption and signing keys.") { rotate, reencrypt };
    }

    public static async Task<(Guid KeyId, string Kid)> RotateAsync(IServiceProvider services, CancellationToken ct)
    {
        var db = services.GetRequiredService<CountersignDb>();
        var secrets = services.GetRequiredService<SecretStore>();
        var time = services.GetRequiredService<TimeProvider>();
        // Data Protection writes its key through its own DbContext, so it commits before our transaction
        // opens (SQLite allows one writer at a time).
        var key = secrets.Rotate();
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        var kid = await SigningKeys.AddKeyAsync(db, secrets, time, ct);
        services.GetRequiredService<AuditLog>().Add(db, new(AuditActions.KeyRotated, Detail: AuditDetail.Of(new { key_id = key.KeyId, kid })));
        await db.SaveChangesAsync(ct);
        await tx.CommitAsync(ct);
        return (key.KeyId, kid);
    }

    public static async Task<int> ReencryptAsync(IServiceProvider services, CancellationToken ct)
    {
        var db = services.GetRequiredService<CountersignDb>();
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        var count = await services.GetRequiredService<SecretStore>().ReencryptAllAsync(services.GetServices<IProtectedSecrets>(), ct);
        services.GetRequiredService<AuditLog>().Add(db, new(AuditActions.SecretsReencrypted, Detail: AuditDetail.Of(new { count })));
        await db.SaveChangesAsync(ct);
        await tx.CommitAsync(ct);
        return count;
    }
}
