using System.Text.Json;
using Countersign.Attack;
using Countersign.Cli;
using Countersign.Tests.Infrastructure;

namespace Countersign.Tests.Api;

public sealed class AttackSimulatorTests(SqliteLockoutServer server) : ApiSuiteBase(server), IClassFixture<SqliteLockoutServer>
{
    [Fact]
    public async Task A_spray_finds_the_weak_account_and_reports_every_outcome()
    {
        var weak = await RegisterAsync(password: "correct Horse battery 42");
        var strong = await RegisterAsync();
        var report = await new AttackSimulator(
            new AttackSettings(AttackMode.Spray, Server.BaseAddress, [weak, strong, NewName()],
                ["123456", "password", "correct Horse battery 42", "qwerty"], Concurrency: 1),
            Server.CreateClient(), TextWriter.Null).RunAsync(CancellationToken.None);

        // One attempt at a time, so the count below is exact: with two in flight, the weak user's next guess
        // may leave before the success that makes the spray skip it has come back (a slower success, such
        // as one that writes its session, made this test count 12 now and then).
        Assert.Equal([weak], report.Compromised);
        Assert.Equal(1, report.Successes);
        Assert.NotNull(report.TimeToFirstCompromiseSeconds);
        // 4 passwords × 3 users, minus the weak user's last guess, which the spray skips once it is in.
        Assert.Equal(11, report.Attempts);
        Assert.Equal(10, report.Outcomes["401"]);
        Assert.Equal("list_exhausted", report.StoppedBy);
        Assert.True(report.LatencyMs["p50"] > 0);
    }

    [Fact]
    public async Task Brute_force_meets_the_lock_and_pays_the_proof_of_work_to_go_on()
    {
        var victim = await RegisterAsync();
        var guesses = Enumerable.Range(0, 7).Select(i => "guess number " + i).Append(Password).ToList();
        var report = await new AttackSimulator(
            new AttackSettings(AttackMode.BruteForce, Server.BaseAddress, [victim], guesses, Concurrency: 1, SolveCaptcha: true),
            Server.CreateClient(), TextWriter.Null).RunAsync(CancellationToken.None);

        Assert.Equal([victim], report.Compromised);
        Assert.Equal(3, report.Outcomes["423"]);
        Assert.Equal(3, report.CaptchasSolved);
    }

    [Fact]
    public async Task The_attack_command_refuses_a_target_off_loopback_and_honours_its_bounds()
    {
        var users = Path.GetTempFileName();
        var passwords = Path.GetTempFileName();
        var report = Path.GetTempFileName();
        await File.WriteAllLinesAsync(users, ["nobody"]);
        await File.WriteAllLinesAsync(passwords, Enumerable.Range(0, 20).Select(i => "p" + i));
        try
        {
            Assert.Equal(2, await CountersignCli.Create().Parse(["attack", "spray", "--target", "http://192.0.2.1:5080",
                "--users", users, "--passwords", passwords]).InvokeAsync());
            Assert.Equal(0, await CountersignCli.Create().Parse(["attack", "brute-force", "--target", Server.BaseAddress.ToString(),
                "--users", users, "--passwords", passwords, "--max-attempts", "3", "--report", report]).InvokeAsync());
            var json = JsonDocument.Parse(await File.ReadAllTextAsync(report)).RootElement;
            Assert.Equal(3, json.GetProperty("attempts").GetInt64());
            Assert.Equal("max_attempts", json.GetProperty("stopped_by").GetString());
        }
        finally
        {
            File.Delete(users);
            File.Delete(passwords);
            File.Delete(report);
        }
    }
}
