using System.Diagnostics;
using Countersign.Tests.Infrastructure;

namespace Countersign.Tests.Architecture;

/// <summary>
/// Every script a newcomer runs answers <c>--help</c> with its usage and exits, rather than starting a build, servers or a
/// twenty-minute bench (bench/run once ignored the flag and began measuring). scripts/lib/help.sh does it for them all.
/// </summary>
public sealed class ScriptHelpTests
{
    public static TheoryData<string> Scripts()
    {
        var data = new TheoryData<string>();
        foreach (var script in Directory.EnumerateFiles(Path.Combine(Repository.Root, "bench"), "run", SearchOption.AllDirectories)
            .Append(Path.Combine(Repository.Root, "scripts", "test")).Append(Path.Combine(Repository.Root, "scripts", "cluster"))
            .Append(Path.Combine(Repository.Root, "scripts", "make-compiled-models"))
            .Select(s => Path.GetRelativePath(Repository.Root, s)).Order(StringComparer.Ordinal))
        {
            data.Add(script);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Scripts))]
    public async Task A_script_given_help_prints_its_usage_and_starts_nothing(string script)
    {
        // From another directory, by a relative path, as a user in a shell might: the script changes directory first.
        var folder = Path.Combine(Repository.Root, "docs");
        using var process = Process.Start(new ProcessStartInfo("bash", ["-c", $"exec ../{script} --help"])
        {
            WorkingDirectory = folder,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            // It went on to build or start something: stop all of it before failing.
            process.Kill(entireProcessTree: true);
            Assert.Fail($"{script} --help was still running after 20 s: {await output}");
        }

        Assert.True(process.ExitCode == 0, $"{script} --help exited {process.ExitCode}: {await error}");
        Assert.Contains("Usage", await output, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("Build succeeded", await output, StringComparison.Ordinal);
        Assert.Equal("", await error);
    }
}
