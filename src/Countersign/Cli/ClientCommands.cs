using System.CommandLine;
using System.Net.NetworkInformation;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using System.Text.Json.Nodes;
using Countersign.Defences;
using QRCoder;

namespace Countersign.Cli;

/// <summary>
/// <c>countersign client</c>: the quad-factor protocol's client (docs/quad-factor.md). With no subcommand, the seed's
/// menu; otherwise one flow per command. It needs no configuration or database: it talks to a server over TLS.
/// The device key is made at registration (or device replacement) and kept in the user's config folder, 0600, one per
/// server and user; secrets are asked for without echo.
/// </summary>
internal static class ClientCommands
{
    private sealed record Common(Option<string> Server, Option<string?> Pin, Option<FileInfo?> Ca, Option<FileInfo?> Face,
        Option<string?> Username, Option<DirectoryInfo?> ConfigDir, Option<string?> Mac);

    public static Command Create(TextReader? input)
    {
        var common = new Common(
            new Option<string>("--server") { Description = "HOST:PORT of the server's quad-factor listener (its QuadFactor:Port, 65432 by default).", Required = true },
            new Option<string?>("--pin") { Description = "Trust exactly the certificate with this SHA-256 fingerprint (the server logs it at start; colons optional)." },
            new Option<FileInfo?>("--ca") { Description = "Trust certificates issued by this CA (PEM or DER) for the server's host name." },
            new Option<FileInfo?>("--face") { Description = "The face photo (JPEG or PNG) to send; asked for when omitted. For recover-face, the new photo." },
            new Option<string?>("--username") { Description = "The account; asked for when omitted." },
            new Option<DirectoryInfo?>("--config-dir") { Description = "Where device keys and saved tokens live (default: the user's config folder, ~/.config/countersign)." },
            new Option<string?>("--mac") { Description = "The MAC address to report instead of the primary interface's (it is checked, never trusted alone)." });
        var saveTokens = new Option<bool>("--save-tokens") { Description = "login: keep the tokens in the config folder (0600) as tokens-HOST-PORT-USER.json." };

        var client = new Command("client", """
            The quad-factor client: password, TOTP, face and device key over TLS. With no subcommand, a menu.
            Without --pin or --ca the system's trust store decides, which refuses the self-signed certificate an
            embedded server makes: pin its fingerprint from the server's log. When the server asks for proof of
            work (after failed attempts), the client solves it, says so, and sends the request once more.
            """);
        AddCommon(client, common);
        var reader = new SecretReader(input);
        client.SetAction((p, ct) => MenuAsync(new Session(p, common, reader), ct));
        foreach (var (name, description, flow) in Flows())
        {
            var sub = new Command(name, description);
            AddCommon(sub, common);
            if (name == "login")
            {
                sub.Options.Add(saveTokens);
            }
            sub.SetAction((p, ct) => RunAsync(new Session(p, common, reader) { SaveTokens = name == "login" && p.GetValue(saveTokens) }, flow, ct));
            client.Subcommands.Add(sub);
        }
        return client;
    }

    private static void AddCommon(Command command, Common c)
    {
        foreach (var option in new Option[] { c.Server, c.Pin, c.Ca, c.Face, c.Username, c.ConfigDir, c.Mac })
        {
            command.Options.Add(option);
        }
        command.Validators.Add(r =>
        {
            if (r.GetValue(c.Pin) is not null && r.GetValue(c.Ca) is not null)
            {
                r.AddError("--pin and --ca exclude each other");
            }
        });
    }

    private delegate Task<int> Flow(Session s, CancellationToken ct);

    private static IEnumerable<(string Name, string Description, Flow Flow)> Flows() =>
    [
        ("login", "Sign in (100): password, TOTP code, face photo and this device's key. Prints what happened; --save-tokens keeps the tokens.", LoginAsync),
        ("register", "Register a user (200) on this device, approved by an admin's password and TOTP code; makes the device key and shows the TOTP QR code.", RegisterAsync),
        ("recover-totp", "A new TOTP secret (300), with the password, face and device.", RecoverTotpAsync),
        ("recover-password", "A new password (310), with the TOTP code, face and device.", RecoverPasswordAsync),
        ("recover-face", "A new face photo (320, --face is the new one), with the password, TOTP code and device.", RecoverFaceAsync),
        ("replace-device", "Move the account to this device (330): a new key, with the password, TOTP code and face.", ReplaceDeviceAsync),
    ];

