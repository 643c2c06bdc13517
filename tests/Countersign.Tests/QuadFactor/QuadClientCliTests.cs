using System.Text.RegularExpressions;
using Countersign.Tests.Infrastructure;

namespace Countersign.Tests.QuadFactor;

/// <summary>
/// <c>countersign client</c> driven as a user would, with what they type on standard input: an admin registers a
/// user on this device, the user logs in with a face photo, recovers the password, replaces the device.
/// </summary>
public sealed partial class QuadClientCliTests(QuadCliServer server) : IClassFixture<QuadCliServer>, IDisposable
{
    private readonly string _home = Directory.CreateTempSubdirectory("countersign-client-").FullName;
    private readonly string _photos = Directory.CreateTempSubdirectory("countersign-photos-").FullName;

    private string[] Args(string command, string username, byte[] photo, string mac = QuadServer.Mac)
    {
        var path = Path.Combine(_photos, Guid.NewGuid().ToString("N") + ".jpg");
        File.WriteAllBytes(path, photo);
        return ["client", command, "--server", $"127.0.0.1:{server.Port}", "--pin", server.Fingerprint, "--config-dir", _home,
            "--username", username, "--face", path, "--mac", mac];
    }

    [Fact]
    public async Task An_admin_registers_a_user_who_logs_in_recovers_the_password_and_replaces_the_device()
    {
        var username = "cli-" + Guid.NewGuid().ToString("N")[..10];
        var password = QuadServer.StrongPassword;

        // The admin approves, then the new user chooses a password (twice).
        var register = await CliRunner.RunWithInputAsync(null,
            $"{QuadServer.AdminName}\n{QuadServer.StrongPassword}\n{server.NextCode(server.AdminTotp)}\n{password}\n{password}\n",
            Args("register", username, QuadServer.Enrolled.Value));
        Assert.True(register.Exit == 0, register.Output + register.Error);
        Assert.Contains("Device key saved to", register.Output, StringComparison.Ordinal);
        var secret = OtpNet.Base32Encoding.ToBytes(Secret().Match(register.Output).Groups[1].Value);
        var keyFile = Directory.GetFiles(Path.Combine(_home, "devices"), "*.key", SearchOption.AllDirectories).Single();
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(keyFile));
        }
        // The QR code is drawn in the terminal (block characters), beside the URI.
        Assert.Contains("█", register.Output, StringComparison.Ordinal);

        var login = await CliRunner.RunWithInputAsync(null, $"{password}\n{server.NextCode(secret)}\n",
            [.. Args("login", username, QuadServer.Genuine.Value), "--save-tokens"]);
        Assert.True(login.Exit == 0, login.Output + login.Error);
        Assert.Contains("Signed in", login.Output, StringComparison.Ordinal);
        Assert.Contains("Tokens saved to", login.Output, StringComparison.Ordinal);

        // An impostor's photo is refused with the generic error, and the CLI says so and exits 1.
        var impostor = await CliRunner.RunWithInputAsync(null, $"{password}\n{server.NextCode(secret)}\n", Args("login", username, QuadServer.Impostor.Value));
        Assert.Equal(1, impostor.Exit);
        Assert.Contains("Refused (invalid_credentials)", impostor.Output, StringComparison.Ordinal);

        const string newPassword = "a brand new passphrase 9000";
        var recover = await CliRunner.RunWithInputAsync(null, $"{server.NextCode(secret)}\n{newPassword}\n{newPassword}\n",
            Args("recover-password", username, QuadServer.Genuine.Value));
        Assert.True(recover.Exit == 0, recover.Output + recover.Error);
        Assert.Contains("password is changed", recover.Output, StringComparison.Ordinal);

        var before = File.ReadAllText(keyFile);
        var replace = await CliRunner.RunWithInputAsync(null, $"{newPassword}\n{server.NextCode(secret)}\n",
            Args("replace-device", username, QuadServer.Genuine.Value, mac: "02:00:00:dd:ee:ff"));
        Assert.True(replace.Exit == 0, replace.Output + replace.Error);
        Assert.NotEqual(before, File.ReadAllText(keyFile));

        // The new key, the new MAC and the new password sign in.
        var again = await CliRunner.RunWithInputAsync(null, $"{newPassword}\n{server.NextCode(secret)}\n",
            Args("login", username, QuadServer.Genuine.Value, mac: "02:00:00:dd:ee:ff"));
        Assert.True(again.Exit == 0, again.Output + again.Error);
    }

    [Fact]
    public async Task The_menu_lists_the_flows_and_exits_on_0()
    {
        var run = await CliRunner.RunWithInputAsync(null, "0\n", "client", "--server", $"127.0.0.1:{server.Port}", "--pin", server.Fingerprint);
        Assert.Equal(0, run.Exit);
        Assert.Contains("1) Log in", run.Output, StringComparison.Ordinal);
        Assert.Contains("6) Replace device", run.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_client_without_a_pin_refuses_the_self_signed_certificate_in_one_line()
    {
        var args = Args("register", "cli-nopin", QuadServer.Enrolled.Value).ToList();
        var pin = args.IndexOf("--pin");
        args.RemoveRange(pin, 2);
        var run = await CliRunner.RunWithInputAsync(null, $"{QuadServer.AdminName}\nx\n000000\n{QuadServer.StrongPassword}\n{QuadServer.StrongPassword}\n", [.. args]);
        Assert.Equal(2, run.Exit);
        Assert.Contains("certificate is not trusted", run.Error, StringComparison.Ordinal);
        Assert.Single(run.Error.Trim().Split('\n'));
    }

    [GeneratedRegex("secret=([A-Z2-7]+)")]
    private static partial Regex Secret();

    public void Dispose()
    {
        Directory.Delete(_home, recursive: true);
        Directory.Delete(_photos, recursive: true);
    }
}
