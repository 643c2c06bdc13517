using System.Buffers.Binary;
using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Countersign.Cli;
using Countersign.QuadFactor;
using Countersign.Tests.Infrastructure;
using Microsoft.Extensions.Time.Testing;

namespace Countersign.Tests.QuadFactor;

/// <summary>The SNTP client over real UDP on loopback: chronyd for real answers, a test-owned peer for bad ones.</summary>
public sealed class SntpClientTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(2);

    [Fact]
    public async Task Chrony_on_loopback_puts_the_system_clock_within_a_second()
    {
        await using var chrony = await Chrony.StartAsync();
        var result = await Sntp.QueryAsync(new IPEndPoint(IPAddress.Loopback, chrony.Port), TimeProvider.System, Timeout, CancellationToken.None);
        Assert.True(result.Answer is not null, result.Problem);
        Assert.True(result.Answer.Value.Offset.Duration() < TimeSpan.FromSeconds(1), result.Answer.Value.Offset.ToString());
        Assert.Equal(10, result.Answer.Value.Stratum);
    }

    [Fact]
    public async Task A_clock_10_s_ahead_of_chrony_measures_an_offset_of_minus_10_s()
    {
        await using var chrony = await Chrony.StartAsync();
        var ahead = new FakeTimeProvider(DateTimeOffset.UtcNow + TimeSpan.FromSeconds(10));
        var result = await Sntp.QueryAsync(new IPEndPoint(IPAddress.Loopback, chrony.Port), ahead, Timeout, CancellationToken.None);
        Assert.True(result.Answer is not null, result.Problem);
        Assert.InRange(result.Answer.Value.Offset.TotalSeconds, -10.5, -9.5);
    }

    public static TheoryData<string, string> BadReplies => new()
    {
        { "short", "under 48" },
        { "client_mode", "mode 3" },
        { "kiss_of_death", "kiss-o'-death RATE" },
        { "stratum_16", "stratum 16" },
        { "unsynchronised", "leap indicator 3" },
        { "zero_transmit", "transmit timestamp is zero" },
        { "spoofed_origin", "origin timestamp" },
        { "garbage", "" },
    };

    [Theory]
    [MemberData(nameof(BadReplies))]
    public async Task A_bad_reply_is_no_answer_and_the_problem_says_why(string kind, string why)
    {
        await using var peer = new NtpResponder();
        peer.Reply = request =>
        {
            var good = NtpResponder.Answer(request, DateTimeOffset.UtcNow);
            switch (kind)
            {
                case "short": return [good[..47]];
                case "client_mode": return [NtpResponder.Answer(request, DateTimeOffset.UtcNow, mode: 3)];
                case "kiss_of_death":
                    var kiss = NtpResponder.Answer(request, DateTimeOffset.UtcNow, stratum: 0);
                    "RATE"u8.CopyTo(kiss.AsSpan(12));
                    return [kiss];
                case "stratum_16": return [NtpResponder.Answer(request, DateTimeOffset.UtcNow, stratum: 16)];
                case "unsynchronised": return [NtpResponder.Answer(request, DateTimeOffset.UtcNow, leap: 3)];
                case "zero_transmit":
                    good.AsSpan(40, 8).Clear();
                    return [good];
                case "spoofed_origin":
                    // An off-path forger guesses the origin: any guess but the 64 random bits we sent is refused.
                    BinaryPrimitives.WriteUInt64BigEndian(good.AsSpan(24), NtpResponder.Timestamp(DateTimeOffset.UtcNow));
                    return [good];
                default:
                    var junk = new byte[48 + Random.Shared.Next(200)];
                    Random.Shared.NextBytes(junk);
                    return [junk];
            }
        };
        var result = await Sntp.QueryAsync(peer.EndPoint, TimeProvider.System, Timeout, CancellationToken.None);
        Assert.Null(result.Answer);
        Assert.Contains(why, result.Problem, StringComparison.Ordinal);
        Assert.Contains("no valid answer", result.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_forged_reply_before_the_real_one_does_not_end_the_exchange()
    {
        await using var peer = new NtpResponder();
        peer.Reply = request =>
        {
            var forged = NtpResponder.Answer(request, DateTimeOffset.UtcNow + TimeSpan.FromHours(1));
            forged[24] ^= 0xFF;
            return [forged, NtpResponder.Answer(request, DateTimeOffset.UtcNow)];
        };
        var result = await Sntp.QueryAsync(peer.EndPoint, TimeProvider.System, Timeout, CancellationToken.None);
        Assert.True(result.Answer is not null, result.Problem);
        Assert.True(result.Answer.Value.Offset.Duration() < TimeSpan.FromSeconds(1));
    }

    [Fact]
    public async Task Silence_is_no_answer_after_the_timeout()
    {
        await using var peer = new NtpResponder();
        var result = await Sntp.QueryAsync(peer.EndPoint, TimeProvider.System, TimeSpan.FromMilliseconds(500), CancellationToken.None);
        Assert.Null(result.Answer);
        Assert.Contains("no answer", result.Problem, StringComparison.Ordinal);
        Assert.Equal(1, peer.Requests);
    }

    /// <summary>
    /// The reply parser is a network surface: 10,000 seeded random and mutated replies never throw, and none is taken
    /// as an answer unless it echoes the origin (the mutations that keep the origin and the shape may pass).
    /// </summary>
    [Fact]
    public void Ten_thousand_random_and_mutated_replies_never_throw_and_never_pass_without_the_origin()
    {
        var random = new Random(4330);
        var origin = new byte[8];
        random.NextBytes(origin);
        var request = new byte[48];
        origin.CopyTo(request, 40);
        var t1 = DateTimeOffset.UtcNow;
        var accepted = 0;
        for (var i = 0; i < 10_000; i++)
        {
            byte[] reply;
            if (random.Next(2) == 0)
            {
                reply = new byte[random.Next(0, 120)];
                random.NextBytes(reply);
            }
            else
            {
                reply = NtpResponder.Answer(request, t1.AddSeconds(random.Next(-100_000, 100_000)), stratum: (byte)random.Next(0, 20), leap: random.Next(4));
                for (var m = random.Next(1, 4); m > 0; m--)
                {
                    reply[random.Next(reply.Length)] = (byte)random.Next(256);
                }
            }
            var (answer, problem) = Sntp.Read(reply, origin, t1, t1.AddMilliseconds(1));
            Assert.True(answer is null ^ problem is null);
            if (answer is not null)
            {
                accepted++;
                Assert.True(reply.AsSpan(24, 8).SequenceEqual(origin));
                Assert.Equal(4, reply[0] & 7);
                Assert.InRange((int)reply[1], 1, 15);
            }
        }
        Assert.InRange(accepted, 1, 9_999);
    }

    [Fact]
    public void Timestamps_of_era_1_read_as_after_2036()
    {
        // RFC 4330 §3: the top bit clear means seconds since 2036-02-07 06:28:16 UTC.
        Assert.Equal(new DateTimeOffset(2036, 2, 7, 6, 28, 16, TimeSpan.Zero).AddSeconds(100), Sntp.Time(100UL << 32));
        var now = new DateTimeOffset(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);
        Assert.Equal(now, Sntp.Time(NtpResponder.Timestamp(now)));
    }

    [Theory]
    [InlineData("ntp.example.org", "ntp.example.org", 123)]
    [InlineData("127.0.0.1:1123", "127.0.0.1", 1123)]
    [InlineData("[::1]:1123", "::1", 1123)]
    [InlineData("::1", "::1", 123)]
    public void Ntp_server_settings_parse(string text, string host, int port) => Assert.Equal(new NtpEndpoint(host, port), NtpEndpoint.TryParse(text));

    [Theory]
    [InlineData("")]
    [InlineData("host:0")]
    [InlineData("host:99999")]
    [InlineData("[::1")]
    [InlineData("bad host:123")]
    public void Bad_ntp_server_settings_are_refused(string text) => Assert.Null(NtpEndpoint.TryParse(text));
}

/// <summary>A quad-factor server whose <c>QuadFactor:NtpServer</c> is chronyd; its clock starts 60 s behind.</summary>
public sealed class QuadChronyServer() : QuadServer(Database.Sqlite, StateStore.Memory)
{
    public Chrony Ntp { get; private set; } = null!;

    protected override TimeSpan ClockOffset => TimeSpan.FromSeconds(-60);

    public override async Task InitializeAsync()
    {
        Ntp = await Chrony.StartAsync();
        await base.InitializeAsync();
    }

    protected override void ConfigureMore(Dictionary<string, string?> settings) => settings["QuadFactor:NtpServer"] = Ntp.Server;

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        if (Ntp is { } ntp)
        {
            await ntp.DisposeAsync();
        }
    }
}

