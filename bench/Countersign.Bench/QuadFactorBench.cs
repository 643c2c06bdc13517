using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Countersign.Accounts;
using Countersign.Audit;
using Countersign.Cli;
using Countersign.Face;
using Countersign.Hosting;
using Countersign.QuadFactor;
using Countersign.Storage;
using Countersign.Totp;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

/// <summary>
/// The quad-factor protocol (docs/quad-factor.md, docs/benchmarks.md): logins per second over TLS frames beside
/// password + TOTP logins over <c>POST /api/auth/login</c> for the same accounts (the baseline: same core, same
/// Argon2id, no face, no signature, no TLS), and TLS handshakes per second beside bare TCP connects, in rounds
/// A B A B. Then the cost split, each part alone on one thread (medians): Argon2id verify at the server's real
/// parameters, a face verification, a TLS handshake, an ECDSA P-256 verify.
/// The server runs in this process (SQLite, in-memory state, the real hashing parameters), so load and server share
/// the machine's cores: the ratios hold, the absolute figures are a floor.
/// Usage: Countersign.Bench quadfactor [--seconds 5] [--rounds 3] [--workers 2] [--iterations 40] [--smoke]
/// </summary>
internal static class QuadFactorBench
{
    private const string Password = "correct horse battery staple 42";
    private const string Mac = "02:00:00:aa:bb:cc";

