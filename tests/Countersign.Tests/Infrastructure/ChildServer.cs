using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;

namespace Countersign.Tests.Infrastructure;

/// <summary>
/// <c>countersign serve</c> as its own process (the build output beside the tests), for tests that must see the
/// process survive or die: optionally under <c>prlimit --nofile</c>, with configuration from environment variables.
/// </summary>
public sealed class ChildServer : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output = new();
    private readonly string _folder;

    private ChildServer(Process process, Uri baseAddress, string folder)
    {
        _process = process;
        BaseAddress = baseAddress;
        _folder = folder;
    }

    /// <summary>The child's working directory: its <c>data/</c> folder is created here.</summary>
    public string Folder => _folder;

    public Uri BaseAddress { get; }

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    public int Pid => _process.Id;

    public string Output => string.Join('\n', _output);

    /// <param name="commands">CLI commands run to completion first, with the same configuration (e.g. <c>users add … --admin</c>).</param>
    public static async Task<ChildServer> StartAsync(IDictionary<string, string> settings, int? descriptorLimit = null,
        IReadOnlyList<string[]>? commands = null)
    {
        var port = FreePort();
        var dll = Path.Combine(AppContext.BaseDirectory, "countersign.dll");
        var dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet";
        var info = new ProcessStartInfo
        {
            FileName = descriptorLimit is null ? dotnet : "prlimit",
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (descriptorLimit is { } n)
        {
            info.ArgumentList.Add($"--nofile={n}:{n}");
            info.ArgumentList.Add("--");
            info.ArgumentList.Add(dotnet);
        }
        info.ArgumentList.Add(dll);
        info.ArgumentList.Add("serve");
        info.ArgumentList.Add("--urls");
        info.ArgumentList.Add($"http://127.0.0.1:{port}");
        var all = new Dictionary<string, string>
        {
            ["Passwords:MemoryKiB"] = "1024",
            ["Passwords:Iterations"] = "1",
            ["Secrets:MasterKey"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)),
            ["Secrets:Peppers:1"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)),
            ["Logging:LogLevel:Default"] = "Warning",
            ["Logging:LogLevel:Countersign"] = "Information",
            ["Logging:LogLevel:Microsoft.EntityFrameworkCore"] = "Error",
            // On by default in embedded mode, on one fixed port: only the suites that test it turn it on.
            ["QuadFactor:Enabled"] = "false",
        };
        if (settings.ContainsKey("Secrets:KeyFile"))
        {
            // The server makes its own key file, as on a first run.
            all.Remove("Secrets:MasterKey");
            all.Remove("Secrets:Peppers:1");
        }
        foreach (var (key, value) in settings)
        {
            all[key] = value;
        }
        foreach (var (key, value) in all)
        {
            info.Environment["COUNTERSIGN__" + key.Replace(":", "__", StringComparison.Ordinal)] = value;
        }
        info.Environment["DOTNET_gcServer"] = "0";
        var folder = Directory.CreateTempSubdirectory("countersign-child-").FullName;
        info.WorkingDirectory = folder;
        foreach (var command in commands ?? [])
        {
            var cli = new ProcessStartInfo(dotnet) { WorkingDirectory = folder, UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
            cli.ArgumentList.Add(dll);
            foreach (var arg in command)
            {
                cli.ArgumentList.Add(arg);
            }
            foreach (var (key, value) in info.Environment)
            {
                cli.Environment[key] = value;
            }
            using var run = Process.Start(cli)!;
            var output = run.StandardOutput.ReadToEndAsync();
            var errors = run.StandardError.ReadToEndAsync();
            await run.WaitForExitAsync();
            if (run.ExitCode != 0)
            {
                throw new InvalidOperationException($"countersign {string.Join(' ', command)} exited with {run.ExitCode}:\n{await output}\n{await errors}");
            }
        }
        var process = Process.Start(info) ?? throw new InvalidOperationException("could not start countersign");
        var started = new ChildServer(process, new Uri($"http://127.0.0.1:{port}"), folder);
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) started._output.Enqueue(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) started._output.Enqueue(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var probe = new HttpClient { BaseAddress = started.BaseAddress, Timeout = TimeSpan.FromSeconds(2) };
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(60))
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"countersign exited with {process.ExitCode} at start:\n{started.Output}");
            }
            try
            {
                if ((await probe.GetAsync("/health/live")).StatusCode == HttpStatusCode.OK)
                {
                    return started;
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                // Not listening yet.
            }
            await Task.Delay(200);
        }
        await started.DisposeAsync();
        throw new InvalidOperationException($"countersign did not answer within 60 s:\n{started.Output}");
    }

    public HttpClient CreateClient() => new() { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(30) };

    /// <summary>Open descriptors of the child, from /proc (the prlimit wrapper execs into it, so the pid is the server's).</summary>
    public int OpenDescriptors() => Directory.GetFiles($"/proc/{_process.Id}/fd").Length;

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
