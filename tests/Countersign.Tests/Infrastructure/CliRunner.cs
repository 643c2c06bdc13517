using System.CommandLine;
using Countersign.Cli;

namespace Countersign.Tests.Infrastructure;

/// <summary>Runs a CLI command in-process, as `countersign ...` would, with its output captured.</summary>
public static class CliRunner
{
    public static async Task<(int Exit, string Output, string Error)> RunAsync(Action<WebApplicationBuilder>? configure, params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exit = await CountersignCli.Create(configure).Parse(args).InvokeAsync(new InvocationConfiguration { Output = output, Error = error });
        return (exit, output.ToString(), error.ToString());
    }
}