    /// <summary>One run of the client: the parsed options, the prompts, where the output goes.</summary>
    private sealed class Session(ParseResult parse, Common common, SecretReader reader)
    {
        public TextWriter Out => parse.InvocationConfiguration.Output;
        public TextWriter Err => parse.InvocationConfiguration.Error;
        public SecretReader Reader => reader;
        public bool SaveTokens { get; init; }
        public string Server => parse.GetValue(common.Server)!;
        public string? Mac => parse.GetValue(common.Mac);

        public string Username() => parse.GetValue(common.Username) ?? reader.ReadLine("Username: ").Trim();

        public byte[] FacePhoto(string label = "Face photo (JPEG or PNG file): ")
        {
            var path = parse.GetValue(common.Face)?.FullName ?? reader.ReadLine(label).Trim();
            return File.ReadAllBytes(path);
        }

        public string ConfigDir => parse.GetValue(common.ConfigDir)?.FullName
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.ApplicationData, Environment.SpecialFolderOption.DoNotVerify), "countersign");

        public ServerTrust Trust() => parse.GetValue(common.Pin) is { } pin ? new ServerTrust.Pin(pin)
            : parse.GetValue(common.Ca) is { } ca ? new ServerTrust.Ca(LoadCa(ca.FullName))
            : new ServerTrust.System();

        private static X509Certificate2 LoadCa(string path)
        {
            var bytes = File.ReadAllBytes(path);
            return bytes.Length > 0 && bytes[0] == '-' ? X509Certificate2.CreateFromPem(File.ReadAllText(path)) : X509CertificateLoader.LoadCertificate(bytes);
        }
    }

    private static async Task<int> RunAsync(Session s, Flow flow, CancellationToken ct)
    {
        try
        {
            return await flow(s, ct);
        }
        catch (AuthenticationException e)
        {
            await s.Err.WriteLineAsync($"error: the server's certificate is not trusted ({e.Message}); pin its fingerprint with --pin (the server logs it at start) or name its CA with --ca");
            return 2;
        }
        catch (FormatException e)
        {
            await s.Err.WriteLineAsync("error: " + e.Message);
            return 2;
        }
    }

    private static async Task<int> MenuAsync(Session s, CancellationToken ct)
    {
        var flows = Flows().ToList();
        while (true)
        {
            await s.Out.WriteLineAsync("Countersign quad-factor client");
            await s.Out.WriteLineAsync("  1) Log in");
            await s.Out.WriteLineAsync("  2) Register a user (admin)");
            await s.Out.WriteLineAsync("  3) Recover TOTP");
            await s.Out.WriteLineAsync("  4) Recover password");
            await s.Out.WriteLineAsync("  5) Recover face");
            await s.Out.WriteLineAsync("  6) Replace device");
            await s.Out.WriteLineAsync("  0) Exit");
            var choice = s.Reader.ReadLine("Choose: ").Trim();
            if (choice is "" or "0")
            {
                return 0;
            }
            if (!int.TryParse(choice, out var n) || n < 1 || n > flows.Count)
            {
                await s.Out.WriteLineAsync($"'{choice}' is not one of the choices.");
                continue;
            }
            await RunAsync(s, flows[n - 1].Flow, ct);
        }
    }

    private static async Task<int> LoginAsync(Session s, CancellationToken ct)
    {
        var username = s.Username();
        using var key = LoadKey(s, username) ?? throw new FormatException($"no device key for {username} at {s.Server} in {s.ConfigDir}: register on this device or replace-device first");
        var request = new JsonObject
        {
            ["command"] = "100",
            ["username"] = username,
            ["password"] = s.Reader.ReadSecret("Password: "),
            ["totp_code"] = s.Reader.ReadLine("TOTP code: ").Trim(),
            ["face_image_b64"] = Convert.ToBase64String(s.FacePhoto()),
            ["mac"] = Mac(s),
        };
        var reply = await SendAsync(s, request, key, ct);
        if (!await ReportAsync(s, reply))
        {
            return 1;
        }
        await s.Out.WriteLineAsync($"Access token valid for {reply.GetProperty("expires_in").GetInt32()} s.");
        if (s.SaveTokens)
        {
            var path = Path.Combine(s.ConfigDir, $"tokens-{ServerSlug(s.Server)}-{Slug(username)}.json");
            WritePrivate(path, JsonSerializer.SerializeToUtf8Bytes(new
            {
                access_token = reply.GetProperty("access_token").GetString(),
                refresh_token = reply.GetProperty("refresh_token").GetString(),
                expires_in = reply.GetProperty("expires_in").GetInt32(),
            }));
            await s.Out.WriteLineAsync($"Tokens saved to {path} (0600).");
        }
        return 0;
    }

    private static async Task<int> RegisterAsync(Session s, CancellationToken ct)
    {
        await s.Out.WriteLineAsync("An admin approves the registration:");
        var admin = new JsonObject
        {
            ["username"] = s.Reader.ReadLine("Admin username: ").Trim(),
            ["password"] = s.Reader.ReadSecret("Admin password: "),
            ["totp_code"] = s.Reader.ReadLine("Admin TOTP code: ").Trim(),
        };
        var username = s.Username();
        var (password, error) = s.Reader.ReadNew(null);
        if (password is null)
        {
            throw new FormatException(error!);
        }
        var photo = s.FacePhoto();
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new JsonObject
        {
            ["command"] = "200",
            ["admin"] = admin,
            ["username"] = username,
            ["password"] = password,
            ["face_image_b64"] = Convert.ToBase64String(photo),
            ["device_public_key"] = Convert.ToBase64String(key.ExportSubjectPublicKeyInfo()),
            ["mac"] = Mac(s),
        };
        var reply = await SendAsync(s, request, key, ct);
        if (!await ReportAsync(s, reply))
        {
            return 1;
        }
        // Kept only once the server accepted it, so a refused registration never replaces a working key.
        await s.Out.WriteLineAsync($"Device key saved to {SaveKey(s, username, key)} (0600).");
        await ShowTotpAsync(s, reply);
        return 0;
    }

    private static async Task<int> RecoverTotpAsync(Session s, CancellationToken ct)
    {
        var username = s.Username();
        using var key = RequireKey(s, username);
        var reply = await SendAsync(s, new JsonObject
        {
            ["command"] = "300",
            ["username"] = username,
            ["password"] = s.Reader.ReadSecret("Password: "),
            ["face_image_b64"] = Convert.ToBase64String(s.FacePhoto()),
            ["mac"] = Mac(s),
        }, key, ct);
        if (!await ReportAsync(s, reply))
        {
            return 1;
        }
        await ShowTotpAsync(s, reply);
        return 0;
    }

    private static async Task<int> RecoverPasswordAsync(Session s, CancellationToken ct)
    {
        var username = s.Username();
        using var key = RequireKey(s, username);
        var code = s.Reader.ReadLine("TOTP code: ").Trim();
        var photo = s.FacePhoto();
        var (password, error) = s.Reader.ReadNew(null);
        if (password is null)
        {
            throw new FormatException(error!);
        }
        var reply = await SendAsync(s, new JsonObject
        {
            ["command"] = "310",
            ["username"] = username,
            ["totp_code"] = code,
            ["face_image_b64"] = Convert.ToBase64String(photo),
            ["new_password"] = password,
            ["mac"] = Mac(s),
        }, key, ct);
        return await ReportAsync(s, reply) ? 0 : 1;
    }

    private static async Task<int> RecoverFaceAsync(Session s, CancellationToken ct)
    {
        var username = s.Username();
        using var key = RequireKey(s, username);
        var reply = await SendAsync(s, new JsonObject
        {
            ["command"] = "320",
            ["username"] = username,
            ["password"] = s.Reader.ReadSecret("Password: "),
            ["totp_code"] = s.Reader.ReadLine("TOTP code: ").Trim(),
            ["new_face_image_b64"] = Convert.ToBase64String(s.FacePhoto("New face photo (JPEG or PNG file): ")),
            ["mac"] = Mac(s),
        }, key, ct);
        return await ReportAsync(s, reply) ? 0 : 1;
    }

    private static async Task<int> ReplaceDeviceAsync(Session s, CancellationToken ct)
    {
        var username = s.Username();
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var reply = await SendAsync(s, new JsonObject
        {
            ["command"] = "330",
            ["username"] = username,
            ["password"] = s.Reader.ReadSecret("Password: "),
            ["totp_code"] = s.Reader.ReadLine("TOTP code: ").Trim(),
            ["face_image_b64"] = Convert.ToBase64String(s.FacePhoto()),
            ["device_public_key"] = Convert.ToBase64String(key.ExportSubjectPublicKeyInfo()),
            ["mac"] = Mac(s),
        }, key, ct);
        if (!await ReportAsync(s, reply))
        {
            return 1;
        }
        await s.Out.WriteLineAsync($"New device key saved to {SaveKey(s, username, key)} (0600).");
        return 0;
    }

    private const int MaxProofOfWork = 10_000_000;

    /// <summary>
    /// Sends a request; when the server asks for proof of work (<c>captcha_required</c>, or <c>account_locked</c> with a
    /// challenge), solves it once, says so, and sends the request again with the solution, newly signed (a new nonce).
    /// </summary>
    private static async Task<JsonElement> SendAsync(Session s, JsonObject request, ECDsa key, CancellationToken ct)
    {
        var (host, port) = ParseServer(s.Server);
        await using var connection = await QuadClient.ConnectAsync(host, port, s.Trust(), ct);
        var reply = await connection.SendAsync(QuadClient.Sign(request, key, TimeProvider.System.GetUtcNow().ToUnixTimeSeconds()), ct);
        if (request["captcha"] is not null || !reply.TryGetProperty("captcha", out var challenge) || challenge.ValueKind != JsonValueKind.Object
            || reply.GetProperty("error").GetString() is not ("captcha_required" or "account_locked"))
        {
            return reply;
        }
        await s.Out.WriteLineAsync(reply.GetProperty("error").GetString() == "account_locked"
            ? "The account is locked after failed attempts; solving the server's proof-of-work challenge to try once more..."
            : "The server asks for proof of work after failed attempts from this address; solving its challenge...");
        var started = TimeProvider.System.GetTimestamp();
        var puzzle = challenge.Deserialize<CaptchaChallenge>() ?? throw new FormatException("the server's proof-of-work challenge is not readable");
        // A bound on the work a server may ask of this machine: the default asks for up to 100,000 hashes.
        if (puzzle.MaxNumber is < 0 or > MaxProofOfWork)
        {
            throw new FormatException($"the server's proof-of-work challenge asks for up to {puzzle.MaxNumber} hashes, more than the {MaxProofOfWork} this client does");
        }
        try
        {
            request["captcha"] = Captcha.Solve(puzzle);
        }
        catch (InvalidOperationException)
        {
            throw new FormatException("the server's proof-of-work challenge has no solution");
        }
        await s.Out.WriteLineAsync($"Solved in {TimeProvider.System.GetElapsedTime(started).TotalSeconds:0.0} s; sending again.");
        return await connection.SendAsync(QuadClient.Sign(request, key, TimeProvider.System.GetUtcNow().ToUnixTimeSeconds()), ct);
    }

    /// <summary>Says what happened; true on success.</summary>
    private static async Task<bool> ReportAsync(Session s, JsonElement reply)
    {
        var ok = reply.GetProperty("status").GetString() == "ok";
        var message = reply.TryGetProperty("message", out var m) ? m.GetString() : null;
        if (ok)
        {
            await s.Out.WriteLineAsync(message);
            return true;
        }
        var code = reply.TryGetProperty("error", out var e) ? e.GetString() : "error";
        var hint = code switch
        {
            "clock_skew" => " Check this machine's clock.",
            "rate_limited" or "account_locked" when reply.TryGetProperty("retry_after_seconds", out var r) => $" Try again in {r.GetInt32()} s.",
            _ => "",
        };
        await s.Out.WriteLineAsync($"Refused ({code}): {message}{hint}");
        return false;
    }

    private static async Task ShowTotpAsync(Session s, JsonElement reply)
    {
        var uri = reply.GetProperty("provisioning_uri").GetString()!;
        using var generator = new QRCodeGenerator();
        using var data = generator.CreateQrCode(uri, QRCodeGenerator.ECCLevel.M);
        await s.Out.WriteLineAsync("Scan this with an authenticator app:");
        await s.Out.WriteLineAsync(new AsciiQRCode(data).GetGraphicSmall());
        await s.Out.WriteLineAsync(uri);
    }

    internal static (string Host, int Port) ParseServer(string server)
    {
        var colon = server.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(server[(colon + 1)..], out var port) || port is < 1 or > 65535)
        {
            throw new FormatException($"--server: '{server}' is not HOST:PORT (e.g. localhost:65432)");
        }
        return (server[..colon].Trim('[', ']'), port);
    }

    /// <summary>The MAC of the primary interface: up with a gateway, else up, else any with a MAC-48 (the seed's device binding).</summary>
    private static string Mac(Session s)
    {
        if (s.Mac is { } given)
        {
            return given;
        }
        var candidates = NetworkInterface.GetAllNetworkInterfaces()
            .Where(n => n.NetworkInterfaceType != NetworkInterfaceType.Loopback && n.GetPhysicalAddress().GetAddressBytes() is { Length: 6 } b && b.Any(x => x != 0))
            .OrderByDescending(n => n.OperationalStatus == OperationalStatus.Up)
            .ThenByDescending(n => n.GetIPProperties().GatewayAddresses.Count > 0)
            .ThenBy(n => n.Name, StringComparer.Ordinal)
            .ToList();
        var nic = candidates.FirstOrDefault() ?? throw new FormatException("no network interface with a MAC address; give one with --mac");
        return string.Join(':', nic.GetPhysicalAddress().GetAddressBytes().Select(x => x.ToString("x2", System.Globalization.CultureInfo.InvariantCulture)));
    }

    private static string KeyPath(Session s, string username) => Path.Combine(s.ConfigDir, "devices", ServerSlug(s.Server), Slug(username) + ".key");

    private static ECDsa? LoadKey(Session s, string username)
    {
        var path = KeyPath(s, username);
        if (!File.Exists(path))
        {
            return null;
        }
        var key = ECDsa.Create();
        key.ImportFromPem(File.ReadAllText(path));
        return key;
    }

    private static ECDsa RequireKey(Session s, string username) =>
        LoadKey(s, username) ?? throw new FormatException($"no device key for {username} at {s.Server} in {s.ConfigDir}: register on this device or replace-device first");

    private static string SaveKey(Session s, string username, ECDsa key)
    {
        var path = KeyPath(s, username);
        WritePrivate(path, System.Text.Encoding.ASCII.GetBytes(key.ExportPkcs8PrivateKeyPem()));
        return path;
    }

    /// <summary>Writes a file only its owner can read (0600, folders 0700), replacing any, via a temporary file and a rename.</summary>
    private static void WritePrivate(string path, byte[] bytes)
    {
        var folder = Path.GetDirectoryName(path)!;
        var temporary = path + ".new";
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(folder);
        }
        else
        {
            Directory.CreateDirectory(folder, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }
        File.Delete(temporary);
        using (var file = new FileStream(temporary, options))
        {
            file.Write(bytes);
        }
        File.Move(temporary, path, overwrite: true);
    }

    private static string ServerSlug(string server) => Slug(server.Replace(':', '-'));

    private static string Slug(string text) => Uri.EscapeDataString(text).Replace('%', '_');
}
