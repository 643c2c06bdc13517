using System.Text.RegularExpressions;
using Countersign.Storage;
using Countersign.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace Countersign.Tests.QuadFactor;

/// <summary>
/// <c>countersign client</c> as a user would drive it, the flows the first scenario leaves out: TOTP and face recovery,
/// and the MAC read from this machine's primary interface (no <c>--mac</c>).
/// </summary>
public sealed partial class QuadClientRecoveryCliTests(QuadCliServer server) : IClassFixture<QuadCliServer>, IDisposable
{
    private readonly string _home = Directory.CreateTempSubdirectory("countersign-client-").FullName;
    private readonly string _photos = Directory.CreateTempSubdirectory("countersign-photos-").FullName;

    /// <summary>The arguments of a run; without <paramref name="mac"/> the client reads the machine's own.</summary>
    private string[] Args(string command, string username, byte[] photo, string? mac)
    {
        var path = Path.Combine(_photos, Guid.NewGuid().ToString("N") + ".jpg");
        File.WriteAllBytes(path, photo);
        string[] args = ["client", command, "--server", $"127.0.0.1:{server.Port}", "--pin", server.Fingerprint, "--config-dir", _home,
            "--username", username, "--face", path];
        return mac is null ? args : [.. args, "--mac", mac];
    }

    private async Task<byte[]> RegisterAsync(string username, string? mac)
    {
        var register = await CliRunner.RunWithInputAsync(null,
            $"{QuadServer.AdminName}\n{QuadServer.StrongPassword}\n{server.NextCode(server.AdminTotp)}\n{QuadServer.StrongPassword}\n{QuadServer.StrongPassword}\n",
            Args("register", username, QuadServer.Enrolled.Value, mac));
        Assert.True(register.Exit == 0, register.Output + register.Error);
        return Secret(register.Output);
    }

    private static byte[] Secret(string output) => OtpNet.Base32Encoding.ToBytes(SecretInUri().Match(output).Groups[1].Value);

    [Fact]
    public async Task A_user_recovers_the_totp_secret_then_the_face_through_the_cli()
    {
        var username = "clirec-" + Guid.NewGuid().ToString("N")[..8];
        var oldSecret = await RegisterAsync(username, QuadServer.Mac);

        // Lost phone: password, face and device give a new secret, shown as a QR code.
        var totp = await CliRunner.RunWithInputAsync(null, $"{QuadServer.StrongPassword}\n",
            Args("recover-totp", username, QuadServer.Genuine.Value, QuadServer.Mac));
        Assert.True(totp.Exit == 0, totp.Output + totp.Error);
        Assert.Contains("new TOTP secret is active", totp.Output, StringComparison.Ordinal);
        Assert.Contains("█", totp.Output, StringComparison.Ordinal);
        var secret = Secret(totp.Output);
        Assert.NotEqual(oldSecret, secret);

        // The old secret's code no longer passes (the new one's does, below).
        // (Codes of the current step where a step's use does not matter: the CLI signs with the real clock, which the
        // server's must stay within 120 s of.)
        var stale = await CliRunner.RunWithInputAsync(null, $"{QuadServer.StrongPassword}\n{server.CurrentCode(oldSecret)}\n",
            Args("login", username, QuadServer.Genuine.Value, QuadServer.Mac));
        Assert.Equal(1, stale.Exit);
        Assert.Contains("Refused (invalid_credentials)", stale.Output, StringComparison.Ordinal);

        // A new face: password, the new TOTP code and the device; --face is the new photo (someone else's, to tell them apart).
        var face = await CliRunner.RunWithInputAsync(null, $"{QuadServer.StrongPassword}\n{server.NextCode(secret)}\n",
            Args("recover-face", username, QuadServer.Impostor.Value, QuadServer.Mac));
        Assert.True(face.Exit == 0, face.Output + face.Error);
        Assert.Contains("face template is replaced", face.Output, StringComparison.Ordinal);

        var login = await CliRunner.RunWithInputAsync(null, $"{QuadServer.StrongPassword}\n{server.NextCode(secret)}\n",
            Args("login", username, QuadServer.Impostor.Value, QuadServer.Mac));
        Assert.True(login.Exit == 0, login.Output + login.Error);
        Assert.Contains("Signed in", login.Output, StringComparison.Ordinal);
    }

    /// <summary>
    /// The primary interface found independently of the client: the one the kernel's default route leaves by
    /// (/proc/net/route, destination 00000000), its address from /sys/class/net.
    /// </summary>
    private static string? DefaultRouteMac()
    {
        if (!File.Exists("/proc/net/route"))
        {
            return null;
        }
        var iface = File.ReadLines("/proc/net/route").Skip(1).Select(l => l.Split('\t', StringSplitOptions.TrimEntries))
            .Where(f => f.Length > 1 && f[1] == "00000000").Select(f => f[0]).FirstOrDefault();
        var path = $"/sys/class/net/{iface}/address";
        return iface is null || !File.Exists(path) ? null : File.ReadAllText(path).Trim();
    }

    [Fact]
    public async Task Without_mac_the_client_reports_the_primary_interfaces_mac_and_signs_in_with_it()
    {
        var expected = DefaultRouteMac();
        Assert.True(expected is not null, "this test needs a default route through an interface with a MAC (/proc/net/route)");
        var username = "climac-" + Guid.NewGuid().ToString("N")[..8];
        var secret = await RegisterAsync(username, mac: null);
        await using (var scope = server.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<CountersignDb>();
            var enrolment = await db.QuadEnrolments.SingleAsync(e => db.Users.Any(u => u.Id == e.UserId && u.UserName == username));
            Assert.Equal(expected, enrolment.Mac);
        }
        var login = await CliRunner.RunWithInputAsync(null, $"{QuadServer.StrongPassword}\n{server.NextCode(secret)}\n",
            Args("login", username, QuadServer.Genuine.Value, mac: null));
        Assert.True(login.Exit == 0, login.Output + login.Error);
        // Another MAC on the same key is refused (and audited as wrong_mac): the auto-detected one is what was checked.
        var other = await CliRunner.RunWithInputAsync(null, $"{QuadServer.StrongPassword}\n{server.CurrentCode(secret)}\n",
            Args("login", username, QuadServer.Genuine.Value, "02:00:00:00:00:99"));
        Assert.Equal(1, other.Exit);
        Assert.Contains("wrong_mac", (await server.LastFailureAsync(username)).GetProperty("reason").GetString(), StringComparison.Ordinal);
    }

    [GeneratedRegex("secret=([A-Z2-7]+)")]
    private static partial Regex SecretInUri();

    public void Dispose()
    {
        Directory.Delete(_home, recursive: true);
        Directory.Delete(_photos, recursive: true);
    }
}
