using System.Buffers.Binary;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Countersign.Cli;
using Countersign.QuadFactor;
using Xunit.Abstractions;

namespace Countersign.Tests.QuadFactor;

/// <summary>
/// What a hostile or broken client can send: frames a byte at a time, bad lengths, truncation, bad UTF-8, deep
/// nesting, huge strings, and twice 10,000 seeded random frames. Each bad frame gets one bad_request frame and the
/// connection closes; afterwards the server still serves a valid login and holds no frame memory.
/// </summary>
[Collection(QuadRobustnessCollection.Name)]
public sealed class QuadProtocolRobustnessTests(QuadSqliteServer server, ITestOutputHelper output) : IClassFixture<QuadSqliteServer>
{
    private static byte[] Frame(byte[] payload)
    {
        var frame = new byte[4 + payload.Length];
        BinaryPrimitives.WriteUInt32BigEndian(frame, (uint)payload.Length);
        payload.CopyTo(frame, 4);
        return frame;
    }

    private static byte[] Header(uint length)
    {
        var header = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(header, length);
        return header;
    }

    /// <summary>Sends raw bytes, then reads one reply frame and checks that the server closed the connection after it.</summary>
    private async Task<JsonElement> SendRawAndExpectCloseAsync(byte[] bytes, bool shutdown = false)
    {
        await using var client = await server.ConnectAsync();
        await client.Stream.WriteAsync(bytes);
        await client.Stream.FlushAsync();
        if (shutdown)
        {
            await client.Stream.ShutdownAsync();
        }
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var reply = await QuadClient.ReadFrameAsync(client.Stream, timeout.Token);
        Assert.NotNull(reply);
        Assert.Null(await QuadClient.ReadFrameAsync(client.Stream, timeout.Token));
        return JsonDocument.Parse(reply).RootElement.Clone();
    }

    private static string? Error(JsonElement reply) => reply.TryGetProperty("error", out var e) ? e.GetString() : null;

    [Fact]
    public async Task A_login_written_one_byte_at_a_time_succeeds()
    {
        var user = await server.RegisterAsync("bytewise-" + Guid.NewGuid().ToString("N")[..8]);
        var frame = Frame(JsonSerializer.SerializeToUtf8Bytes(QuadClient.Sign(server.Login(user), user.Key, server.Now)));
        await using var client = await server.ConnectAsync();
        foreach (var b in frame)
        {
            await client.Stream.WriteAsync(new[] { b });
            await client.Stream.FlushAsync();
        }
        var reply = JsonDocument.Parse((await QuadClient.ReadFrameAsync(client.Stream, CancellationToken.None))!).RootElement;
        Assert.Equal("ok", reply.GetProperty("status").GetString());
    }

    [Fact]
    public async Task Two_requests_on_one_connection_get_two_replies()
    {
        var user = await server.RegisterAsync("twice-" + Guid.NewGuid().ToString("N")[..8]);
        await using var client = await server.ConnectAsync();
        var wrong = await client.SendAsync(QuadClient.Sign(server.Login(user, password: "not the password at all 1"), user.Key, server.Now), CancellationToken.None);
        Assert.Equal("invalid_credentials", Error(wrong));
        var right = await client.SendAsync(QuadClient.Sign(server.Login(user), user.Key, server.Now), CancellationToken.None);
        Assert.Equal("ok", right.GetProperty("status").GetString());
    }

    public static TheoryData<string> BadFrames => new()
    {
        "zero_length", "over_max_length", "length_4_GiB", "invalid_utf8", "deep_nesting", "not_an_object", "array",
        "unknown_command", "command_not_a_string", "client_time_a_string", "client_time_a_float", "missing_nonce",
        "short_nonce", "bad_base64", "bad_mac", "bad_public_key", "huge_string", "trailing_garbage",
    };

