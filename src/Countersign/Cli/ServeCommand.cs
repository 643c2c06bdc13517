using System.CommandLine;
using Countersign.Hosting;

namespace Countersign.Cli;

internal static class ServeCommand
{
    public static Command Create(Action<WebApplicationBuilder>? configure)
    {
        var urls = new Option<string?>("--urls") { Description = "Where to listen, e.g. http://localhost:5080 (default from configuration)." };
        var demo = new Option<bool>("--demo") { Description = "Also create the demo advisor and clients (as `demo seed` does) if they do not exist yet. Never on by default." };
        var command = new Command("serve", "Run the server. With no configuration: SQLite under ./data, in-memory state, http://localhost:5080.") { urls, demo };
        command.SetAction(async (parse, ct) =>
        {
            var builder = CountersignApp.CreateBuilder(b =>
            {
                configure?.Invoke(b);
                if (parse.GetValue(urls) is { } u)
                {
                    b.WebHost.UseUrls(u);
                }
            });
            await using var app = CountersignApp.Build(builder);
            try
            {
                await StartupTasks.PrepareAsync(app.Services, ct);
                if (parse.GetValue(demo))
                {
                    await DemoCommands.SeedAsync(app.Services, ct);
                }
                await app.RunAsync(ct);
                return 0;
            }
            catch (Exception e) when (CountersignCli.ConfigurationErrors(e) is { } errors)
            {
                await Console.Error.WriteLineAsync("Countersign cannot start:");
                foreach (var error in errors)
                {
                    await Console.Error.WriteLineAsync($"  - {error}");
                }
                return 2;
            }
        });
        return command;
    }
}
