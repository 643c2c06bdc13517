using System.CommandLine;
using System.CommandLine.Invocation;
using System.Net.Sockets;
using Countersign.Hosting;

namespace Countersign.Cli;

/// <summary>
/// The command line. Every command builds the same host as the server (Authelia-style: one binary),
/// so it reads the same configuration and talks to the same database. Bad input of any kind (arguments,
/// files, configuration, an unreachable target) is answered with one line on standard error and exit 2,
/// never a stack trace.
/// </summary>
public static class CountersignCli
{
    /// <summary>Parses and runs a command line, as <c>countersign ...</c> does.</summary>
    public static async Task<int> InvokeAsync(IReadOnlyList<string> args, Action<WebApplicationBuilder>? configure = null,
        TextReader? input = null, InvocationConfiguration? invocation = null)
    {
        var parse = Create(configure, input).Parse(args);
        if (parse.Action is ParseErrorAction)
        {
            var error = (invocation ?? new InvocationConfiguration()).Error;
            var command = string.Join(" ", CommandPath(parse.CommandResult));
            var what = string.Join("; ", parse.Errors.Select(e => string.Join(' ', e.Message.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries))));
            await error.WriteLineAsync($"error: {what} (see `{command} --help`)");
            return 2;
        }
        return await parse.InvokeAsync(invocation);
    }

    private static List<string> CommandPath(System.CommandLine.Parsing.CommandResult command)
    {
        var names = new List<string>();
        for (var r = command; r is not null; r = r.Parent as System.CommandLine.Parsing.CommandResult)
        {
            names.Insert(0, r.Parent is null ? "countersign" : r.Command.Name);
        }
        return names;
    }

    public static RootCommand Create(Action<WebApplicationBuilder>? configure = null, TextReader? input = null)
    {
        var root = new RootCommand("Countersign: a self-hosted authentication server. Run `countersign serve` to start it.")
        {
            ServeCommand.Create(configure),
            DbCommands.Create(configure),
            UsersCommands.Create(configure, input),
            KeysCommands.Create(configure),
            AuditCommands.Create(configure),
            LockoutsCommands.Create(configure),
            AddressesCommands.Create(configure),
            PairsCommands.Create(configure),
            ForwardAuthCommands.Services(configure),
            ForwardAuthCommands.Grants(configure),
            ForwardAuthCommands.Devices(configure),
            ClientsCommands.Create(configure),
            DemoCommands.Create(configure),
            AttackCommands.Create(),
            FaceCommands.Create(),
            ClientCommands.Create(input),
        };
        Guard(root);
        return root;
    }

    /// <summary>Wraps every command's action so that bad input an operator can fix ends in one line and exit 2.</summary>
    private static void Guard(Command command)
    {
        if (command.Action is { } action and not GuardedAction)
        {
            command.Action = new GuardedAction(action);
        }
        foreach (var sub in command.Subcommands)
        {
            Guard(sub);
        }
    }

    private sealed class GuardedAction(CommandLineAction inner) : AsynchronousCommandLineAction
    {
        public override async Task<int> InvokeAsync(ParseResult parseResult, CancellationToken cancellationToken = default)
        {
            try
            {
                return inner switch
                {
                    AsynchronousCommandLineAction a => await a.InvokeAsync(parseResult, cancellationToken),
                    SynchronousCommandLineAction s => s.Invoke(parseResult),
                    _ => throw new InvalidOperationException($"Unknown kind of action {inner.GetType()}."),
                };
            }
            catch (Exception e) when (BadInput(e) is { } message)
            {
                await parseResult.InvocationConfiguration.Error.WriteLineAsync("error: " + message);
                return 2;
            }
        }
    }

    /// <summary>What is wrong, in one line, when an exception comes from the operator's input or environment; null for a bug.</summary>
    internal static string? BadInput(Exception e) => e switch
    {
        FileNotFoundException or DirectoryNotFoundException or UnauthorizedAccessException => e.Message,
        HttpRequestException h => $"cannot reach the server: {h.Message}",
        SocketException s => s.Message,
        IOException io => io.Message,
        _ when ConfigurationErrors(e) is { } errors => string.Join("; ", errors),
        _ => null,
    };

    /// <summary>
    /// Builds the host without starting the web server, prepares the database, runs the work. Configuration
    /// problems are reported by <see cref="GuardedAction"/>, all of them on one line.
    /// </summary>
    internal static async Task<int> WithHostAsync(Action<WebApplicationBuilder>? configure, Func<IServiceProvider, CancellationToken, Task<int>> work,
        CancellationToken ct, bool prepare = true)
    {
        await using var app = CountersignApp.Build(CountersignApp.CreateBuilder(configure));
        if (prepare)
        {
            await StartupTasks.PrepareAsync(app.Services, ct);
        }
        else
        {
            app.Services.GetService<Microsoft.Extensions.Options.IStartupValidator>()?.Validate();
        }
        await using var scope = app.Services.CreateAsyncScope();
        return await work(scope.ServiceProvider, ct);
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
