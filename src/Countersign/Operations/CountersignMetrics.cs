using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Countersign.Operations;

/// <summary>
/// The server's own instruments (meter <c>Countersign</c>), recorded whether or not anything listens: a counter
/// nobody subscribes to costs one branch. <see cref="MetricsSetup"/> exports them when <c>Metrics:Enabled</c> is
/// true. Names follow the OpenTelemetry conventions (dotted, unit in the metadata); Prometheus shows
/// <c>countersign.signin.attempts</c> as <c>countersign_signin_attempts_total</c>. docs/operations.md lists them.
/// </summary>
public sealed class CountersignMetrics
{
    public const string MeterName = "Countersign";

    /// <summary>Spans of the sign-in path (exported with OTLP when <c>Metrics:OtlpEndpoint</c> is set).</summary>
    public static readonly ActivitySource Tracing = new(MeterName);

    private readonly Counter<long> _signIns;
    private readonly Histogram<double> _signInDuration;
    private readonly Counter<long> _auditEvents;
    private readonly Counter<long> _auditShipped;
    private readonly Counter<long> _auditShipFailures;
    private readonly Counter<long> _totpReplays;
    private readonly Counter<long> _wordsPushed;
    private readonly UpDownCounter<long> _hubConnections;
    private readonly Counter<long> _faceChecks;
    private readonly Histogram<double> _faceDuration;

    public CountersignMetrics(IMeterFactory meters)
    {
        var meter = meters.Create(MeterName);
        _signIns = meter.CreateCounter<long>("countersign.signin.attempts", "{attempt}",
            "Sign-in attempts by result (success, failure, refused) and reason (ok, invalid_credentials, account_locked, captcha_required, rate_limited, …).");
        _signInDuration = meter.CreateHistogram<double>("countersign.signin.duration", "s",
            "Time from the request to the decision, by result.", advice: new() { HistogramBucketBoundaries = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5] });
        _auditEvents = meter.CreateCounter<long>("countersign.audit.events", "{event}",
            "Audit events committed, by action (locked_out, refresh_reuse_detected, possible_impersonation, …).");
        _auditShipped = meter.CreateCounter<long>("countersign.audit.shipped", "{row}",
            "Audit rows copied to the separate audit database, by kind (event, checkpoint).");
        _auditShipFailures = meter.CreateCounter<long>("countersign.audit.ship_failures", "{round}",
            "Shipping rounds that failed (the audit database unreachable, say); the rows wait in the main database.");
        _totpReplays = meter.CreateCounter<long>("countersign.totp.replays", "{code}",
            "TOTP codes refused because their time step was already used (RFC 6238 §5.2).");
        _wordsPushed = meter.CreateCounter<long>("countersign.calls.words_pushed", "{message}",
            "Word messages sent to call-verification hub connections.");
        _hubConnections = meter.CreateUpDownCounter<long>("countersign.calls.hub_connections", "{connection}",
            "Call-verification hub connections open on this node.");
        _faceChecks = meter.CreateCounter<long>("countersign.face.verifications", "{verification}",
            "Face comparisons, by result (match, no_match, error).");
        _faceDuration = meter.CreateHistogram<double>("countersign.face.verification.duration", "s",
            "Time one face comparison took (detection, alignment, embedding).", advice: new() { HistogramBucketBoundaries = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5] });
    }

    public void SignIn(string result, string reason, TimeSpan elapsed)
    {
        var tags = new TagList { { "result", result }, { "reason", reason } };
        _signIns.Add(1, tags);
        _signInDuration.Record(elapsed.TotalSeconds, new KeyValuePair<string, object?>("result", result));
    }

    public void AuditEvent(string action) => _auditEvents.Add(1, new KeyValuePair<string, object?>("action", action));

    public void AuditShipped(int events, int checkpoints)
    {
        _auditShipped.Add(events, new KeyValuePair<string, object?>("kind", "event"));
        _auditShipped.Add(checkpoints, new KeyValuePair<string, object?>("kind", "checkpoint"));
    }

    public void AuditShipFailed() => _auditShipFailures.Add(1);

    public void TotpReplay() => _totpReplays.Add(1);

    public void WordsPushed(int messages) => _wordsPushed.Add(messages);

    public void HubConnected() => _hubConnections.Add(1);

    public void HubDisconnected() => _hubConnections.Add(-1);

    public void FaceVerified(string result, TimeSpan elapsed)
    {
        _faceChecks.Add(1, new KeyValuePair<string, object?>("result", result));
        _faceDuration.Record(elapsed.TotalSeconds);
    }
}