/// <summary>The same with its clock 10 s ahead.</summary>
public sealed class QuadClockAheadServer() : QuadServer(Database.Sqlite, StateStore.Memory)
{
    public Chrony Ntp { get; private set; } = null!;

    protected override TimeSpan ClockOffset => TimeSpan.FromSeconds(10);

    public override async Task InitializeAsync()
    {
        Ntp = await Chrony.StartAsync();
        await base.InitializeAsync();
    }

    protected override void ConfigureMore(Dictionary<string, string?> settings) => settings["QuadFactor:NtpServer"] = Ntp.Server;

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        if (Ntp is { } ntp)
        {
            await ntp.DisposeAsync();
        }
    }
}

/// <summary>The same with a test-owned peer as its NTP server, silent until a test gives it replies.</summary>
public sealed class QuadBadNtpServer() : QuadServer(Database.Sqlite, StateStore.Memory)
{
    public NtpResponder Ntp { get; } = new();

    protected override void ConfigureMore(Dictionary<string, string?> settings) => settings["QuadFactor:NtpServer"] = Ntp.Server;

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        if (Ntp is { } ntp)
        {
            await ntp.DisposeAsync();
        }
    }
}

internal static class ServerClockTesting
{
    public static ServerClock Clock(this QuadServer server) => server.Services.GetRequiredService<ServerClock>();

