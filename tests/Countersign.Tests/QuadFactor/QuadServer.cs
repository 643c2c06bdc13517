using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Web;
using Countersign.Accounts;
using Countersign.Audit;
using Countersign.Cli;
using Countersign.QuadFactor;
using Countersign.Storage;
using Countersign.Tests.Infrastructure;
using Countersign.Totp;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Time.Testing;

namespace Countersign.Tests.QuadFactor;

/// <summary>
/// A server with the quad-factor listener on a free loopback port, a self-signed certificate generated as in
/// embedded mode, and a clock the tests move (each TOTP code is accepted once, so each login takes a new step).
/// </summary>
public class QuadServer(Database database = Database.Sqlite, StateStore store = StateStore.Memory) : TestServer(database, store)
{
    private readonly string _certificateFolder = Directory.CreateTempSubdirectory("countersign-quad-").FullName;

    /// <summary>Photos of DeepFace's test set, as the face tests use them: 38 and 41 one person, 39 that person again, 2 someone else.</summary>
    public static byte[] Photo(string name) => File.ReadAllBytes(Path.Combine(Repository.Root, "..", "shared", "faces", "deepface", name + ".jpg"));

    public static readonly Lazy<byte[]> Enrolled = new(() => Photo("img41"));
    public static readonly Lazy<byte[]> Genuine = new(() => Photo("img38"));
    public static readonly Lazy<byte[]> SamePersonAgain = new(() => Photo("img39"));
    public static readonly Lazy<byte[]> Impostor = new(() => Photo("img2"));

    public const string Mac = "02:00:00:aa:bb:cc";
    public const string AdminName = "quad-admin";
    public const string StrongPassword = "correct horse battery staple 42";

    public FakeTimeProvider FakeClock => Clock!;
    public string CertificatePath => Path.Combine(_certificateFolder, "quad-factor.pfx");
    public string Fingerprint => Services.GetRequiredService<QuadListener>().Fingerprint!;
    public int Port => Services.GetRequiredService<QuadListener>().EndPoint!.Port;
    public byte[] AdminTotp { get; private set; } = [];

    protected override void Configure(Dictionary<string, string?> settings)
    {
        Clock = new FakeTimeProvider(DateTimeOffset.UtcNow + ClockOffset);
        settings["QuadFactor:Enabled"] = "true";
        settings["QuadFactor:Port"] = "0";
        settings["QuadFactor:CertificatePath"] = Path.Combine(_certificateFolder, "quad-factor.pfx");
        settings["QuadFactor:GenerateCertificate"] = "true";
        // Every test connects from 127.0.0.1, many at once in the robustness tests.
        settings["QuadFactor:MaxConnectionsPerAddress"] = "16";
        ConfigureMore(settings);
    }

    /// <summary>Where the server's clock starts against the real one (the CLI signs with the real clock).</summary>
    protected virtual TimeSpan ClockOffset => TimeSpan.Zero;

