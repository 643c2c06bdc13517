using System.Net;
using System.Text.Json;
using Countersign.Tests.Infrastructure;

namespace Countersign.Tests.Operations;

/// <summary>Metrics and structured logs (issue 17), each on a server process of its own: meters are process-wide.</summary>
public sealed class MetricsTests
{
    private const string Password = "violet Anchor 7 drifting kites";

    private static readonly string[][] User = [["users", "add", "meter", "--password", Password]];

    [Fact]
    public async Task Metrics_are_off_by_default_and_never_on_the_public_port()
    {
        await using var server = await ChildServer.StartAsync(new Dictionary<string, string>());
        using var http = server.CreateClient();
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("/metrics")).StatusCode);
    }

    [Fact]
    public async Task The_scrape_endpoint_counts_sign_ins_by_result_and_times_requests()
    {
        var port = ChildServer.FreePort();
        await using var server = await ChildServer.StartAsync(new Dictionary<string, string>
        {
            ["Metrics:Enabled"] = "true",
            ["Metrics:Port"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture),
        }, commands: User);
        using var http = server.CreateClient();
        Assert.Equal(HttpStatusCode.OK, (await http.PostJson("/api/auth/login", new { username = "meter", password = Password })).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.PostJson("/api/auth/login", new { username = "meter", password = "wrong" })).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("/metrics")).StatusCode);

        using var scraper = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var text = await scraper.GetStringAsync($"http://127.0.0.1:{port}/metrics");
        var lines = text.Split('\n');
        Assert.Contains(lines, l => l.StartsWith("countersign_signin_attempts_total{", StringComparison.Ordinal)
            && l.Contains("result=\"success\"", StringComparison.Ordinal) && l.EndsWith(" 1", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("countersign_signin_attempts_total{", StringComparison.Ordinal)
            && l.Contains("result=\"failure\"", StringComparison.Ordinal) && l.EndsWith(" 1", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("countersign_signin_duration_seconds_bucket{", StringComparison.Ordinal));
        // The framework's request histogram, by route and status: the 401 above is in it.
        Assert.Contains(lines, l => l.StartsWith("http_server_request_duration_seconds_count{", StringComparison.Ordinal)
            && l.Contains("http_response_status_code=\"401\"", StringComparison.Ordinal));
        // The audit's committed failure.
        Assert.Contains(lines, l => l.StartsWith("countersign_audit_events_total{", StringComparison.Ordinal)
            && l.Contains("action=\"login_failed\"", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_bad_metrics_setting_stops_the_start_with_its_name()
    {
        var failure = await Assert.ThrowsAsync<InvalidOperationException>(() => ChildServer.StartAsync(new Dictionary<string, string>
        {
            ["Metrics:Enabled"] = "true",
            ["Metrics:Address"] = "everywhere",
        }));
        Assert.Contains("Metrics:Address", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Logs_are_json_lines_when_the_console_formatter_is_json()
    {
        await using var server = await ChildServer.StartAsync(new Dictionary<string, string> { ["Logging:Console:FormatterName"] = "json" });
        using var http = server.CreateClient();
        await http.GetAsync("/health/live");
        var lines = server.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.NotEmpty(lines);
        foreach (var line in lines)
        {
            using var entry = JsonDocument.Parse(line);
            Assert.True(entry.RootElement.TryGetProperty("EventId", out _), line);
        }
    }
}