    /// <summary>A login request for a user who need not exist: refused for the clock before anything looks at it.</summary>
    public static JsonObject AnyLogin(this QuadServer server)
    {
        using var key = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256);
        return QuadClient.Sign(new JsonObject
        {
            ["command"] = "100", ["username"] = "clock-" + Guid.NewGuid().ToString("N")[..8], ["password"] = "x", ["totp_code"] = "000000",
            ["face_image_b64"] = "", ["mac"] = QuadServer.Mac,
        }, key, server.Now);
    }

    public static string? Error(JsonElement reply) => reply.TryGetProperty("error", out var e) ? e.GetString() : null;

    public static async Task<(HttpStatusCode Status, string Body)> ReadyAsync(this QuadServer server)
    {
        using var http = server.CreateClient();
        var response = await http.GetAsync("/health/ready");
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }
}

/// <summary>
/// The server checks its own clock against chronyd: refused while 60 s behind, served once set right (3 s off is
/// within the 5 s allowed), refused again when the last answer is older than two intervals.
/// </summary>
public sealed class ServerClockInStepTests(QuadChronyServer server) : IClassFixture<QuadChronyServer>
{
    [Fact]
    public async Task Commands_are_served_only_while_ntp_vouches_for_the_clock()
    {
        var clock = server.Clock();
        Assert.True(await clock.CheckAsync(CancellationToken.None));
        // 60 s behind at construction, and the fake clock stood still while the server started.
        Assert.InRange(clock.LastOffset!.Value.TotalSeconds, 59, 180);
        Assert.Contains("s off the NTP server", clock.Distrust(), StringComparison.Ordinal);
        var refused = await server.SendAsync(server.AnyLogin());
        Assert.Equal("server_clock_unverified", ServerClockTesting.Error(refused));
        Assert.Equal((HttpStatusCode.OK, "Degraded"), await server.ReadyAsync());

        // The operator sets the clock (3 s fast: within 5 s); the next check trusts it.
        server.FakeClock.SetUtcNow(DateTimeOffset.UtcNow + TimeSpan.FromSeconds(3));
        Assert.True(await clock.CheckAsync(CancellationToken.None));
        Assert.InRange(clock.LastOffset!.Value.TotalSeconds, -3.5, -2.5);
        Assert.Null(clock.Distrust());
        Assert.Equal((HttpStatusCode.OK, "Healthy"), await server.ReadyAsync());
        var user = await server.RegisterAsync("ntp-" + Guid.NewGuid().ToString("N")[..8]);
        var login = await server.SendAsync(QuadClient.Sign(server.Login(user, code: server.CurrentCode(user.TotpSecret)), user.Key, server.Now));
        Assert.Equal("ok", login.GetProperty("status").GetString());

        // The NTP server goes away; past two intervals (20 min) without an answer the clock is not trusted.
        await server.Ntp.StopAsync();
        server.FakeClock.Advance(TimeSpan.FromMinutes(21));
        Assert.Contains("min old", clock.Distrust(), StringComparison.Ordinal);
        Assert.Equal("server_clock_unverified", ServerClockTesting.Error(await server.SendAsync(QuadClient.Sign(server.Login(user), user.Key, server.Now))));
    }
}

