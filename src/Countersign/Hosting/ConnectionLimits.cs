using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;

namespace Countersign.Hosting;

/// <summary>
/// Section <c>Connections</c>: how many sockets the server holds open and for how long. Idle sockets cost
/// a file descriptor each and nothing to the client, so without a cap a few thousand of them exhaust the
/// process (pen test H1; ASVS 4.0 §12.1.1-style resource exhaustion, CWE-400).
/// </summary>
public sealed class ConnectionsOptions
{
    public const string Section = "Connections";

    /// <summary>Open connections in all; unset derives it from the descriptor limit, leaving room for the database, Redis and files.</summary>
    public int? MaxConnections { get; set; }

    /// <summary>Open connections from one client address (IPv6: one /64); 0 turns the per-client cap off (behind a proxy every client is the proxy).</summary>
    public int MaxConnectionsPerClient { get; set; } = 100;

    /// <summary>Time to send the request line and headers once a request has begun (Kestrel's default is 30 s).</summary>
    public TimeSpan RequestHeadersTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Time a connection may sit idle between requests, the first one included (Kestrel's default is 130 s).</summary>
    public TimeSpan KeepAliveTimeout { get; set; } = TimeSpan.FromSeconds(15);
}

internal sealed class ConnectionsOptionsValidator : IValidateOptions<ConnectionsOptions>
{
    public ValidateOptionsResult Validate(string? name, ConnectionsOptions o)
    {
        var errors = new List<string>();
        if (o.MaxConnections is < 1)
        {
            errors.Add("Connections:MaxConnections must be at least 1 (or unset to derive it from the descriptor limit).");
        }
        if (o.MaxConnectionsPerClient < 0)
        {
            errors.Add("Connections:MaxConnectionsPerClient must be 0 (off) or more.");
        }
        if (o.RequestHeadersTimeout <= TimeSpan.Zero || o.RequestHeadersTimeout > TimeSpan.FromMinutes(2))
        {
            errors.Add("Connections:RequestHeadersTimeout must be between 0 and 00:02:00.");
        }
        if (o.KeepAliveTimeout <= TimeSpan.Zero || o.KeepAliveTimeout > TimeSpan.FromMinutes(5))
        {
            errors.Add("Connections:KeepAliveTimeout must be between 0 and 00:05:00.");
        }
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}

public static partial class ConnectionLimits
{
    /// <summary>
    /// Raises the descriptor limit, caps connections below it and shortens Kestrel's idle timeouts, so running
    /// out of descriptors refuses new connections instead of ending the process.
    /// </summary>
    public static IHostApplicationBuilder AddConnectionLimits(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<ConnectionsOptions>().BindConfiguration(ConnectionsOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<ConnectionsOptions>, ConnectionsOptionsValidator>();
        services.AddSingleton<PerClientConnections>();
        services.AddHostedService<ConnectionLimitsReport>();
        DescriptorLimit.Raise();
        services.AddOptions<KestrelServerOptions>().Configure<IOptions<ConnectionsOptions>, PerClientConnections>((kestrel, options, perClient) =>
        {
            var o = options.Value;
            kestrel.Limits.MaxConcurrentConnections = EffectiveMaxConnections(o);
            // Upgraded connections (the hub's WebSockets) count in MaxConcurrentConnections too; no separate cap.
            kestrel.Limits.RequestHeadersTimeout = o.RequestHeadersTimeout;
            kestrel.Limits.KeepAliveTimeout = o.KeepAliveTimeout;
            kestrel.ConfigureEndpointDefaults(listen => listen.Use(perClient.Middleware));
        });
        return builder;
    }

    /// <summary>
    /// The configured cap, or what the descriptor limit leaves: less the descriptors already open when the server
    /// starts (the runtime holds two per loaded assembly, ~400 in all) and a reserve of an eighth, at least 128,
    /// for the database pool, Redis, log files and the over-cap sockets Kestrel accepts only to close them.
    /// Measured under <c>ulimit -n 1024</c>: 380 descriptors open at start, so at most 516 connections.
    /// </summary>
    public static long EffectiveMaxConnections(ConnectionsOptions o) => o.MaxConnections ?? Derived.Value;

    private static readonly Lazy<long> Derived = new(() =>
    {
        if (DescriptorLimit.Current is not { Soft: var soft } || soft > int.MaxValue)
        {
            return 50_000;
        }
        var limit = (long)soft;
        var open = OpenDescriptors();
        return Math.Max(limit - open - Math.Max(128, limit / 8), 16);
    });

    private static long OpenDescriptors()
    {
        try
        {
            return Directory.GetFiles("/proc/self/fd").Length;
        }
        catch (IOException)
        {
            return 512;
        }
        catch (UnauthorizedAccessException)
        {
            return 512;
        }
    }

    [LoggerMessage(EventId = 40, Level = LogLevel.Information,
        Message = "File descriptors: soft limit {Soft} (was {SoftBefore} at start), hard limit {Hard}; at most {MaxConnections} connections, {PerClient} per client address (0: no per-client cap)")]
    internal static partial void LogLimits(ILogger logger, ulong soft, ulong softBefore, ulong hard, long maxConnections, int perClient);

    [LoggerMessage(EventId = 41, Level = LogLevel.Information,
        Message = "Descriptor limit unknown on this platform; at most {MaxConnections} connections, {PerClient} per client address")]
    internal static partial void LogLimitsUnknown(ILogger logger, long maxConnections, int perClient);

    [LoggerMessage(EventId = 42, Level = LogLevel.Warning,
        Message = "Refused a connection from {Client}: it already holds {Limit} (Connections:MaxConnectionsPerClient)")]
    internal static partial void LogPerClientRefused(ILogger logger, string client, int limit);
}

/// <summary>Says at start what the limits are, so an operator reading the log knows what to raise (docs/operations.md).</summary>
internal sealed class ConnectionLimitsReport(IOptions<ConnectionsOptions> options, ILogger<ConnectionLimitsReport> logger) : IHostedService
{
    public Task StartAsync(CancellationToken ct)
    {
        var o = options.Value;
        var max = ConnectionLimits.EffectiveMaxConnections(o);
        if (DescriptorLimit.Current is { } d)
        {
            ConnectionLimits.LogLimits(logger, d.Soft, d.SoftBefore, d.Hard, max, o.MaxConnectionsPerClient);
        }
        else
        {
            ConnectionLimits.LogLimitsUnknown(logger, max, o.MaxConnectionsPerClient);
        }
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken ct) => Task.CompletedTask;
}

/// <summary>
/// Open connections per client address, counted at the socket, before any HTTP is parsed: a connection over
/// the cap is closed at once. IPv6 clients are grouped by /64, the block one subscriber usually holds.
/// </summary>
internal sealed class PerClientConnections(IOptions<ConnectionsOptions> options, ILogger<PerClientConnections> logger)
{
    private readonly Dictionary<IPAddress, int> _open = [];
    private readonly Lock _gate = new();
    private long _lastWarning;

