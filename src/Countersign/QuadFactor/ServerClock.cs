using System.Net;
using System.Net.Sockets;
using Countersign.Storage;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace Countersign.QuadFactor;

/// <summary>
/// Whether the server may trust its own clock for the protocol's clock check (<c>client_time</c> within ±120 s) and
/// TOTP. With <c>QuadFactor:NtpServer</c> set, it may only while the last NTP answer is recent (2 ×
/// <c>NtpInterval</c>) and put the clock within <c>MaxServerClockOffset</c>; with no answer yet it may not (fail
/// closed: a server whose clock is wrong would accept captured requests from another time, or refuse everyone).
/// </summary>
public sealed partial class ServerClock(
    IOptionsMonitor<QuadFactorOptions> options,
    IOptions<StorageOptions> storage,
    TimeProvider time,
    ILogger<ServerClock> logger)
{
    /// <summary>How long a UDP exchange may take; three tries make one check.</summary>
    internal static readonly TimeSpan QueryTimeout = TimeSpan.FromSeconds(2);

    private const int TriesPerCheck = 3;

    private sealed record Reading(SntpAnswer Answer, long At, string Server);

    private Reading? _last;
    private string? _lastProblem;
    private bool _wasVerified;
    private readonly Lock _gate = new();

    /// <summary>True when the protocol is on and an NTP server is configured.</summary>
    public bool Checked => !string.IsNullOrWhiteSpace(options.CurrentValue.NtpServer) && options.CurrentValue.IsEnabled(storage.Value.Provider == StorageProvider.Sqlite);

    /// <summary>Null when the clock may be trusted, else why not (one line, for the log and the health check).</summary>
    public string? Distrust()
    {
        if (!Checked)
        {
            return null;
        }
        var o = options.CurrentValue;
        Reading? last;
        string? problem;
        lock (_gate)
        {
            last = _last;
            problem = _lastProblem;
        }
        if (last is null)
        {
            return $"no answer from the NTP server {o.NtpServer} yet" + (problem is null ? "" : $" ({problem})");
        }
        var age = time.GetElapsedTime(last.At);
        if (age > 2 * o.NtpInterval)
        {
            return $"the last NTP answer is {age.TotalMinutes:0} min old" + (problem is null ? "" : $" ({problem})");
        }
        if (last.Answer.Offset.Duration() > o.MaxServerClockOffset)
        {
            return $"the clock is {last.Answer.Offset.TotalSeconds:+0.000;-0.000} s off the NTP server {last.Server} (at most {o.MaxServerClockOffset.TotalSeconds:0.###} s allowed)";
        }
        return null;
    }

    /// <summary>The last measured offset (NTP time minus ours), for the health check and tests.</summary>
    public TimeSpan? LastOffset
    {
        get
        {
            lock (_gate)
            {
                return _last?.Answer.Offset;
            }
        }
    }

    /// <summary>One check (up to three tries); true when an answer arrived. Logs when trust is lost or regained.</summary>
    public async Task<bool> CheckAsync(CancellationToken ct)
    {
        var o = options.CurrentValue;
        if (string.IsNullOrWhiteSpace(o.NtpServer) || NtpEndpoint.TryParse(o.NtpServer) is not { } endpoint)
        {
            return false;
        }
        SntpResult result = new(null, "not asked");
        for (var i = 0; i < TriesPerCheck && result.Answer is null; i++)
        {
            result = await QueryAsync(endpoint, ct);
        }
        lock (_gate)
        {
            if (result.Answer is { } answer)
            {
                _last = new Reading(answer, time.GetTimestamp(), endpoint.ToString());
                _lastProblem = null;
            }
            else
            {
                _lastProblem = result.Problem;
            }
        }
        Report(result);
        return result.Answer is not null;
    }

    private async Task<SntpResult> QueryAsync(NtpEndpoint endpoint, CancellationToken ct)
    {
        IPAddress[] addresses;
        try
        {
            addresses = IPAddress.TryParse(endpoint.Host, out var literal) ? [literal] : await Dns.GetHostAddressesAsync(endpoint.Host, ct);
        }
        catch (SocketException e)
        {
            return new(null, $"{endpoint.Host} does not resolve ({e.SocketErrorCode})");
        }
        if (addresses.Length == 0)
        {
            return new(null, $"{endpoint.Host} does not resolve");
        }
        return await Sntp.QueryAsync(new IPEndPoint(addresses[0], endpoint.Port), time, QueryTimeout, ct);
    }

    private void Report(SntpResult result)
    {
        var distrust = Distrust();
        bool was;
        lock (_gate)
        {
            was = _wasVerified;
            _wasVerified = distrust is null;
        }
        if (distrust is not null)
        {
            // Every check that leaves the clock untrusted says so (at most one a minute), so the operator sees it go on.
            LogUnverified(logger, distrust, result.Problem ?? "answered");
        }
        else if (!was)
        {
            LogVerified(logger, result.Answer!.Value.Offset.TotalMilliseconds, options.CurrentValue.NtpServer!);
        }
    }

    [LoggerMessage(EventId = 5004, Level = LogLevel.Warning,
        Message = "Server clock unverified: {Reason}; quad-factor commands are refused with server_clock_unverified (this check: {Check})")]
    private static partial void LogUnverified(ILogger logger, string reason, string check);

    [LoggerMessage(EventId = 5005, Level = LogLevel.Information, Message = "Server clock verified: {OffsetMs:0.0} ms from the NTP server {Server}")]
    private static partial void LogVerified(ILogger logger, double offsetMs, string server);
}

/// <summary>Checks the clock at start and every <c>NtpInterval</c>; a failed check is tried again a minute later.</summary>
internal sealed class ServerClockCheck(ServerClock clock, IOptionsMonitor<QuadFactorOptions> options, TimeProvider time) : BackgroundService
{
    internal static readonly TimeSpan RetryAfterFailure = TimeSpan.FromMinutes(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!clock.Checked)
        {
            return;
        }
        // Off the start path: the server starts at once and refuses commands until the first answer arrives.
        await Task.Yield();
        while (!stoppingToken.IsCancellationRequested)
        {
            var answered = await clock.CheckAsync(stoppingToken);
            try
            {
                await Task.Delay(answered ? options.CurrentValue.NtpInterval : RetryAfterFailure, time, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }
}

/// <summary>
/// <c>/health/ready</c> reports an untrusted clock as Degraded (still 200): HTTP sign-in does not depend on it, so the
/// node stays in the load balancer, while the body and monitoring show the protocol is refusing.
/// </summary>
internal sealed class ServerClockHealthCheck(ServerClock clock) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(clock.Distrust() is { } why
            ? HealthCheckResult.Degraded("quad-factor commands refused: " + why)
            : HealthCheckResult.Healthy());
}
