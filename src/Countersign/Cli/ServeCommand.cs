using System.CommandLine;
using Countersign.Hosting;

namespace Countersign.Cli;

internal static class ServeCommand
{
    public static Command Create(Action<WebApplicationBuilder>? configure)
    {
        var urls = new Option<string?>("--urls") { Description = "Where to listen, e.g. http://localhost:5080; several separated by ';' (default from configuration)." };
        urls.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<string?>() is { } value && InvalidUrl(value) is { } bad)
            {
                r.AddError($"--urls: '{bad}' is not an http:// or https:// URL such as http://localhost:5080");
            }
        });
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
            if (builder.Configuration["Urls"] is { } configured && InvalidUrl(configured) is { } bad)
            {
                await parse.InvocationConfiguration.Error.WriteLineAsync($"error: Urls: '{bad}' is not an http:// or https:// URL such as http://localhost:5080");
                return 2;
            }
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

    /// <summary>The first of the ';'-separated addresses Kestrel would refuse, or null. Kestrel also takes * and + as the host.</summary>
    internal static string? InvalidUrl(string urls) => urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
        .FirstOrDefault(u => !Uri.TryCreate(u.Replace("://*", "://localhost", StringComparison.Ordinal).Replace("://+", "://localhost", StringComparison.Ordinal),
            UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || (uri.AbsolutePath != "/" && !u.StartsWith("http://unix:", StringComparison.Ordinal)));
}