    [Theory]
    [MemberData(nameof(BadFrames))]
    public async Task A_bad_frame_gets_one_bad_request_frame_and_the_connection_closes(string kind)
    {
        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        JsonObject Valid() => QuadClient.Sign(new JsonObject
        {
            ["command"] = "100", ["username"] = "someone", ["password"] = "x", ["totp_code"] = "123456", ["face_image_b64"] = "", ["mac"] = QuadServer.Mac,
        }, key, server.Now);
        byte[] Json(JsonObject o) => Frame(JsonSerializer.SerializeToUtf8Bytes(o));
        JsonObject With(string field, JsonNode? value)
        {
            var o = Valid();
            o[field] = value;
            return o;
        }
        var bytes = kind switch
        {
            "zero_length" => Header(0),
            "over_max_length" => Header(4 * 1024 * 1024 + 1),
            "length_4_GiB" => Header(uint.MaxValue),
            "invalid_utf8" => Frame([.. "{\"command\":\"100\",\"username\":\""u8, 0xC3, 0x28, .. "\"}"u8]),
            "deep_nesting" => Frame(Encoding.UTF8.GetBytes(new string('[', 10_000) + new string(']', 10_000))),
            "not_an_object" => Frame("\"100\""u8.ToArray()),
            "array" => Frame("[{\"command\":\"100\"}]"u8.ToArray()),
            "unknown_command" => Json(With("command", "999")),
            "command_not_a_string" => Json(With("command", 100)),
            "client_time_a_string" => Json(With("client_time", "1700000000")),
            "client_time_a_float" => Json(With("client_time", 1.5)),
            "missing_nonce" => Json(With("nonce", null)),
            "short_nonce" => Json(With("nonce", Convert.ToBase64String(new byte[8]))),
            "bad_base64" => Json(With("signature", "not base64 !!!")),
            "bad_mac" => Json(With("mac", "not-a-mac")),
            "bad_public_key" => Json(With("command", "330").Also(o => { o["device_public_key"] = Convert.ToBase64String(new byte[91]); o["face_image_b64"] = ""; })),
            "huge_string" => Json(With("username", new string('a', 3 * 1024 * 1024))),
            "trailing_garbage" => Frame([.. JsonSerializer.SerializeToUtf8Bytes(Valid()), .. "garbage"u8]),
            _ => throw new ArgumentOutOfRangeException(nameof(kind)),
        };
        var reply = await SendRawAndExpectCloseAsync(bytes);
        Assert.Equal("bad_request", Error(reply));
        Assert.Equal("error", reply.GetProperty("status").GetString());
    }

    [Fact]
    public async Task A_truncated_frame_gets_bad_request_when_the_client_stops_sending()
    {
        var reply = await SendRawAndExpectCloseAsync([.. Header(100), .. "{\"command\":"u8], shutdown: true);
        Assert.Equal("bad_request", Error(reply));
    }

    [Fact]
    public async Task Connections_over_the_per_address_limit_are_refused_and_others_still_served()
    {
        var open = new List<QuadClient>();
        try
        {
            for (var i = 0; i < 16; i++)
            {
                open.Add(await server.ConnectAsync());
            }
            // The 17th is accepted by TCP and TLS, told why, and closed.
            await using var over = await server.ConnectAsync();
            var reply = await QuadClient.ReadFrameAsync(over.Stream, CancellationToken.None);
            Assert.Equal("rate_limited", Error(JsonDocument.Parse(reply!).RootElement));
        }
        finally
        {
            foreach (var c in open)
            {
                await c.DisposeAsync();
            }
        }
        var user = await server.RegisterAsync("after-limit-" + Guid.NewGuid().ToString("N")[..8]);
        Assert.Equal("ok", (await server.SendAsync(QuadClient.Sign(server.Login(user), user.Key, server.Now))).GetProperty("status").GetString());
    }