    protected virtual void ConfigureMore(Dictionary<string, string?> settings)
    {
    }

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        AdminTotp = await CreateAccountWithTotpAsync(AdminName, [Roles.Admin]);
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        Directory.Delete(_certificateFolder, recursive: true);
    }

    /// <summary>An account with a password and an active TOTP secret, made directly (the admin who registers others).</summary>
    public async Task<byte[]> CreateAccountWithTotpAsync(string username, string[] roles)
    {
        await using var scope = Services.CreateAsyncScope();
        var (user, result) = await scope.ServiceProvider.GetRequiredService<AccountAdmin>()
            .CreateAsync(username, StrongPassword, null, roles, AuditActions.UserCreated, "test", null);
        Assert.True(result.Succeeded, string.Join("; ", result.Errors.Select(e => e.Description)));
        var enrolment = await scope.ServiceProvider.GetRequiredService<TotpService>().StageActiveAsync(user!);
        await scope.ServiceProvider.GetRequiredService<CountersignDb>().SaveChangesAsync();
        return OtpNet.Base32Encoding.ToBytes(enrolment.Secret);
    }

    /// <summary>The current code, after moving the clock to the next 30 s step (each step is accepted once).</summary>
    public string NextCode(byte[] secret)
    {
        FakeClock.Advance(TimeSpan.FromSeconds(30));
        return Rfc6238.Code(secret, Rfc6238.StepAt(FakeClock.GetUtcNow()));
    }

    public string CurrentCode(byte[] secret) => Rfc6238.Code(secret, Rfc6238.StepAt(FakeClock.GetUtcNow()));

    public long Now => FakeClock.GetUtcNow().ToUnixTimeSeconds();

    internal Task<QuadClient> ConnectAsync() => QuadClient.ConnectAsync("127.0.0.1", Port, new ServerTrust.Pin(Fingerprint), CancellationToken.None);

    public async Task<JsonElement> SendAsync(JsonObject request)
    {
        await using var client = await ConnectAsync();
        return await client.SendAsync(request, CancellationToken.None);
    }

    /// <summary>A user registered over the protocol by the admin: their device key and TOTP secret.</summary>
    public async Task<QuadUser> RegisterAsync(string username)
    {
        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var reply = await SendAsync(QuadClient.Sign(new JsonObject
        {
            ["command"] = "200",
            ["admin"] = new JsonObject { ["username"] = AdminName, ["password"] = StrongPassword, ["totp_code"] = NextCode(AdminTotp) },
            ["username"] = username,
            ["password"] = StrongPassword,
            ["face_image_b64"] = Convert.ToBase64String(Enrolled.Value),
            ["device_public_key"] = Convert.ToBase64String(key.ExportSubjectPublicKeyInfo()),
            ["mac"] = Mac,
        }, key, Now));
        Assert.True(reply.GetProperty("status").GetString() == "ok", reply.ToString());
        var uri = new Uri(reply.GetProperty("provisioning_uri").GetString()!);
        var secret = OtpNet.Base32Encoding.ToBytes(HttpUtility.ParseQueryString(uri.Query)["secret"]!);
        return new QuadUser(username, key, secret);
    }

    /// <summary>A login request with every factor right (tests spoil one).</summary>
    public JsonObject Login(QuadUser user, byte[]? photo = null, string? password = null, string? code = null) => new()
    {
        ["command"] = "100",
        ["username"] = user.Username,
        ["password"] = password ?? user.Password,
        ["totp_code"] = code ?? NextCode(user.TotpSecret),
        ["face_image_b64"] = Convert.ToBase64String(photo ?? Genuine.Value),
        ["mac"] = Mac,
    };

    /// <summary>The newest login_failed row's detail for the user.</summary>
    public async Task<JsonElement> LastFailureAsync(string username)
    {
        await using var scope = Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<CountersignDb>();
        var row = await db.AuditEvents.Where(e => e.Action == AuditActions.LoginFailed && e.Username == username)
            .OrderByDescending(e => e.Id).FirstAsync();
        return JsonDocument.Parse(row.Detail!).RootElement.Clone();
    }

    public async Task<int> AuditCountAsync(string username, string action)
    {
        await using var scope = Services.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<CountersignDb>().AuditEvents.CountAsync(e => e.Username == username && e.Action == action);
    }

    /// <summary>The HTTP login of the same account, for the defences shared with the API.</summary>
    public async Task<HttpResponseMessage> HttpLoginAsync(string username, string password)
    {
        using var http = CreateClient();
        return await http.PostAsJsonAsync("/api/auth/login", new { username, password });
    }

}

public sealed record QuadUser(string Username, ECDsa Key, byte[] TotpSecret)
{
    public string Password { get; init; } = QuadServer.StrongPassword;
}

public sealed class QuadSqliteServer() : QuadServer(Database.Sqlite, StateStore.Memory);

public sealed class QuadPostgresServer() : QuadServer(Database.Postgres, StateStore.Redis);

/// <summary>
/// For the CLI, which signs with the real clock: the server's starts 60 s behind, so that the five 30 s steps a
/// CLI scenario takes (one per TOTP code) keep it within the 120 s the clock check allows.
/// </summary>
public sealed class QuadCliServer() : QuadServer(Database.Sqlite, StateStore.Memory)
{
    protected override TimeSpan ClockOffset => TimeSpan.FromSeconds(-60);
}

/// <summary>Rate limits on (the login limit per address), to show the protocol and HTTP share them.</summary>
public sealed class QuadRateLimitedServer() : QuadServer(Database.Sqlite, StateStore.Memory)
{
    protected override void ConfigureMore(Dictionary<string, string?> settings)
    {
        settings["Defences:RateLimits:Enabled"] = "true";
        settings["Defences:RateLimits:Login"] = "3";
    }
}
