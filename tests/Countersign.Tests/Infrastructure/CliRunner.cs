using System.CommandLine;
using Countersign.Cli;

namespace Countersign.Tests.Infrastructure;

/// <summary>Runs a CLI command in-process, as `countersign ...` would, with its output captured.</summary>
public static class CliRunner
{
    public static async Task<(int Exit, string Output, string Error)> RunAsync(Action<WebApplicationBuilder>? configure, params string[] args) =>
        await RunWithInputAsync(configure, null, args);

    /// <summary>With <paramref name="stdin"/> as what the operator types (passwords, one per line).</summary>
    public static async Task<(int Exit, string Output, string Error)> RunWithInputAsync(Action<WebApplicationBuilder>? configure, string? stdin, params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        using var input = stdin is null ? null : new StringReader(stdin);
        var exit = await CountersignCli.InvokeAsync(args, configure, input, new InvocationConfiguration { Output = output, Error = error });
        return (exit, output.ToString(), error.ToString());
    }
}