public sealed class ServerClockAheadTests(QuadClockAheadServer server) : IClassFixture<QuadClockAheadServer>
{
    [Fact]
    public async Task A_server_clock_10_s_ahead_of_ntp_refuses_every_command_and_reports_degraded()
    {
        var clock = server.Clock();
        server.FakeClock.SetUtcNow(DateTimeOffset.UtcNow + TimeSpan.FromSeconds(10));
        Assert.True(await clock.CheckAsync(CancellationToken.None));
        Assert.InRange(clock.LastOffset!.Value.TotalSeconds, -10.5, -9.5);
        var reply = await server.SendAsync(server.AnyLogin());
        Assert.Equal("server_clock_unverified", ServerClockTesting.Error(reply));
        Assert.Equal("The server cannot vouch for its clock right now; try again later.", reply.GetProperty("message").GetString());
        var (status, body) = await server.ReadyAsync();
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("Degraded", body);
    }
}

public sealed class ServerClockWithoutAnswerTests(QuadBadNtpServer server) : IClassFixture<QuadBadNtpServer>
{
    [Fact]
    public async Task Before_any_answer_every_command_is_refused()
    {
        // The peer has been silent since the server started: no answer yet, so nothing is judged.
        Assert.Contains("no answer from the NTP server", server.Clock().Distrust(), StringComparison.Ordinal);
        Assert.Equal("server_clock_unverified", ServerClockTesting.Error(await server.SendAsync(server.AnyLogin())));
        Assert.True(server.Ntp.Requests >= 1);
    }

    [Fact]
    public async Task Spoofed_or_garbage_replies_never_make_the_clock_trusted()
    {
        var clock = server.Clock();
        server.Ntp.Reply = request =>
        {
            var spoofed = NtpResponder.Answer(request, DateTimeOffset.UtcNow);
            spoofed[31] ^= 1;
            var junk = new byte[60];
            Random.Shared.NextBytes(junk);
            return [spoofed, junk];
        };
        Assert.False(await clock.CheckAsync(CancellationToken.None));
        Assert.Contains("no answer from the NTP server", clock.Distrust(), StringComparison.Ordinal);
        Assert.Equal("server_clock_unverified", ServerClockTesting.Error(await server.SendAsync(server.AnyLogin())));
        server.Ntp.Reply = _ => [];
    }
}
