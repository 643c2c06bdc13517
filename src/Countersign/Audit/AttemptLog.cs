using System.Text.Json;
using System.Text.Json.Serialization;
using System.Threading.Channels;
using Microsoft.Extensions.Options;

namespace Countersign.Audit;

/// <summary>Section <c>Audit</c>.</summary>
public sealed class AuditOptions
{
    public const string Section = "Audit";

    /// <summary>JSON-lines log of every authentication attempt; empty turns it off.</summary>
    public string? AttemptLogPath { get; set; } = "data/attempts.jsonl";

    /// <summary>
    /// PostgreSQL: how many hash chains audited writes spread over. A write appends to a chain no other
    /// transaction holds, so writers across every node wait for each other only when all chains are busy
    /// (docs/security.md, "Audit"). 1 gives the single chain of earlier versions. SQLite writes one at a
    /// time anyway and always uses one chain.
    /// </summary>
    [System.ComponentModel.DataAnnotations.Range(1, 1024)]
    public int Chains { get; set; } = 16;

    /// <summary>
    /// How often a node binds every chain's head into the signed checkpoint chain (when anything was
    /// appended since the last one). Events after the last checkpoint are protected by their chain's
    /// hashes only: a database rolled back past them loses them undetected.
    /// </summary>
    [System.ComponentModel.DataAnnotations.Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan CheckpointInterval { get; set; } = TimeSpan.FromMinutes(1);
}

/// <summary>One line of the attempt log: what the attack simulator and an analyst read.</summary>
public sealed record Attempt(
    [property: JsonPropertyName("timestamp")] DateTimeOffset Timestamp,
    [property: JsonPropertyName("username")] string Username,
    [property: JsonPropertyName("result")] string Result,
    [property: JsonPropertyName("reason")] string Reason,
    [property: JsonPropertyName("hash_mode")] string HashMode,
    [property: JsonPropertyName("protections")] IReadOnlyList<string> Protections,
    [property: JsonPropertyName("latency_ms")] double LatencyMs,
    [property: JsonPropertyName("client_ip")] string? ClientIp);

/// <summary>
/// Appends attempts to the JSON-lines file from one background writer, so a login never waits on the
/// disk and lines from parallel logins never interleave.
/// </summary>
public sealed class AttemptLog : BackgroundService
{
    private readonly Channel<Attempt> _queue = Channel.CreateBounded<Attempt>(
        new BoundedChannelOptions(10_000) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true });
    private readonly string? _path;

    public AttemptLog(IOptions<AuditOptions> options) => _path = options.Value.AttemptLogPath;

    public void Write(Attempt attempt)
    {
        if (!string.IsNullOrEmpty(_path))
        {
            _queue.Writer.TryWrite(attempt);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (string.IsNullOrEmpty(_path))
        {
            return;
        }
        Storage.PrivateFiles.CreateFolder(Path.GetDirectoryName(Path.GetFullPath(_path))!);
        await using var file = new StreamWriter(new FileStream(_path, Storage.PrivateFiles.AppendOptions()));
        try
        {
            await foreach (var attempt in _queue.Reader.ReadAllAsync(stoppingToken))
            {
                await file.WriteLineAsync(JsonSerializer.Serialize(attempt));
                if (_queue.Reader.Count == 0)
                {
                    await file.FlushAsync(stoppingToken);
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Shutting down: what was queued and flushed is kept.
        }
    }
}