    /// <summary>
    /// Twice 10,000 frames from a seeded generator (so a failure replays): random bytes, random lengths, JSON of random
    /// shapes, and valid requests with one field mutated. Sent over four connections at once, each reopened when the
    /// server closes it. Then the server must still sign a user in, and hold no frame memory.
    /// </summary>
    [Fact]
    public async Task Twice_ten_thousand_random_frames_leave_the_server_serving_with_bounded_memory()
    {
        // 10,000 in each of two halves.
        const int frames = 10_000;
        var user = await server.RegisterAsync("fuzz-" + Guid.NewGuid().ToString("N")[..8]);
        var buffers = server.Services.GetRequiredService<QuadBuffers>();
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        var heapBefore = GC.GetTotalMemory(forceFullCollection: true);
        var sent = 0;
        var replies = new Dictionary<string, int>();
        var peakHeld = 0L;
        async Task WorkerAsync(int seed)
        {
            var random = new Random(seed);
            QuadClient? client = null;
            try
            {
                while (Interlocked.Increment(ref sent) <= frames)
                {
                    client ??= await server.ConnectAsync();
                    var bytes = Fuzz(random, user);
                    string outcome;
                    try
                    {
                        await client.Stream.WriteAsync(bytes);
                        await client.Stream.FlushAsync();
                        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
                        // A frame that announces more bytes than were sent waits for them: close our side so the server
                        // sees the truncation rather than waiting out the frame timeout.
                        if (bytes.Length < 4 || BinaryPrimitives.ReadUInt32BigEndian(bytes) is var n && n != bytes.Length - 4)
                        {
                            await client.Stream.ShutdownAsync();
                        }
                        var reply = await QuadClient.ReadFrameAsync(client.Stream, timeout.Token);
                        outcome = reply is null ? "closed" : Error(JsonDocument.Parse(reply).RootElement) ?? "ok";
                        if (reply is null || outcome is "bad_request" or "server_error" || bytes.Length < 4 || BinaryPrimitives.ReadUInt32BigEndian(bytes) != bytes.Length - 4)
                        {
                            await client.DisposeAsync();
                            client = null;
                        }
                    }
                    catch (IOException)
                    {
                        outcome = "reset";
                        await client!.DisposeAsync();
                        client = null;
                    }
                    lock (replies)
                    {
                        replies[outcome] = replies.GetValueOrDefault(outcome) + 1;
                        peakHeld = Math.Max(peakHeld, buffers.Held);
                    }
                }
            }
            finally
            {
                if (client is not null)
                {
                    await client.DisposeAsync();
                }
            }
        }
        // Two halves: what the heap holds after the second must not have grown like the first did (warm-up: JIT,
        // pools, the lockout's counters for the fuzz names), or memory would grow with the frames sent.
        await Task.WhenAll(Enumerable.Range(1, 4).Select(WorkerAsync));
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        var heapHalf = GC.GetTotalMemory(forceFullCollection: true);
        sent = 0;
        await Task.WhenAll(Enumerable.Range(5, 4).Select(WorkerAsync));
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        var heapAfter = GC.GetTotalMemory(forceFullCollection: true);
        output.WriteLine($"replies: {string.Join(", ", replies.OrderByDescending(r => r.Value).Select(r => $"{r.Key} {r.Value}"))}");
        output.WriteLine($"managed heap before {heapBefore / 1024 / 1024.0:F1} MiB, after {frames:N0} frames {heapHalf / 1024 / 1024.0:F1} MiB, after {2 * frames:N0} {heapAfter / 1024 / 1024.0:F1} MiB; frame bytes held at the end {buffers.Held}, peak seen {peakHeld}");
        Assert.DoesNotContain("server_error", replies.Keys);
        Assert.Equal(0, buffers.Held);
        // The frames total far more than this (up to 64 KiB each); what is kept after them must not grow with them.
        Assert.True(heapAfter - heapBefore < 64L * 1024 * 1024, $"the heap grew by {(heapAfter - heapBefore) / 1024 / 1024} MiB");
        Assert.True(heapAfter - heapHalf < 16L * 1024 * 1024, $"the heap grew by {(heapAfter - heapHalf) / 1024 / 1024} MiB in the second half");
        // The fuzz locked its own user (wrong passwords); a fresh one signs in.
        var fresh = await server.RegisterAsync("after-fuzz-" + Guid.NewGuid().ToString("N")[..8]);
        var login = await server.SendAsync(QuadClient.Sign(server.Login(fresh), fresh.Key, server.Now));
        Assert.Equal("ok", login.GetProperty("status").GetString());
    }

