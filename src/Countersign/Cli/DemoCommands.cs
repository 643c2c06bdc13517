using System.CommandLine;
using System.Security.Cryptography;
using Countersign.Accounts;
using Countersign.Audit;
using Countersign.CallVerification;

namespace Countersign.Cli;

/// <summary><c>countersign demo seed</c> (and <c>serve --demo</c>): an advisor, two clients and their pairs, to see call verification in a minute.</summary>
internal static class DemoCommands
{
    public static Command Create(Action<WebApplicationBuilder>? configure)
    {
        var seed = new Command("seed", "Create a demo advisor, two clients and their pairs, and print their one-time passwords (each must choose a new one at its first sign-in). Never run by default.");
        seed.SetAction((_, ct) => CountersignCli.WithHostAsync(configure, async (services, ct) =>
            await SeedAsync(services, ct) ? 0 : 1, ct));
        return new Command("demo", "Demonstration data.") { seed };
    }

    /// <summary>Creates the demo accounts and pairs and prints the passwords; false when they exist already or creation failed.</summary>
    public static async Task<bool> SeedAsync(IServiceProvider services, CancellationToken ct)
    {
        await using var scope = services.CreateAsyncScope();
        var accounts = scope.ServiceProvider.GetRequiredService<AccountAdmin>();
        var pairs = scope.ServiceProvider.GetRequiredService<PairService>();
        // The second client reads French: the pair's words follow the client's language.
        var people = new[] { ("demo-advisor", Roles.Advisor, "en"), ("demo-client-1", Roles.Client, "en"), ("demo-client-2", Roles.Client, "fr") };
        if (await accounts.FindAsync(people[0].Item1) is not null)
        {
            await Console.Error.WriteLineAsync("The demo accounts exist already; nothing changed.");
            return false;
        }
        Console.WriteLine("Demo accounts, with one-time passwords: each must choose a new password at its first sign-in.");
        foreach (var (name, role, language) in people)
        {
            // 18 random bytes: a password no policy refuses, printed once, never stored in clear.
            var password = Convert.ToBase64String(RandomNumberGenerator.GetBytes(18));
            // Printed on a terminal, so one-time: the first sign-in must choose a new password (ASVS 6.4.1).
            var (user, result) = await accounts.CreateAsync(name, password, null, [role], AuditActions.UserCreated, "demo", null, language,
                (u, _) =>
                {
                    u.PasswordChangeRequired = true;
                    return Task.CompletedTask;
                }, ct);
            if (user is null)
            {
                await Console.Error.WriteLineAsync($"error: {string.Join(" ", result.Errors.Select(e => e.Description))}");
                return false;
            }
            Console.WriteLine($"  {name,-14} {role,-8} {language}  {password}");
        }
        foreach (var client in people.Skip(1))
        {
            await pairs.CreateAsync(people[0].Item1, client.Item1, "demo", ct);
        }
        Console.WriteLine("Paired demo-advisor with demo-client-1 and demo-client-2. Sign in as each (two browsers, or one private window) and open /calls.");
        return true;
    }
}
