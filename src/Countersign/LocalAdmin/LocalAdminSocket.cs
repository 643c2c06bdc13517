using System.Text.Json;
using Countersign.Defences;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Options;

namespace Countersign.LocalAdmin;

/// <summary>
/// A second, private listener on a Unix socket in the data folder, for the CLI: with the in-memory ephemeral
/// store the live state (lockouts) exists only inside this process, so a CLI command that shows or clears it
/// must ask the server rather than its own empty copy. Only the server's OS user can use it: the socket is
/// mode 0600 and every connection's peer uid (SO_PEERCRED) must equal ours. It is a separate little host, so
/// nothing mapped here is reachable from the network listener, and nothing of the public pipeline runs here.
/// </summary>
internal sealed partial class LocalAdminSocket(IServiceProvider services, IOptions<LocalAdminOptions> options, ILoggerFactory loggers) : IHostedService
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    private readonly ILogger _logger = loggers.CreateLogger<LocalAdminSocket>();
    private WebApplication? _app;

    public async Task StartAsync(CancellationToken ct)
    {
        if (!options.Value.Enabled || OperatingSystem.IsWindows())
        {
            return;
        }
        var path = options.Value.FullPath;
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        if (File.Exists(path))
        {
            if (await LocalAdminClient.AnswersAsync(path, ct))
            {
                // Two servers on one data folder: the CLI keeps talking to the first.
                LogSocketInUse(_logger, path);
                return;
            }
            File.Delete(path); // left behind by a server that did not stop cleanly
        }

        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.Services.AddSingleton(loggers);
        builder.Services.AddLogging();
        builder.Services.AddRoutingCore();
        builder.WebHost.UseKestrelCore().ConfigureKestrel(k => k.ListenUnixSocket(path, listen => listen.Use(next => connection =>
            IsSameUser(connection) ? next(connection) : RefuseAsync(connection, path))));
        var app = builder.Build();
        Map(app);
        await app.StartAsync(ct);
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        _app = app;
    }

    public async Task StopAsync(CancellationToken ct)
    {
        if (_app is null)
        {
            return;
        }
        await _app.StopAsync(ct);
        await _app.DisposeAsync();
        File.Delete(options.Value.FullPath);
    }

    private void Map(WebApplication app)
    {
        app.MapGet("/lockouts/{username}", async (string username) =>
        {
            await using var scope = services.CreateAsyncScope();
            var normalized = scope.ServiceProvider.GetRequiredService<ILookupNormalizer>().NormalizeName(username)!;
            var status = await scope.ServiceProvider.GetRequiredService<Lockout>().StatusAsync(normalized);
            return Results.Json(new LockoutView(username, status.FailedCount, status.LockedUntil, status.RemainingAttempts), Json);
        });
        app.MapDelete("/lockouts/{username}", async (string username, CancellationToken ct) =>
        {
            await using var scope = services.CreateAsyncScope();
            await scope.ServiceProvider.GetRequiredService<LockoutAdmin>().UnlockAsync(username, "cli", null, ct);
            return Results.NoContent();
        });
        app.MapGet("/addresses/{ip}", async (string ip) =>
        {
            await using var scope = services.CreateAsyncScope();
            return AddressDefences.Canonical(ip) is { } address
                ? Results.Json(await scope.ServiceProvider.GetRequiredService<AddressDefences>().StatusAsync(address), Json)
                : Results.BadRequest();
        });
        app.MapDelete("/addresses/{ip}", async (string ip, CancellationToken ct) =>
        {
            await using var scope = services.CreateAsyncScope();
            if (AddressDefences.Canonical(ip) is not { } address)
            {
                return Results.BadRequest();
            }
            await scope.ServiceProvider.GetRequiredService<AddressDefences>().ResetAsync(address, "cli", null, ct);
            return Results.NoContent();
        });
    }

    /// <summary>The peer's uid from SO_PEERCRED (Linux <c>struct ucred</c>: pid, uid, gid) against our own.</summary>
    private static bool IsSameUser(ConnectionContext connection)
    {
        if (connection.Features.Get<IConnectionSocketFeature>()?.Socket is not { } socket || OwnUid.Value is not { } own)
        {
            return OwnUid.Value is null; // not Linux: the socket's mode 0600 is the guard
        }
        Span<byte> credentials = stackalloc byte[12];
        const int SolSocket = 1, SoPeerCred = 17;
        return socket.GetRawSocketOption(SolSocket, SoPeerCred, credentials) == 12
            && BitConverter.ToUInt32(credentials[4..8]) == own;
    }

    private Task RefuseAsync(ConnectionContext connection, string path)
    {
        LogRefused(_logger, path);
        connection.Abort();
        return Task.CompletedTask;
    }

    /// <summary>Our effective uid, from /proc (Linux); null elsewhere.</summary>
    private static readonly Lazy<uint?> OwnUid = new(() =>
    {
        try
        {
            var line = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("Uid:", StringComparison.Ordinal));
            var fields = line?.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            return fields is { Length: > 2 } ? uint.Parse(fields[2], System.Globalization.CultureInfo.InvariantCulture) : null;
        }
        catch (IOException)
        {
            return null;
        }
    });

    [LoggerMessage(EventId = 1, Level = LogLevel.Warning,
        Message = "Another server already answers on the local admin socket {Path}; this one does not listen there.")]
    private static partial void LogSocketInUse(ILogger logger, string path);

    [LoggerMessage(EventId = 2, Level = LogLevel.Warning,
        Message = "Refused a connection to the local admin socket {Path} from another OS user.")]
    private static partial void LogRefused(ILogger logger, string path);
}