    public static async Task<int> RunAsync(string[] args)
    {
        var options = new BenchArgs(args, "--iterations", "--photos", "--rounds", "--seconds", "--workers");
        var smoke = options.Smoke;
        var seconds = double.Parse(options.Get("--seconds") ?? (smoke ? "0.5" : "5"), CultureInfo.InvariantCulture);
        var rounds = int.Parse(options.Get("--rounds") ?? (smoke ? "1" : "3"), CultureInfo.InvariantCulture);
        var workers = int.Parse(options.Get("--workers") ?? "2", CultureInfo.InvariantCulture);
        var iterations = int.Parse(options.Get("--iterations") ?? (smoke ? "3" : "40"), CultureInfo.InvariantCulture);
        var photos = Path.GetFullPath(options.Get("--photos") ?? Path.Combine("..", "shared", "faces", "deepface"));
        var enrolled = await File.ReadAllBytesAsync(Path.Combine(photos, "img41.jpg"));
        var probe = await File.ReadAllBytesAsync(Path.Combine(photos, "img38.jpg"));

        var folder = Directory.CreateTempSubdirectory("countersign-quad-bench-").FullName;
        var clock = new SteppedClock();
        var builder = CountersignApp.CreateBuilder(b =>
        {
            b.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Storage:ConnectionString"] = $"Data Source={Path.Combine(folder, "countersign.db")}",
                ["Secrets:MasterKey"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)),
                ["Secrets:Peppers:1"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)),
                ["Audit:AttemptLogPath"] = Path.Combine(folder, "attempts.jsonl"),
                ["LocalAdmin:SocketPath"] = Path.Combine(folder, "admin.sock"),
                ["Defences:RateLimits:Enabled"] = "false",
                ["Defences:Captcha:Enabled"] = "false",
                ["QuadFactor:Enabled"] = "true",
                ["QuadFactor:Port"] = "0",
                ["QuadFactor:CertificatePath"] = Path.Combine(folder, "quad-factor.pfx"),
                ["QuadFactor:MaxConnectionsPerAddress"] = "64",
                ["Logging:LogLevel:Default"] = "Warning",
            });
            b.WebHost.UseUrls("http://127.0.0.1:0");
            b.Services.AddSingleton<TimeProvider>(clock);
        });
        await using var app = CountersignApp.Build(builder);
        await StartupTasks.PrepareAsync(app.Services, CancellationToken.None);
        await app.StartAsync();
        try
        {
            var listener = app.Services.GetRequiredService<QuadListener>();
            var port = listener.EndPoint!.Port;
            var trust = new ServerTrust.Pin(listener.Fingerprint!);
            var http = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };
            // Four accounts per worker (NextAccount): a login takes one that has not used the current TOTP step (each
            // step is accepted once per account), and only when all four have does the clock move a step, so another
            // worker's login in flight moves it at most one step, inside the ±1 step window.
            var users = new List<BenchUser>();
            for (var i = 0; i < 4 * workers; i++)
            {
                users.Add(await EnrolAsync(app.Services, $"bench{i}", enrolled));
            }
            Console.WriteLine($"quadfactor: {workers} workers, {seconds} s per measurement, {rounds} rounds; {users.Count} accounts; server in-process, SQLite");

            var quad = new List<double>();
            var api = new List<double>();
            var tls = new List<double>();
            var tcp = new List<double>();
            for (var round = 1; round <= rounds; round++)
            {
                quad.Add(await RateAsync(seconds, workers, async (c, w, _) =>
                {
                    var (user, step) = NextAccount(users, w, clock);
                    var reply = await ((QuadClient)c!).SendAsync(QuadClient.Sign(new JsonObject
                    {
                        ["command"] = "100", ["username"] = user.Name, ["password"] = Password,
                        ["totp_code"] = Rfc6238.Code(user.Secret, step),
                        ["face_image_b64"] = Convert.ToBase64String(probe), ["mac"] = Mac,
                    }, user.Key, clock.GetUtcNow().ToUnixTimeSeconds()), CancellationToken.None);
                    if (reply.GetProperty("status").GetString() != "ok")
                    {
                        throw new BenchFailedException("a quad-factor login failed: " + reply);
                    }
                }, reuse: true, port, trust));
                api.Add(await RateAsync(seconds, workers, async (_, w, _) =>
                {
                    var (user, step) = NextAccount(users, w, clock);
                    using var response = await http.PostAsJsonAsync("/api/auth/login", new
                    {
                        username = user.Name, password = Password, totp_code = Rfc6238.Code(user.Secret, step),
                    });
                    if (!response.IsSuccessStatusCode)
                    {
                        throw new BenchFailedException($"an API login failed: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
                    }
                }, reuse: false, port, trust));
                tls.Add(await RateAsync(seconds, workers, async (_, _, _) =>
                {
                    await using var c = await QuadClient.ConnectAsync("127.0.0.1", port, trust, CancellationToken.None);
                }, reuse: false, port, trust));
                tcp.Add(await RateAsync(seconds, workers, async (_, _, _) =>
                {
                    using var c = new TcpClient();
                    await c.ConnectAsync("127.0.0.1", port);
                }, reuse: false, port, trust));
                Console.WriteLine(FormattableString.Invariant(
                    $"round {round}: quad-factor logins {quad[^1],8:F1}/s  api password+totp logins {api[^1],8:F1}/s  tls handshakes {tls[^1],8:F1}/s  tcp connects {tcp[^1],8:F1}/s"));
            }
            Console.WriteLine(FormattableString.Invariant(
                $"median: quad-factor logins {Median(quad):F1}/s = {Median(quad) / Median(api):F2} x api password+totp logins ({Median(api):F1}/s); tls handshakes {Median(tls):F1}/s = {Median(tls) / Median(tcp):F3} x tcp connects ({Median(tcp):F1}/s)"));

            // The cost split, one thread, interleaved so a slow moment touches every part alike.
            var hasher = app.Services.GetRequiredService<PasswordHasher>();
            var faces = app.Services.GetRequiredService<QuadFaces>();
            var hash = hasher.HashPassword(new User { UserName = "x" }, Password);
            var template = new FaceEngine().Enrol(enrolled).Value!;
            var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var text = DeviceProof.TextToSign("100", "x", 1, "AAAAAAAAAAAAAAAAAAAAAA==");
            var signature = key.SignData(text, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence);
            var (argon, face, handshake, ecdsa) = (new List<double>(), new List<double>(), new List<double>(), new List<double>());
            for (var i = 0; i < iterations; i++)
            {
                argon.Add(await TimeAsync(async () =>
                {
                    if (await hasher.VerifyHashedPasswordAsync(null, hash, Password) == PasswordVerificationResult.Failed)
                    {
                        throw new BenchFailedException("argon2id verify failed");
                    }
                }));
                face.Add(await TimeAsync(async () =>
                {
                    if ((await faces.VerifyAsync(template, probe, CancellationToken.None)).Value?.Match != true)
                    {
                        throw new BenchFailedException("face verify failed");
                    }
                }));
                handshake.Add(await TimeAsync(async () =>
                {
                    await using var c = await QuadClient.ConnectAsync("127.0.0.1", port, trust, CancellationToken.None);
                }));
                ecdsa.Add(await TimeAsync(() =>
                {
                    if (!key.VerifyData(text, signature, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence))
                    {
                        throw new BenchFailedException("ecdsa verify failed");
                    }
                    return Task.CompletedTask;
                }));
            }
            Console.WriteLine(FormattableString.Invariant(
                $"cost split, one thread, median of {iterations}: argon2id verify {Median(argon):F1} ms, face verify {Median(face):F1} ms, tls handshake (client+server) {Median(handshake):F1} ms, ecdsa p-256 verify {Median(ecdsa):F2} ms"));
            return 0;
        }
        finally
        {
            await app.StopAsync();
            try
            {
                Directory.Delete(folder, recursive: true);
            }
            catch (IOException)
            {
                // Left to the temp cleaner.
            }
        }
    }

    private sealed record BenchUser(string Name, ECDsa Key, byte[] Secret)
    {
        public long LastStep { get; set; }
    }

    /// <summary>Worker <paramref name="worker"/>'s next account with a TOTP step it has not used, and that step.</summary>
    private static (BenchUser User, long Step) NextAccount(List<BenchUser> users, int worker, SteppedClock clock)
    {
        var step = Rfc6238.StepAt(clock.GetUtcNow());
        var mine = users.Skip(worker * 4).Take(4).ToList();
        var user = mine.FirstOrDefault(u => u.LastStep < step);
        if (user is null)
        {
            clock.Advance(TimeSpan.FromSeconds(30));
            step = Rfc6238.StepAt(clock.GetUtcNow());
            user = mine.First(u => u.LastStep < step);
        }
        user.LastStep = step;
        return (user, step);
    }

    private static async Task<BenchUser> EnrolAsync(IServiceProvider services, string name, byte[] photo)
    {
        await using var scope = services.CreateAsyncScope();
        var sp = scope.ServiceProvider;
        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        TotpEnrolment? totp = null;
        var template = new FaceEngine().Enrol(photo).Value ?? throw new BenchFailedException("the enrolment photo has no usable face");
        var (user, result) = await sp.GetRequiredService<AccountAdmin>().CreateAsync(name, Password, null, [], AuditActions.UserCreated, "bench", null, null,
            async (user, ct) =>
            {
                var db = sp.GetRequiredService<CountersignDb>();
                db.QuadEnrolments.Add(new QuadEnrolment
                {
                    UserId = user.Id, PublicKey = key.ExportSubjectPublicKeyInfo(), Mac = Mac,
                    ProtectedFaceTemplate = sp.GetRequiredService<Countersign.Secrets.SecretStore>().Protect(Countersign.Secrets.SecretStore.FaceTemplatePurpose, template.ToBytes()),
                });
                totp = await sp.GetRequiredService<TotpService>().StageActiveAsync(user, ct);
            }, CancellationToken.None);
        if (user is null)
        {
            throw new BenchFailedException("could not create a bench account: " + string.Join("; ", result.Errors.Select(e => e.Description)));
        }
        return new(name, key, OtpNet.Base32Encoding.ToBytes(totp!.Secret));
    }

    /// <summary>Operations per second with <paramref name="workers"/> at once; with <paramref name="reuse"/> each worker keeps one connection.</summary>
    private static async Task<double> RateAsync(double seconds, int workers, Func<object?, int, long, Task> work, bool reuse, int port, ServerTrust trust)
    {
        var stopwatch = Stopwatch.StartNew();
        var until = TimeSpan.FromSeconds(seconds);
        long done = 0;
        await Task.WhenAll(Enumerable.Range(0, workers).Select(async w =>
        {
            QuadClient? connection = reuse ? await QuadClient.ConnectAsync("127.0.0.1", port, trust, CancellationToken.None) : null;
            try
            {
                for (long n = 0; stopwatch.Elapsed < until; n++)
                {
                    await work(connection, w, n);
                    Interlocked.Increment(ref done);
                }
            }
            finally
            {
                if (connection is not null)
                {
                    await connection.DisposeAsync();
                }
            }
        }));
        return done / stopwatch.Elapsed.TotalSeconds;
    }

    private static async Task<double> TimeAsync(Func<Task> work)
    {
        var start = Stopwatch.GetTimestamp();
        await work();
        return Stopwatch.GetElapsedTime(start).TotalMilliseconds;
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
    }

    /// <summary>The real clock plus what the bench added: TOTP steps move on without waiting 30 s per login.</summary>
    private sealed class SteppedClock : TimeProvider
    {
        private long _offsetTicks;

        public override DateTimeOffset GetUtcNow() => System.GetUtcNow().AddTicks(Interlocked.Read(ref _offsetTicks));

        public void Advance(TimeSpan by) => Interlocked.Add(ref _offsetTicks, by.Ticks);
    }
}
