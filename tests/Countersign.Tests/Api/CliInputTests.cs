using System.Net;
using Countersign.Tests.Infrastructure;

namespace Countersign.Tests.Api;

/// <summary>The CLI answers bad input with one line saying what is wrong and exit 2, never a stack trace.</summary>
public sealed class CliInputTests(SqliteServer server) : IClassFixture<SqliteServer>
{
    private const string Strong = "violet Anchor 7 drifting kites";

    /// <summary>Command lines, arguments separated by |.</summary>
    public static TheoryData<string> BadInput => new()
    {
        "pairs|import|/nonexistent/pairs.csv",
        "users|import|/nonexistent/users.csv",
        "serve|--urls|notaurl",
        "attack|brute-force|--target|http://no-such-host.invalid:5080|--users|/etc/hostname|--passwords|/etc/hostname",
        "attack|spray|--target|http://no-such-host.invalid:5080|--users|/etc/hostname|--passwords|/etc/hostname|--i-own-this-target",
        "attack|spray|--target|http://127.0.0.1:1|--users|/etc/hostname|--passwords|/etc/hostname",
        "attack|spray|--target|http://127.0.0.1:1|--users|/nonexistent/users.txt|--passwords|/etc/hostname",
        "attack|spray|--target|ftp://127.0.0.1|--users|/etc/hostname|--passwords|/etc/hostname",
        "attack|spray|--target|http://127.0.0.1:1|--users|/etc/hostname|--passwords|/etc/hostname|--max-duration|5x",
        "pairs|remove|not-a-guid",
        "users|add",
        "users|add|someone|--password|" + Strong + "|--role|wizard",
        "users|add|someone|--password|",
        "users|add-role|someone|wizard",
        "no-such-command",
        "face|compare",
    };

    [Theory]
    [MemberData(nameof(BadInput))]
    public async Task Bad_input_gets_one_line_and_exit_2(string commandLine)
    {
        var (exit, _, error) = await CliRunner.RunAsync(server.ConfigureBuilder, commandLine.Split('|'));
        Assert.Equal(2, exit);
        var lines = error.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Single(lines);
        Assert.StartsWith("error: ", lines[0], StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bad_configuration_gets_one_line_and_exit_2()
    {
        void Bad(WebApplicationBuilder b)
        {
            server.ConfigureBuilder(b);
            b.Configuration["Storage:ConnectionString"] = "not a connection string";
        }
        var (exit, _, error) = await CliRunner.RunAsync(Bad, "users", "list");
        Assert.Equal(2, exit);
        Assert.Contains("Storage:ConnectionString", error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_new_password_is_typed_twice()
    {
        var name = "typed" + Guid.NewGuid().ToString("N")[..8];
        var (exit, _, error) = await CliRunner.RunWithInputAsync(server.ConfigureBuilder, $"{Strong}\n{Strong}x\n", "users", "add", name);
        Assert.Equal(2, exit);
        Assert.Contains("differ", error, StringComparison.Ordinal);
        Assert.Equal(1, (await CliRunner.RunAsync(server.ConfigureBuilder, "users", "show", name)).Exit);

        (exit, _, _) = await CliRunner.RunWithInputAsync(server.ConfigureBuilder, $"{Strong}\n{Strong}\n", "users", "add", name);
        Assert.Equal(0, exit);

        const string Next = "another Long passphrase 99";
        (exit, _, error) = await CliRunner.RunWithInputAsync(server.ConfigureBuilder, $"{Next}\nanother long passphrase 99\n", "users", "set-password", name);
        Assert.Equal(2, exit);
        Assert.Contains("differ", error, StringComparison.Ordinal);
        (exit, _, error) = await CliRunner.RunWithInputAsync(server.ConfigureBuilder, "\n\n", "users", "set-password", name);
        Assert.Equal(2, exit);
        Assert.Contains("no password given", error, StringComparison.Ordinal);
        Assert.DoesNotContain("at least 0", error, StringComparison.Ordinal);

        var client = server.CreateClient();
        Assert.Equal(HttpStatusCode.OK, (await client.PostJson("/api/auth/login", new { username = name, password = Strong })).StatusCode);
        (exit, _, _) = await CliRunner.RunWithInputAsync(server.ConfigureBuilder, $"{Next}\n{Next}\n", "users", "set-password", name);
        Assert.Equal(0, exit);
        Assert.Equal(HttpStatusCode.OK, (await client.PostJson("/api/auth/login", new { username = name, password = Next })).StatusCode);
    }

    [Fact]
    public async Task A_blank_password_is_refused_with_the_real_minimum()
    {
        var (exit, _, error) = await CliRunner.RunAsync(server.ConfigureBuilder, "users", "add", "blank" + Guid.NewGuid().ToString("N")[..8], "--password", "   ");
        Assert.Equal(1, exit);
        Assert.DoesNotContain("at least 0", error, StringComparison.Ordinal);
        Assert.Contains("at least 8", error, StringComparison.Ordinal);

        var response = await server.CreateClient().PostJson("/api/accounts", new { username = "blank" + Guid.NewGuid().ToString("N")[..8], password = "   " });
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var body = await response.Content.ReadAsStringAsync();
        Assert.DoesNotContain("at least 0", body, StringComparison.Ordinal);
    }
}
