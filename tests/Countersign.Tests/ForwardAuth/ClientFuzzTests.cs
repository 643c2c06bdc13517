using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using Countersign.ForwardAuth;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace Countersign.Tests.ForwardAuth;

/// <summary>
/// Countersign.Client's two inputs fuzzed, seeded: what a visitor puts in the device cookie, and what a hostile or
/// broken server answers to /verify (any status, missing, doubled, empty, huge or badly encoded identity headers,
/// long bodies, answers slower than the timeout, connections cut). The sample app must never answer 5xx, and may
/// authenticate only when the answer was a 200 with exactly one subject and one device header. The server here is a
/// real Kestrel socket playing the hostile part; <c>COUNTERSIGN_FUZZ_SEED</c> replays a run.
/// </summary>
public sealed class ClientFuzzTests(ITestOutputHelper output)
{
    private static int Seed => int.TryParse(Environment.GetEnvironmentVariable("COUNTERSIGN_FUZZ_SEED"), out var s) ? s : 20261201;

    private sealed record Plan(int Status, string[]? Subject, string[]? Device, string? User, string? Roles, int BodyLength, string? Body, bool Slow, bool Cut,
        string? SetCookie);

    private static readonly string[] Odd = ["", " ", "%", "%ZZ", "%E2%82", "a,b", ",,,", "\u00e9", new string('x', 8000), "ok", "Zm9v", "%00", "\t"];

    private static Plan NextPlan(Random random)
    {
        // Half the time a plausible value, so that enough answers are well-formed 200s for the success side to be fuzzed too.
        string[]? Values() => random.Next(8) switch
        {
            0 => null,
            1 => [Odd[random.Next(Odd.Length)]],
            2 => [Odd[random.Next(Odd.Length)], Odd[random.Next(Odd.Length)]],
            3 => [Odd[random.Next(Odd.Length)] + Odd[random.Next(Odd.Length)]],
            _ => [Convert.ToBase64String(RandomNumberGenerator.GetBytes(32))],
        };
        int[] statuses = [200, 200, 200, 201, 204, 301, 302, 400, 401, 403, 404, 404, 500, 502, 503];
        return new Plan(statuses[random.Next(statuses.Length)], Values(), Values(),
            random.Next(3) == 0 ? Odd[random.Next(Odd.Length)] : null,
            random.Next(3) == 0 ? Odd[random.Next(Odd.Length)] : null,
            random.Next(4) == 0 ? random.Next(100_000) : 0,
            random.Next(4) == 0 ? "Service Not Found!" : null,
            random.Next(20) == 0,
            random.Next(15) == 0,
            random.Next(5) == 0 ? (random.Next(2) == 0 ? "__Secure-cs_device=x; Max-Age=1" : "other=1") : null);
    }

    private static string NextCookie(Random random, string good) => random.Next(8) switch
    {
        0 or 6 or 7 => good,
        1 => good[..^1] + "=",
        2 => new string((char)random.Next(33, 127), random.Next(0, 200)),
        3 => good.ToUpperInvariant(),
        4 => good + ";" + good,
        _ => DeviceCookie.Format(Guid.NewGuid(), RandomNumberGenerator.GetBytes(32)),
    };

    [Fact]
    public async Task Fuzzed_cookies_and_server_answers_never_authenticate_wrongly_or_fail_the_app()
    {
        var random = new Random(Seed);
        Plan? current = null;
        var hostile = WebApplication.CreateSlimBuilder();
        hostile.WebHost.UseUrls("http://127.0.0.1:0");
        hostile.Logging.ClearProviders();
        await using var server = hostile.Build();
        server.Run(async http =>
        {
            var plan = current!;
            if (plan.Cut)
            {
                http.Abort();
                return;
            }
            if (plan.Slow)
            {
                await Task.Delay(800, http.RequestAborted).ContinueWith(_ => { }, TaskScheduler.Default);
            }
            http.Response.StatusCode = plan.Status;
            void Put(string name, string[]? values)
            {
                if (values is not null)
                {
                    http.Response.Headers[name] = values.Select(v => new string([.. v.Where(c => c is >= ' ' and < '\u007f')])).ToArray();
                }
            }
            Put(ForwardAuthApi.SubjectHeader, plan.Subject);
            Put(ForwardAuthApi.DeviceHeader, plan.Device);
            Put(ForwardAuthApi.UserHeader, plan.User is null ? null : [plan.User]);
            Put(ForwardAuthApi.RolesHeader, plan.Roles is null ? null : [plan.Roles]);
            Put("Set-Cookie", plan.SetCookie is null ? null : [plan.SetCookie]);
            if (plan.Body is not null)
            {
                await http.Response.WriteAsync(plan.Body);
            }
            else if (plan.BodyLength > 0 && plan.Status is not (204 or 304))
            {
                await http.Response.WriteAsync(new string('a', plan.BodyLength));
            }
        });
        await server.StartAsync();
        var token = Microsoft.AspNetCore.WebUtilities.WebEncoders.Base64UrlEncode(RandomNumberGenerator.GetBytes(32));
        await using var sample = await Sample.StartAsync(new Uri(server.Urls.First()), "fuzz", token,
            new() { ["Countersign:Timeout"] = "00:00:00.5" });
        var good = DeviceCookie.Format(Guid.NewGuid(), RandomNumberGenerator.GetBytes(32));

        var seen = new Dictionary<HttpStatusCode, int>();
        for (var i = 0; i < 400; i++)
        {
            current = NextPlan(random);
            var cookie = NextCookie(random, good);
            var response = await sample.GetAsync("/", cookie);
            seen[response.StatusCode] = seen.GetValueOrDefault(response.StatusCode) + 1;
            var context = $"seed {Seed}, try {i}: {current} with cookie '{cookie}' gave {(int)response.StatusCode}";
            Assert.True((int)response.StatusCode < 500, context);
            if (response.StatusCode == HttpStatusCode.OK)
            {
                Assert.True(current is { Status: 200, Cut: false, Slow: false, Subject: [{ Length: > 0 }], Device: [{ Length: > 0 }] }, context);
                Assert.True(CountersignClientShape(cookie), context);
            }
            else
            {
                Assert.Contains(response.StatusCode, new[] { HttpStatusCode.Unauthorized, HttpStatusCode.Forbidden });
            }
        }
        output.WriteLine(string.Join(", ", seen.OrderBy(p => p.Key).Select(p => string.Create(CultureInfo.InvariantCulture, $"{(int)p.Key}: {p.Value}"))));
        // The run did reach both sides: some authenticated, some refused.
        Assert.True(seen.GetValueOrDefault(HttpStatusCode.OK) > 0 && seen.GetValueOrDefault(HttpStatusCode.Unauthorized) > 0);
    }

    /// <summary>The cookie's value as the sample reads it from the header (up to a ';'), in the shape Countersign issues.</summary>
    private static bool CountersignClientShape(string cookie) => Countersign.Client.CountersignAuthenticationHandler.IsWellFormed(cookie.Split(';')[0]);
}