    public ConnectionDelegate Middleware(ConnectionDelegate next) => async connection =>
    {
        var limit = options.Value.MaxConnectionsPerClient;
        if (limit == 0 || connection.RemoteEndPoint is not IPEndPoint { Address: var address })
        {
            await next(connection);
            return;
        }
        var client = ClientKey(address);
        if (!TryEnter(client, limit))
        {
            // One warning a second at most: a flood must not become a log flood.
            var now = Environment.TickCount64;
            if (now - Interlocked.Read(ref _lastWarning) > 1000)
            {
                Interlocked.Exchange(ref _lastWarning, now);
                ConnectionLimits.LogPerClientRefused(logger, client.ToString(), limit);
            }
            connection.Abort(new ConnectionAbortedException("Too many connections from this client."));
            return;
        }
        try
        {
            await next(connection);
        }
        finally
        {
            Leave(client);
        }
    };

    internal static IPAddress ClientKey(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            return address.MapToIPv4();
        }
        if (address.AddressFamily != AddressFamily.InterNetworkV6)
        {
            return address;
        }
        var bytes = address.GetAddressBytes();
        Array.Clear(bytes, 8, 8);
        return new IPAddress(bytes);
    }

    private bool TryEnter(IPAddress client, int limit)
    {
        lock (_gate)
        {
            var count = _open.GetValueOrDefault(client);
            if (count >= limit)
            {
                return false;
            }
            _open[client] = count + 1;
            return true;
        }
    }

    private void Leave(IPAddress client)
    {
        lock (_gate)
        {
            if (_open.GetValueOrDefault(client) <= 1)
            {
                _open.Remove(client);
            }
            else
            {
                _open[client]--;
            }
        }
    }
}
