using System.Text.Json;
using System.Text.Json.Serialization;
using System.Threading.Channels;
using Microsoft.Extensions.Options;

namespace Countersign.Audit;

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
