using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Countersign.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;

namespace Countersign.Tests.ForwardAuth;

public enum Proxy { Nginx, Caddy }

/// <summary>
/// A Countersign server with Debian's nginx and Caddy in front of it on loopback, each running the shipped
/// configuration (deploy/nginx/countersign.conf, deploy/caddy/Caddyfile) with its ports filled in, and one upstream
/// app that echoes what it got: the raw request target, the path an app would act on, and every header.
/// </summary>
public class ProxiedServer() : ForwardAuthServer(Database.Sqlite, StateStore.Memory)
{
    public const string AppHost = "app.example.test";
    public const string AuthHost = "auth.example.test";

    private readonly string _folder = Directory.CreateTempSubdirectory("countersign-proxies-").FullName;
    private readonly List<Process> _proxies = [];
    private WebApplication? _echo;

    public Dictionary<Proxy, int> Ports { get; } = [];

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        _echo = EchoApp();
        await _echo.StartAsync();
        var echo = new Uri(_echo.Urls.First()).Port;
        var countersign = $"127.0.0.1:{BaseAddress.Port}";
        var root = Repository.Root;

        // nginx: the shipped server blocks, included from a wrapper that keeps pid, logs and temp files in the folder.
        var nginxPort = FreePort();
        var nginxDir = Directory.CreateDirectory(Path.Combine(_folder, "nginx")).FullName;
        await File.WriteAllTextAsync(Path.Combine(nginxDir, "countersign.conf"), Fill(await File.ReadAllTextAsync(Path.Combine(root, "deploy", "nginx", "countersign.conf")),
            new()
            {
                ["COUNTERSIGN_ADDR"] = countersign, ["APP_ADDR"] = $"127.0.0.1:{echo}", ["LISTEN"] = $"127.0.0.1:{nginxPort}",
                ["AUTH_HOST"] = AuthHost, ["APP_HOST"] = AppHost,
            }));
        await File.WriteAllTextAsync(Path.Combine(nginxDir, "nginx.conf"), $$"""
            daemon off;
            worker_processes 1;
            pid {{nginxDir}}/nginx.pid;
            error_log {{nginxDir}}/error.log warn;
            events { worker_connections 512; }
            http {
                access_log off;
                client_body_temp_path {{nginxDir}}/body;
                proxy_temp_path {{nginxDir}}/proxy;
                fastcgi_temp_path {{nginxDir}}/fastcgi;
                uwsgi_temp_path {{nginxDir}}/uwsgi;
                scgi_temp_path {{nginxDir}}/scgi;
                include {{nginxDir}}/countersign.conf;
            }
            """);
        Start("/usr/sbin/nginx", ["-e", Path.Combine(nginxDir, "error.log"), "-p", nginxDir, "-c", Path.Combine(nginxDir, "nginx.conf")], nginxDir);
        Ports[Proxy.Nginx] = nginxPort;

        // Caddy: the shipped Caddyfile, plain HTTP on loopback, no admin endpoint, its state in the folder.
        var caddyPort = FreePort();
        var caddyDir = Directory.CreateDirectory(Path.Combine(_folder, "caddy")).FullName;
        var caddyfile = Fill(await File.ReadAllTextAsync(Path.Combine(root, "deploy", "caddy", "Caddyfile")), new()
        {
            ["COUNTERSIGN_ADDR"] = countersign, ["APP_ADDR"] = $"127.0.0.1:{echo}",
            ["AUTH_SITE"] = $"http://{AuthHost}:{caddyPort}", ["APP_SITE"] = $"http://{AppHost}:{caddyPort}",
        });
        await File.WriteAllTextAsync(Path.Combine(caddyDir, "Caddyfile"), "{\n\tadmin off\n\tauto_https off\n\tdefault_bind 127.0.0.1\n}\n\n" + caddyfile);
        Start("/usr/bin/caddy", ["run", "--config", Path.Combine(caddyDir, "Caddyfile"), "--adapter", "caddyfile"], caddyDir);
        Ports[Proxy.Caddy] = caddyPort;

        foreach (var (proxy, port) in Ports)
        {
            await WaitForAsync(proxy, port);
        }
    }

    /// <summary>${NAME} replaced, as envsubst would; a name left unfilled fails the test rather than start a broken proxy.</summary>
    private static string Fill(string template, Dictionary<string, string> values)
    {
        foreach (var (name, value) in values)
        {
            template = template.Replace("${" + name + "}", value, StringComparison.Ordinal);
        }
        var body = string.Join('\n', template.Split('\n').Where(l => !l.TrimStart().StartsWith('#')));
        Assert.DoesNotContain("${", body, StringComparison.Ordinal);
        return template;
    }

    private void Start(string file, string[] args, string folder)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = folder };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }
        info.Environment["HOME"] = folder;
        info.Environment["XDG_DATA_HOME"] = folder;
        info.Environment["XDG_CONFIG_HOME"] = folder;
        var process = Process.Start(info)!;
        var log = Path.Combine(folder, "output.log");
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (_proxies) File.AppendAllText(log, e.Data + "\n"); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (_proxies) File.AppendAllText(log, e.Data + "\n"); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _proxies.Add(process);
    }

    private async Task WaitForAsync(Proxy proxy, int port)
    {
        var folder = Path.Combine(_folder, proxy.ToString().ToLowerInvariant());
        for (var i = 0; i < 100; i++)
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, port);
                return;
            }
            catch (SocketException)
            {
                await Task.Delay(100);
            }
        }
        var log = string.Join("\n", Directory.GetFiles(folder, "*.log").Select(File.ReadAllText));
        throw new InvalidOperationException($"{proxy} did not listen on {port}:\n{log}");
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }


    /// <summary>The app behind the proxies: 200 with what it received, and the path as an app would act on it.</summary>
    private static WebApplication EchoApp()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        app.Run(async http =>
        {
            var raw = http.Features.Get<IHttpRequestFeature>()!.RawTarget;
            http.Response.ContentType = "application/json";
            await http.Response.WriteAsync(JsonSerializer.Serialize(new
            {
                raw,
                path = Countersign.ForwardAuth.PathRules.Normalize(raw) ?? "(refused)",
                headers = http.Request.Headers.ToDictionary(h => h.Key.ToLowerInvariant(), h => h.Value.ToString()),
            }));
        });
        return app;
    }

    public override async Task DisposeAsync()
    {
        foreach (var process in _proxies)
        {
            try
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
            }
            catch (InvalidOperationException)
            {
            }
            process.Dispose();
        }
        if (_echo is not null)
        {
            await _echo.StopAsync();
            await _echo.DisposeAsync();
        }
        await base.DisposeAsync();
        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