    private static readonly string[] Fields = ["command", "username", "password", "totp_code", "face_image_b64", "client_time", "nonce", "mac", "signature",
        "device_public_key", "new_password", "new_face_image_b64", "admin", "captcha"];

    private byte[] Fuzz(Random random, QuadUser user)
    {
        switch (random.Next(6))
        {
            case 0:
            {
                // Random bytes behind a correct length.
                var payload = new byte[random.Next(1, 2048)];
                random.NextBytes(payload);
                return Frame(payload);
            }
            case 1:
            {
                // A random header and a few bytes: lengths that lie.
                var bytes = new byte[random.Next(0, 64)];
                random.NextBytes(bytes);
                return bytes;
            }
            case 2:
                return Frame(Encoding.UTF8.GetBytes(RandomJson(random, 0)?.ToJsonString() ?? "null"));
            default:
            {
                // A request of the right shape with one or two fields replaced, for the commands' own checks. Never a
                // real photo (each costs ~80 ms), and wrong credentials (so the lockout of the fuzz user is exercised).
                var o = QuadClient.Sign(new JsonObject
                {
                    ["command"] = QuadCommandCodes.All.ElementAt(random.Next(QuadCommandCodes.All.Count)),
                    ["username"] = random.Next(3) == 0 ? user.Username : "fuzz" + random.Next(100),
                    ["password"] = "wrong" + random.Next(),
                    ["totp_code"] = random.Next(1_000_000).ToString("D6", System.Globalization.CultureInfo.InvariantCulture),
                    ["face_image_b64"] = Convert.ToBase64String(RandomBytes(random, random.Next(0, 64))),
                    ["mac"] = QuadServer.Mac,
                    ["new_password"] = "another wrong one " + random.Next(),
                    ["new_face_image_b64"] = Convert.ToBase64String(RandomBytes(random, 1 + random.Next(64))),
                    ["device_public_key"] = Convert.ToBase64String(user.Key.ExportSubjectPublicKeyInfo()),
                    ["admin"] = new JsonObject { ["username"] = "fuzz-admin", ["password"] = "x", ["totp_code"] = "000000" },
                }, user.Key, server.Now + random.Next(-200, 200));
                for (var i = random.Next(1, 3); i > 0; i--)
                {
                    // Half of the time a value of the right type (a string), so the frame gets past the shape checks.
                    o[Fields[random.Next(Fields.Length)]] = random.Next(2) == 0
                        ? new string((char)random.Next(0x20, 0x7F), random.Next(0, 40))
                        : RandomJson(random, 2);
                }
                return Frame(JsonSerializer.SerializeToUtf8Bytes(o));
            }
        }
    }

    private static byte[] RandomBytes(Random random, int length)
    {
        var bytes = new byte[length];
        random.NextBytes(bytes);
        return bytes;
    }

    private static JsonNode? RandomJson(Random random, int depth) => (depth > 3 ? random.Next(5) : random.Next(8)) switch
    {
        0 => null,
        1 => random.Next(2) == 0,
        2 => random.NextInt64(long.MinValue, long.MaxValue),
        3 => random.NextDouble() * 1e300,
        4 => new string((char)random.Next(0x20, 0xD7FF), random.Next(0, random.Next(2) == 0 ? 16 : 65536)),
        5 => new JsonArray([.. Enumerable.Range(0, random.Next(4)).Select(_ => RandomJson(random, depth + 1))]),
        _ => new JsonObject(Enumerable.Range(0, random.Next(5)).Select(i => KeyValuePair.Create(
            random.Next(2) == 0 ? Fields[random.Next(Fields.Length)] : "k" + i, RandomJson(random, depth + 1)))
            .DistinctBy(kv => kv.Key)),
    };
}

/// <summary>
/// Alone, after the parallel tests: the fuzz reads the process's managed heap, which other suites running beside it
/// would fill.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class QuadRobustnessCollection
{
    public const string Name = "quad-factor robustness (alone)";
}

internal static class JsonObjectExtensions
{
    public static JsonObject Also(this JsonObject o, Action<JsonObject> change)
    {
        change(o);
        return o;
    }
}
