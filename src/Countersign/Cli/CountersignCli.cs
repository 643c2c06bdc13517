using System.CommandLine;
using Countersign.Hosting;

namespace Countersign.Cli;

/// <summary>
/// The command line. Every command builds the same host as the server (Authelia-style: one binary),
/// so it reads the same configuration and talks to the same database.
/// </summary>
public static class CountersignCli
{
    public static RootCommand Create(Action<WebApplicationBuilder>? configure = null)
    {
        var root = new RootCommand("Countersign: a self-hosted authentication server. Run `countersign serve` to start it.")
        {
            ServeCommand.Create(configure),
            DbCommands.Create(configure),
            UsersCommands.Create(configure),
            KeysCommands.Create(configure),
            AuditCommands.Create(configure),
            LockoutsCommands.Create(configure),
            PairsCommands.Create(configure),
            DemoCommands.Create(configure),
            AttackCommands.Create(),
            FaceCommands.Create(),
        };
        return root;
    }

    /// <summary>Builds the host without starting the web server, prepares the database, runs the work.</summary>
    internal static async Task<int> WithHostAsync(Action<WebApplicationBuilder>? configure, Func<IServiceProvider, CancellationToken, Task<int>> work,
        CancellationToken ct, bool prepare = true)
    {
        await using var app = CountersignApp.Build(CountersignApp.CreateBuilder(configure));
        try
        {
            if (prepare)
            {
                await StartupTasks.PrepareAsync(app.Services, ct);
            }
            await using var scope = app.Services.CreateAsyncScope();
            return await work(scope.ServiceProvider, ct);
        }
        catch (Exception e) when (ConfigurationErrors(e) is { } errors)
        {
            await Console.Error.WriteLineAsync("error: " + string.Join(Environment.NewLine + "error: ", errors));
            return 2;
        }
    }

    /// <summary>The messages of a start-up failure an operator can fix, or null for a bug.</summary>
    internal static IReadOnlyList<string>? ConfigurationErrors(Exception e) => e switch
    {
        Microsoft.Extensions.Options.OptionsValidationException o => [.. o.Failures],
        AggregateException a when a.InnerExceptions.All(x => ConfigurationErrors(x) is not null) =>
            [.. a.InnerExceptions.SelectMany(x => ConfigurationErrors(x)!)],
        InvalidOperationException i => [i.Message],
        Npgsql.NpgsqlException n => [$"cannot reach PostgreSQL: {n.Message}"],
        StackExchange.Redis.RedisConnectionException r => [$"cannot reach Redis: {r.Message}"],
        _ => null,
    };
}
