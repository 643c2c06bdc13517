using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using Countersign.Cli;
using Countersign.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace Countersign.Tests.QuadFactor;

/// <summary>
/// The quad-factor protocol over real TLS sockets: every command, every factor wrong or missing, the clock, the
/// nonce, the key, the recovery rules. On SQLite with the in-memory store and on PostgreSQL with Redis.
/// </summary>
public abstract class QuadFactorSuite(QuadServer server)
{
    private static string Name(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..24];

    private static string Status(JsonElement reply) => reply.GetProperty("status").GetString()!;

    private static string? Error(JsonElement reply) => reply.TryGetProperty("error", out var e) ? e.GetString() : null;

    private JsonObject Signed(JsonObject request, QuadUser user, long? at = null, string? nonce = null) =>
        QuadClient.Sign(request, user.Key, at ?? server.Now, nonce);

    [Fact]
    public async Task Login_with_all_four_factors_returns_tokens_the_api_accepts()
    {
        var user = await server.RegisterAsync(Name("login"));
        var reply = await server.SendAsync(Signed(server.Login(user), user));
        Assert.Equal("ok", Status(reply));
        Assert.True(reply.GetProperty("expires_in").GetInt32() > 0);
        Assert.False(string.IsNullOrEmpty(reply.GetProperty("refresh_token").GetString()));
        using var http = server.CreateClient();
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", reply.GetProperty("access_token").GetString());
        var me = await http.GetAsync("/api/me");
        Assert.Equal(HttpStatusCode.OK, me.StatusCode);
        Assert.Contains(user.Username, await me.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_account_whose_password_someone_else_chose_gets_no_tokens_over_the_protocol()
    {
        var user = await server.RegisterAsync(Name("onetime"));
        await using (var scope = server.Services.CreateAsyncScope())
        {
            await scope.ServiceProvider.GetRequiredService<Storage.CountersignDb>().Users.Where(u => u.UserName == user.Username)
                .ExecuteUpdateAsync(s => s.SetProperty(u => u.PasswordChangeRequired, true));
        }
        var reply = await server.SendAsync(Signed(server.Login(user), user));
        Assert.Equal("error", Status(reply));
        Assert.Equal("password_change_required", Error(reply));
        Assert.False(reply.TryGetProperty("access_token", out _));
    }

    public static TheoryData<string, string> SpoiledFactors => new()
    {
        { "wrong_password", "wrong_password" },
        { "missing_password", "wrong_password" },
        { "wrong_totp", "wrong_totp_code" },
        { "missing_totp", "missing_totp" },
        { "impostor_face", "wrong_face" },
        { "missing_face", "missing_face" },
        { "not_a_photo", "face_not_an_image" },
        { "other_key", "wrong_device_signature" },
        { "missing_signature", "missing_device_key" },
        { "wrong_mac", "wrong_mac" },
        { "unknown_user", "unknown_user" },
    };

    [Theory]
    [MemberData(nameof(SpoiledFactors))]
    public async Task Each_factor_wrong_or_missing_gets_the_one_generic_error_and_the_audit_says_which(string spoil, string reason)
    {
        var user = await server.RegisterAsync(Name("spoil"));
        var request = server.Login(user);
        var key = user.Key;
        switch (spoil)
        {
            case "wrong_password": request["password"] = "not the password at all 1"; break;
            case "missing_password": request["password"] = ""; break;
            case "wrong_totp": request["totp_code"] = WrongCode(server.CurrentCode(user.TotpSecret)); break;
            case "missing_totp": request["totp_code"] = ""; break;
            case "impostor_face": request["face_image_b64"] = Convert.ToBase64String(QuadServer.Impostor.Value); break;
            case "missing_face": request["face_image_b64"] = ""; break;
            case "not_a_photo": request["face_image_b64"] = Convert.ToBase64String("GIF89a not really"u8.ToArray()); break;
            case "other_key": key = ECDsa.Create(ECCurve.NamedCurves.nistP256); break;
            case "wrong_mac": request["mac"] = "02:00:00:00:00:01"; break;
            case "unknown_user": request["username"] = Name("nobody"); break;
        }
        QuadClient.Sign(request, key, server.Now);
        if (spoil == "missing_signature")
        {
            request["signature"] = "";
        }
        var reply = await server.SendAsync(request);
        Assert.Equal("error", Status(reply));
        Assert.Equal("invalid_credentials", Error(reply));
        Assert.Equal("The credentials are not valid.", reply.GetProperty("message").GetString());
        var audited = await server.LastFailureAsync((string)request["username"]!);
        Assert.Equal("quad_factor", audited.GetProperty("channel").GetString());
        Assert.Contains(reason, audited.GetProperty("reason").GetString()!.Split(','));
        if (spoil is "impostor_face" or "wrong_mac" or "other_key" or "wrong_totp")
        {
            // The three others passed, and the row says so.
            Assert.Equal(3, audited.GetProperty("passed").GetArrayLength());
        }
    }

    private static string WrongCode(string right) => ((int.Parse(right, System.Globalization.CultureInfo.InvariantCulture) + 1) % 1_000_000).ToString("D6", System.Globalization.CultureInfo.InvariantCulture);

    [Theory]
    [InlineData(121, false)]
    [InlineData(-121, false)]
    [InlineData(119, true)]
    [InlineData(-119, true)]
    public async Task Clock_skew_over_120_s_is_refused_and_audited_and_under_it_accepted(int skew, bool accepted)
    {
        var user = await server.RegisterAsync(Name("skew"));
        var reply = await server.SendAsync(Signed(server.Login(user), user, server.Now + skew));
        if (accepted)
        {
            Assert.Equal("ok", Status(reply));
        }
        else
        {
            Assert.Equal("clock_skew", Error(reply));
            Assert.Equal(server.Now, reply.GetProperty("server_time").GetInt64());
            // A request from outside the window may be a captured one replayed late: it is in the audit chain.
            Assert.Equal(1, await server.AuditCountAsync(user.Username, Countersign.Audit.AuditActions.QuadClockSkew));
        }
    }

    [Fact]
    public async Task A_nonce_is_accepted_once_per_device()
    {
        var user = await server.RegisterAsync(Name("nonce"));
        var nonce = Convert.ToBase64String(RandomNumberGenerator.GetBytes(16));
        var at = server.Now;
        Assert.Equal("ok", Status(await server.SendAsync(Signed(server.Login(user), user, at, nonce))));
        // The same signed nonce and time again, with the next TOTP code (so only the nonce is reused).
        var replay = await server.SendAsync(Signed(server.Login(user), user, at, nonce));
        Assert.Equal("invalid_credentials", Error(replay));
        Assert.Contains("nonce_replayed", (await server.LastFailureAsync(user.Username)).GetProperty("reason").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_signature_over_another_command_or_user_does_not_verify()
    {
        var user = await server.RegisterAsync(Name("bind"));
        var request = server.Login(user);
        QuadClient.Sign(request, user.Key, server.Now);
        // The signed text names the command: a login's signature does not carry over to a TOTP recovery.
        request["command"] = "300";
        var reply = await server.SendAsync(request);
        Assert.Equal("invalid_credentials", Error(reply));
        Assert.Contains("wrong_device_signature", (await server.LastFailureAsync(user.Username)).GetProperty("reason").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Recover_totp_with_password_face_and_device_gives_a_new_secret_and_the_old_one_stops()
    {
        var user = await server.RegisterAsync(Name("rtotp"));
        var reply = await server.SendAsync(Signed(new JsonObject
        {
            ["command"] = "300",
            ["username"] = user.Username,
            ["password"] = user.Password,
            ["face_image_b64"] = Convert.ToBase64String(QuadServer.Genuine.Value),
            ["mac"] = QuadServer.Mac,
        }, user));
        Assert.Equal("ok", Status(reply));
        Assert.StartsWith("iVBOR", reply.GetProperty("qr_png_b64").GetString(), StringComparison.Ordinal);
        var secret = OtpNet.Base32Encoding.ToBytes(System.Web.HttpUtility.ParseQueryString(new Uri(reply.GetProperty("provisioning_uri").GetString()!).Query)["secret"]!);
        Assert.Equal("invalid_credentials", Error(await server.SendAsync(Signed(server.Login(user), user))));
        Assert.Equal("ok", Status(await server.SendAsync(Signed(server.Login(user with { TotpSecret = secret }), user))));
    }

    [Fact]
    public async Task Recover_password_with_totp_face_and_device_sets_it_and_the_old_one_stops()
    {
        var user = await server.RegisterAsync(Name("rpass"));
        const string newPassword = "a brand new passphrase 9000";
        var reply = await server.SendAsync(Signed(new JsonObject
        {
            ["command"] = "310",
            ["username"] = user.Username,
            ["totp_code"] = server.NextCode(user.TotpSecret),
            ["face_image_b64"] = Convert.ToBase64String(QuadServer.Genuine.Value),
            ["new_password"] = newPassword,
            ["mac"] = QuadServer.Mac,
        }, user));
        Assert.Equal("ok", Status(reply));
        Assert.Equal("invalid_credentials", Error(await server.SendAsync(Signed(server.Login(user), user))));
        Assert.Equal("ok", Status(await server.SendAsync(Signed(server.Login(user with { Password = newPassword }), user))));
    }

    [Fact]
    public async Task Recover_password_refuses_a_weak_new_password_before_any_factor()
    {
        var user = await server.RegisterAsync(Name("rweak"));
        var reply = await server.SendAsync(Signed(new JsonObject
        {
            ["command"] = "310",
            ["username"] = user.Username,
            ["totp_code"] = server.NextCode(user.TotpSecret),
            ["face_image_b64"] = Convert.ToBase64String(QuadServer.Genuine.Value),
            ["new_password"] = "password",
            ["mac"] = QuadServer.Mac,
        }, user));
        Assert.Equal("policy_violation", Error(reply));
    }

    [Fact]
    public async Task Recover_face_with_password_totp_and_device_replaces_the_template()
    {
        var user = await server.RegisterAsync(Name("rface"));
        var reply = await server.SendAsync(Signed(new JsonObject
        {
            ["command"] = "320",
            ["username"] = user.Username,
            ["password"] = user.Password,
            ["totp_code"] = server.NextCode(user.TotpSecret),
            ["new_face_image_b64"] = Convert.ToBase64String(QuadServer.Impostor.Value),
            ["mac"] = QuadServer.Mac,
        }, user));
        Assert.Equal("ok", Status(reply));
        // The template is now the other person's: the old face fails, theirs passes.
        Assert.Equal("invalid_credentials", Error(await server.SendAsync(Signed(server.Login(user), user))));
        Assert.Equal("ok", Status(await server.SendAsync(Signed(server.Login(user, QuadServer.Impostor.Value), user))));
    }

    [Fact]
    public async Task Replace_device_with_password_totp_and_face_moves_the_account_to_the_new_key_and_ends_its_sessions()
    {
        var user = await server.RegisterAsync(Name("rdev"));
        // A session signed in with the old device (perhaps the stolen one).
        var before = await server.SendAsync(Signed(server.Login(user), user));
        Assert.Equal("ok", Status(before));
        using var http = server.CreateClient();
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", before.GetProperty("access_token").GetString());
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/api/me")).StatusCode);
        var newKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var reply = await server.SendAsync(QuadClient.Sign(new JsonObject
        {
            ["command"] = "330",
            ["username"] = user.Username,
            ["password"] = user.Password,
            ["totp_code"] = server.NextCode(user.TotpSecret),
            ["face_image_b64"] = Convert.ToBase64String(QuadServer.Genuine.Value),
            ["device_public_key"] = Convert.ToBase64String(newKey.ExportSubjectPublicKeyInfo()),
            ["mac"] = "02:00:00:dd:ee:ff",
        }, newKey, server.Now));
        Assert.Equal("ok", Status(reply));
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync("/api/me")).StatusCode);
        using (var refresh = server.CreateClient())
        {
            var refreshed = await refresh.PostAsJsonAsync("/api/auth/refresh", new { refresh_token = before.GetProperty("refresh_token").GetString() });
            Assert.Equal(HttpStatusCode.Unauthorized, refreshed.StatusCode);
        }
        Assert.Equal("invalid_credentials", Error(await server.SendAsync(Signed(server.Login(user), user))));
        var moved = user with { Key = newKey };
        var login = server.Login(moved);
        login["mac"] = "02:00:00:dd:ee:ff";
        Assert.Equal("ok", Status(await server.SendAsync(Signed(login, moved))));
    }

    [Fact]
    public async Task Replace_device_signed_by_the_old_key_instead_of_the_new_one_is_refused()
    {
        var user = await server.RegisterAsync(Name("rdevold"));
        var newKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var reply = await server.SendAsync(QuadClient.Sign(new JsonObject
        {
            ["command"] = "330",
            ["username"] = user.Username,
            ["password"] = user.Password,
            ["totp_code"] = server.NextCode(user.TotpSecret),
            ["face_image_b64"] = Convert.ToBase64String(QuadServer.Genuine.Value),
            ["device_public_key"] = Convert.ToBase64String(newKey.ExportSubjectPublicKeyInfo()),
            ["mac"] = QuadServer.Mac,
        }, user.Key, server.Now));
        Assert.Equal("invalid_credentials", Error(reply));
    }

    public static TheoryData<string, string> RecoveryWithOneOtherWrong => new()
    {
        { "300", "password" }, { "300", "face" }, { "300", "device" },
        { "310", "totp" }, { "310", "face" }, { "310", "device" },
        { "320", "password" }, { "320", "totp" }, { "320", "device" },
        { "330", "password" }, { "330", "totp" }, { "330", "face" },
    };

    [Theory]
    [MemberData(nameof(RecoveryWithOneOtherWrong))]
    public async Task Each_recovery_needs_all_three_other_factors(string command, string wrong)
    {
        var user = await server.RegisterAsync(Name("rrule"));
        var newKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new JsonObject { ["command"] = command, ["username"] = user.Username, ["mac"] = QuadServer.Mac };
        if (command is "300" or "320" or "330")
        {
            request["password"] = wrong == "password" ? "not the password at all 1" : user.Password;
        }
        if (command is "310" or "320" or "330")
        {
            var code = server.NextCode(user.TotpSecret);
            request["totp_code"] = wrong == "totp" ? WrongCode(code) : code;
        }
        if (command is "300" or "310" or "330")
        {
            request["face_image_b64"] = Convert.ToBase64String(wrong == "face" ? QuadServer.Impostor.Value : QuadServer.Genuine.Value);
        }
        if (command == "310")
        {
            request["new_password"] = "a brand new passphrase 9000";
        }
        if (command == "320")
        {
            request["new_face_image_b64"] = Convert.ToBase64String(QuadServer.SamePersonAgain.Value);
        }
        if (command == "330")
        {
            request["device_public_key"] = Convert.ToBase64String(newKey.ExportSubjectPublicKeyInfo());
        }
        var signer = command == "330" ? newKey : user.Key;
        if (wrong == "device")
        {
            signer = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        }
        var reply = await server.SendAsync(QuadClient.Sign(request, signer, server.Now));
        Assert.Equal("invalid_credentials", Error(reply));
        // And nothing changed: the original four factors still sign in.
        Assert.Equal("ok", Status(await server.SendAsync(Signed(server.Login(user), user))));
    }

    [Fact]
    public async Task Registration_by_an_account_without_the_admin_role_is_the_generic_error_and_audited_as_refused()
    {
        var name = Name("notadmin");
        var secret = await server.CreateAccountWithTotpAsync(name, []);
        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var newName = Name("victim");
        var reply = await server.SendAsync(QuadClient.Sign(new JsonObject
        {
            ["command"] = "200",
            ["admin"] = new JsonObject { ["username"] = name, ["password"] = QuadServer.StrongPassword, ["totp_code"] = server.NextCode(secret) },
            ["username"] = newName,
            ["password"] = QuadServer.StrongPassword,
            ["face_image_b64"] = Convert.ToBase64String(QuadServer.Enrolled.Value),
            ["device_public_key"] = Convert.ToBase64String(key.ExportSubjectPublicKeyInfo()),
            ["mac"] = QuadServer.Mac,
        }, key, server.Now));
        // The same answer as wrong admin credentials: "forbidden" would tell the sender the credentials were right.
        Assert.Equal("invalid_credentials", Error(reply));
        Assert.Equal("The credentials are not valid.", reply.GetProperty("message").GetString());
        Assert.Equal(1, await server.AuditCountAsync(name, Countersign.Audit.AuditActions.QuadRegistrationRefused));
        Assert.Equal(HttpStatusCode.Unauthorized, (await server.HttpLoginAsync(newName, QuadServer.StrongPassword)).StatusCode);
    }

    [Fact]
    public async Task Registration_with_a_wrong_admin_code_is_the_generic_error()
    {
        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var reply = await server.SendAsync(QuadClient.Sign(new JsonObject
        {
            ["command"] = "200",
            ["admin"] = new JsonObject { ["username"] = QuadServer.AdminName, ["password"] = QuadServer.StrongPassword, ["totp_code"] = "000000" },
            ["username"] = Name("victim"),
            ["password"] = QuadServer.StrongPassword,
            ["face_image_b64"] = Convert.ToBase64String(QuadServer.Enrolled.Value),
            ["device_public_key"] = Convert.ToBase64String(key.ExportSubjectPublicKeyInfo()),
            ["mac"] = QuadServer.Mac,
        }, key, server.Now));
        Assert.Equal("invalid_credentials", Error(reply));
    }

    [Fact]
    public async Task Failures_over_the_protocol_lock_the_username_for_http_too()
    {
        var user = await server.RegisterAsync(Name("lock"));
        for (var i = 0; i < 5; i++)
        {
            var reply = await server.SendAsync(Signed(server.Login(user, password: "not the password at all 1"), user));
            Assert.Equal("invalid_credentials", Error(reply));
        }
        var http = await server.HttpLoginAsync(user.Username, user.Password);
        Assert.Equal((HttpStatusCode)423, http.StatusCode);
        Assert.Equal("account_locked", Error(await server.SendAsync(Signed(server.Login(user), user))));
    }

    [Fact]
    public async Task Failures_over_http_lock_the_protocol_too()
    {
        var user = await server.RegisterAsync(Name("lockhttp"));
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await server.HttpLoginAsync(user.Username, "not the password at all 1")).StatusCode);
        }
        var reply = await server.SendAsync(Signed(server.Login(user), user));
        Assert.Equal("account_locked", Error(reply));
        Assert.True(reply.GetProperty("retry_after_seconds").GetInt32() > 0);
    }

    [Fact]
    public async Task The_generated_certificate_is_private_and_is_the_one_served_and_logged()
    {
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(server.CertificatePath));
        }
        using var file = System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadPkcs12FromFile(server.CertificatePath, null);
        Assert.Equal(Countersign.QuadFactor.QuadCertificate.Fingerprint(file), server.Fingerprint);
        await using var client = await server.ConnectAsync();
        Assert.Equal(file.Thumbprint, new System.Security.Cryptography.X509Certificates.X509Certificate2(client.Stream.RemoteCertificate!).Thumbprint);
        Assert.True(client.Stream.SslProtocol >= System.Security.Authentication.SslProtocols.Tls12);
    }

    [Fact]
    public async Task A_client_pinning_another_fingerprint_refuses_the_server()
    {
        await Assert.ThrowsAnyAsync<System.Security.Authentication.AuthenticationException>(() =>
            QuadClient.ConnectAsync("127.0.0.1", server.Port, new ServerTrust.Pin(new string('A', 64)), CancellationToken.None));
    }
}

