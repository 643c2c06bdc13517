using System.Text.Json;
using System.Text.Json.Nodes;
using Countersign.Cli;
using Countersign.Defences;
using Countersign.Tests.Infrastructure;

namespace Countersign.Tests.QuadFactor;

/// <summary>The proof-of-work captcha on (after 5 failures from an address, as over HTTP); the clock 60 s behind, for the CLI.</summary>
public sealed class QuadCaptchaServer() : QuadServer(Database.Sqlite, StateStore.Memory)
{
    protected override TimeSpan ClockOffset => TimeSpan.FromSeconds(-60);

    protected override void ConfigureMore(Dictionary<string, string?> settings)
    {
        settings["Defences:Captcha:Enabled"] = "true";
        settings["Defences:Captcha:MaxNumber"] = "2000";
    }

    /// <summary>Failed logins of unknown users from 127.0.0.1 until the protocol asks for proof of work; its challenge.</summary>
    public async Task<JsonElement> RequireCaptchaAsync()
    {
        using var stranger = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256);
        for (var i = 0; i < 6; i++)
        {
            var reply = await SendAsync(QuadClient.Sign(new JsonObject
            {
                ["command"] = "100", ["username"] = "guess-" + Guid.NewGuid().ToString("N")[..8], ["password"] = "guess", ["totp_code"] = "000000",
                ["face_image_b64"] = "", ["mac"] = Mac,
            }, stranger, Now));
            var error = reply.GetProperty("error").GetString();
            if (error == "captcha_required")
            {
                return reply;
            }
            Assert.Equal("invalid_credentials", error);
        }
        throw new Xunit.Sdk.XunitException("no captcha_required after five failures");
    }
}

public sealed class QuadCaptchaProtocolTests(QuadCaptchaServer server) : IClassFixture<QuadCaptchaServer>
{
    [Fact]
    public async Task After_five_failures_the_protocol_sends_a_challenge_and_a_solution_lets_a_login_through_once()
    {
        var user = await server.RegisterAsync("pow-" + Guid.NewGuid().ToString("N")[..8]);
        var required = await server.RequireCaptchaAsync();
        Assert.Equal("error", required.GetProperty("status").GetString());
        var challenge = required.GetProperty("captcha");
        foreach (var field in new[] { "algorithm", "challenge", "maxnumber", "salt", "signature" })
        {
            Assert.True(challenge.TryGetProperty(field, out _), field);
        }
        Assert.Equal("SHA-256", challenge.GetProperty("algorithm").GetString());

        // The right four factors are not enough now: the address owes proof of work.
        var code = server.NextCode(user.TotpSecret);
        Assert.Equal("captcha_required", (await server.SendAsync(QuadClient.Sign(server.Login(user, code: code), user.Key, server.Now))).GetProperty("error").GetString());

        var solution = Captcha.Solve(challenge.Deserialize<CaptchaChallenge>()!);
        var solved = server.Login(user, code: code);
        solved["captcha"] = solution;
        Assert.Equal("ok", (await server.SendAsync(QuadClient.Sign(solved, user.Key, server.Now))).GetProperty("status").GetString());

        // Spent: the same solution again is asked to solve a new one.
        var again = server.Login(user);
        again["captcha"] = solution;
        var reply = await server.SendAsync(QuadClient.Sign(again, user.Key, server.Now));
        Assert.Equal("captcha_required", reply.GetProperty("error").GetString());
    }
}

public sealed class QuadCaptchaCliTests(QuadCaptchaServer server) : IClassFixture<QuadCaptchaServer>, IDisposable
{
    private readonly string _home = Directory.CreateTempSubdirectory("countersign-client-").FullName;
    private readonly string _photos = Directory.CreateTempSubdirectory("countersign-photos-").FullName;

    [Fact]
    public async Task The_cli_solves_the_challenge_says_so_and_signs_in()
    {
        var username = "powcli-" + Guid.NewGuid().ToString("N")[..8];
        var photo = Path.Combine(_photos, "face.jpg");
        await File.WriteAllBytesAsync(photo, QuadServer.Enrolled.Value);
        string[] Args(string command) => ["client", command, "--server", $"127.0.0.1:{server.Port}", "--pin", server.Fingerprint, "--config-dir", _home,
            "--username", username, "--face", photo, "--mac", QuadServer.Mac];
        var register = await CliRunner.RunWithInputAsync(null,
            $"{QuadServer.AdminName}\n{QuadServer.StrongPassword}\n{server.NextCode(server.AdminTotp)}\n{QuadServer.StrongPassword}\n{QuadServer.StrongPassword}\n",
            Args("register"));
        Assert.True(register.Exit == 0, register.Output + register.Error);
        var secret = OtpNet.Base32Encoding.ToBytes(System.Text.RegularExpressions.Regex.Match(register.Output, "secret=([A-Z2-7]+)").Groups[1].Value);

        await server.RequireCaptchaAsync();
        await File.WriteAllBytesAsync(photo, QuadServer.Genuine.Value);
        var login = await CliRunner.RunWithInputAsync(null, $"{QuadServer.StrongPassword}\n{server.NextCode(secret)}\n", Args("login"));
        Assert.True(login.Exit == 0, login.Output + login.Error);
        Assert.Contains("proof of work", login.Output, StringComparison.Ordinal);
        Assert.Contains("Solved in", login.Output, StringComparison.Ordinal);
        Assert.Contains("Signed in", login.Output, StringComparison.Ordinal);
    }

    public void Dispose()
    {
        Directory.Delete(_home, recursive: true);
        Directory.Delete(_photos, recursive: true);
    }
}
