using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Countersign.Operations;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Options;
using RedisException = StackExchange.Redis.RedisException;
using RedisTimeoutException = StackExchange.Redis.RedisTimeoutException;

namespace Countersign.QuadFactor;

/// <summary>
/// One TLS connection of the quad-factor protocol, after Kestrel's handshake: frames of a 4-byte big-endian length
/// and that many bytes of UTF-8 JSON, one request and one response at a time. Read from the connection's pipe, so
/// a frame may arrive one byte at a time; memory is bounded by the length checked before anything is buffered and
/// by a budget shared by all connections. A bad frame gets one <c>bad_request</c> frame and the connection closes;
/// nothing a client sends reaches an exception that would end the process or another connection.
/// </summary>
public sealed partial class QuadConnectionHandler(
    IServiceScopeFactory scopes,
    IOptionsMonitor<QuadFactorOptions> options,
    QuadConnections connections,
    QuadBuffers buffers,
    ILogger<QuadConnectionHandler> logger) : ConnectionHandler
{
    public override async Task OnConnectedAsync(ConnectionContext connection)
    {
        var address = connection.RemoteEndPoint is IPEndPoint { Address: var a } ? (a.IsIPv4MappedToIPv6 ? a.MapToIPv4() : a) : null;
        var output = connection.Transport.Output;
        var closed = connection.ConnectionClosed;
        if (!connections.TryEnter(address, options.CurrentValue.MaxConnectionsPerAddress))
        {
            await WriteAsync(output, QuadReply.Error(ErrorCodes.RateLimited, "Too many connections from this address.", close: true), closed);
            return;
        }
        try
        {
            var client = new ClientInfo(address?.ToString(), "quad-factor");
            while (!closed.IsCancellationRequested)
            {
                var frame = await ReadFrameAsync(connection.Transport.Input, closed);
                if (frame.Payload is null)
                {
                    if (frame.Error is { } error)
                    {
                        await WriteAsync(output, error, closed);
                    }
                    return;
                }
                QuadReply reply;
                try
                {
                    reply = await HandleAsync(frame.Payload, client, closed);
                }
                finally
                {
                    buffers.Release(frame.Payload.Length);
                }
                await WriteAsync(output, reply, closed);
                if (reply.Close)
                {
                    return;
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ConnectionResetException or IOException or SocketException)
        {
            // The client went away (or timed out) mid-frame or mid-reply: nothing to answer.
        }
        finally
        {
            connections.Leave(address);
        }
    }

    private async Task<QuadReply> HandleAsync(byte[] payload, ClientInfo client, CancellationToken ct)
    {
        var (request, problem) = QuadRequest.Parse(payload);
        if (request is null)
        {
            return BadRequest(problem!);
        }
        try
        {
            await using var scope = scopes.CreateAsyncScope();
            return await scope.ServiceProvider.GetRequiredService<QuadCommands>().HandleAsync(request, client, ct);
        }
        catch (Exception e) when (e is RedisException or RedisTimeoutException)
        {
            // Fail closed, as over HTTP: without the lockout counters and replay guards nothing is judged.
            return QuadReply.Error(ErrorCodes.EphemeralStoreUnavailable, "The service is temporarily unavailable. Try again shortly.", close: true);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogFailed(logger, e, request.Command);
            return QuadReply.Error(ErrorCodes.ServerError, "The server could not handle the request.", close: true);
        }
    }

    private readonly record struct Frame(byte[]? Payload, QuadReply? Error);

    /// <summary>
    /// The next frame: its payload, or an error frame to send before closing, or neither when the client closed
    /// cleanly between frames or stayed idle too long. The idle timeout runs until the first byte of a frame, the
    /// frame timeout from then until its last.
    /// </summary>
    private async Task<Frame> ReadFrameAsync(PipeReader input, CancellationToken closed)
    {
        var o = options.CurrentValue;
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(closed);
        deadline.CancelAfter(o.IdleTimeout);
        var started = false;
        int length;
        while (true)
        {
            var read = await ReadAsync(input, deadline.Token);
            if (read is null)
            {
                return started ? new(null, BadRequest("the frame did not arrive in time")) : default;
            }
            var buffer = read.Value.Buffer;
            if (buffer.Length > 0 && !started)
            {
                started = true;
                deadline.CancelAfter(o.FrameTimeout);
            }
            if (buffer.Length >= 4)
            {
                Span<byte> header = stackalloc byte[4];
                buffer.Slice(0, 4).CopyTo(header);
                var declared = BinaryPrimitives.ReadUInt32BigEndian(header);
                input.AdvanceTo(buffer.GetPosition(4));
                if (declared == 0 || declared > (uint)o.MaxFrameBytes)
                {
                    return new(null, BadRequest($"a frame's length must be 1 to {o.MaxFrameBytes} bytes"));
                }
                length = (int)declared;
                break;
            }
            if (read.Value.IsCompleted)
            {
                input.AdvanceTo(buffer.End);
                return buffer.Length == 0 ? default : new(null, BadRequest("the frame is truncated"));
            }
            input.AdvanceTo(buffer.Start, buffer.End);
        }
        if (!buffers.TryReserve(length, o.MaxBufferedBytes))
        {
            return new(null, QuadReply.Error(ErrorCodes.RateLimited, "The server is busy; try again shortly.", close: true));
        }
        var payload = new byte[length];
        var filled = 0;
        try
        {
            while (filled < length)
            {
                var read = await ReadAsync(input, deadline.Token);
                if (read is null)
                {
                    buffers.Release(length);
                    return new(null, BadRequest("the frame did not arrive in time"));
                }
                var buffer = read.Value.Buffer;
                var take = (int)Math.Min(buffer.Length, length - filled);
                buffer.Slice(0, take).CopyTo(payload.AsSpan(filled));
                filled += take;
                input.AdvanceTo(buffer.GetPosition(take));
                if (filled < length && read.Value.IsCompleted)
                {
                    buffers.Release(length);
                    return new(null, BadRequest("the frame is truncated"));
                }
            }
        }
        catch
        {
            buffers.Release(length);
            throw;
        }
        return new(payload, null);
    }

    /// <summary>A read, or null when the deadline passed.</summary>
    private static async Task<ReadResult?> ReadAsync(PipeReader input, CancellationToken deadline)
    {
        try
        {
            return await input.ReadAsync(deadline);
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }

    private static QuadReply BadRequest(string why) => QuadReply.Error(ErrorCodes.BadRequest, "Bad frame: " + why + ".", close: true);

    internal static async Task WriteAsync(PipeWriter output, QuadReply reply, CancellationToken ct)
    {
        var json = JsonSerializer.SerializeToUtf8Bytes(reply.Body);
        var frame = new byte[4 + json.Length];
        BinaryPrimitives.WriteUInt32BigEndian(frame, (uint)json.Length);
        json.CopyTo(frame, 4);
        await output.WriteAsync(frame, ct);
    }

    [LoggerMessage(EventId = 5003, Level = LogLevel.Error, Message = "Quad-factor command {Command} failed")]
    private static partial void LogFailed(ILogger logger, Exception exception, string command);
}

/// <summary>Open protocol connections per client address (IPv6 by /64), counted before the first frame.</summary>
public sealed class QuadConnections
{
    private readonly Dictionary<IPAddress, int> _open = [];
    private readonly Lock _gate = new();

    public bool TryEnter(IPAddress? address, int limit)
    {
        if (address is null)
        {
            return true;
        }
        lock (_gate)
        {
            var key = Key(address);
            var count = _open.GetValueOrDefault(key);
            if (count >= limit)
            {
                return false;
            }
            _open[key] = count + 1;
            return true;
        }
    }

    public void Leave(IPAddress? address)
    {
        if (address is null)
        {
            return;
        }
        lock (_gate)
        {
            var key = Key(address);
            if (_open.GetValueOrDefault(key) <= 1)
            {
                _open.Remove(key);
            }
            else
            {
                _open[key]--;
            }
        }
    }

    private static IPAddress Key(IPAddress address)
    {
        if (address.AddressFamily != AddressFamily.InterNetworkV6)
        {
            return address;
        }
        var bytes = address.GetAddressBytes();
        Array.Clear(bytes, 8, 8);
        return new IPAddress(bytes);
    }
}

/// <summary>
/// Bytes of frames being received or handled, over all connections: a frame is buffered only when it fits, so a
/// thousand clients each announcing 4 MiB cannot make the server hold 4 GiB.
/// </summary>
public sealed class QuadBuffers
{
    private long _held;

    public long Held => Interlocked.Read(ref _held);

    public bool TryReserve(int bytes, long budget)
    {
        while (true)
        {
            var held = Interlocked.Read(ref _held);
            if (held + bytes > budget)
            {
                return false;
            }
            if (Interlocked.CompareExchange(ref _held, held + bytes, held) == held)
            {
                return true;
            }
        }
    }

    public void Release(int bytes) => Interlocked.Add(ref _held, -bytes);
}