public sealed class QuadFactorSqliteTests(QuadSqliteServer server) : QuadFactorSuite(server), IClassFixture<QuadSqliteServer>;

public sealed class QuadFactorPostgresTests(QuadPostgresServer server) : QuadFactorSuite(server), IClassFixture<QuadPostgresServer>;

/// <summary>The per-address rate limit, shared with <c>POST /api/auth/login</c>.</summary>
public sealed class QuadFactorRateLimitTests(QuadRateLimitedServer server) : IClassFixture<QuadRateLimitedServer>
{
    [Fact]
    public async Task Http_logins_and_protocol_logins_count_against_one_limit_per_address()
    {
        // The registration is the first login from 127.0.0.1 (the admin's), then two over HTTP.
        var user = await server.RegisterAsync("rl-" + Guid.NewGuid().ToString("N")[..12]);
        // The admin has TOTP, so HTTP answers 417; the password login counts all the same.
        Assert.Equal((HttpStatusCode)417, (await server.HttpLoginAsync(QuadServer.AdminName, QuadServer.StrongPassword)).StatusCode);
        Assert.Equal((HttpStatusCode)417, (await server.HttpLoginAsync(QuadServer.AdminName, QuadServer.StrongPassword)).StatusCode);
        var reply = await server.SendAsync(QuadClient.Sign(server.Login(user, code: server.CurrentCode(user.TotpSecret)), user.Key, server.Now));
        Assert.Equal("rate_limited", reply.GetProperty("error").GetString());
        Assert.True(reply.GetProperty("retry_after_seconds").GetInt32() > 0);
        Assert.Equal((HttpStatusCode)429, (await server.HttpLoginAsync(QuadServer.AdminName, QuadServer.StrongPassword)).StatusCode);
    }
}
