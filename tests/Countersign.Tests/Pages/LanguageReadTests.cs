using System.Collections.Concurrent;
using System.Data.Common;
using System.Net;
using Countersign.Tests.Api;
using Countersign.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace Countersign.Tests.Pages;

/// <summary>Every database command the server runs, for the test that counts how often a page reads the account.</summary>
public sealed class CommandLog : DbCommandInterceptor
{
    public ConcurrentQueue<string> Commands { get; } = new();

    public override ValueTask<InterceptionResult<DbDataReader>> ReaderExecutingAsync(DbCommand command, CommandEventData eventData,
        InterceptionResult<DbDataReader> result, CancellationToken cancellationToken = default)
    {
        Commands.Enqueue(command.CommandText);
        return ValueTask.FromResult(result);
    }

    public override InterceptionResult<DbDataReader> ReaderExecuting(DbCommand command, CommandEventData eventData, InterceptionResult<DbDataReader> result)
    {
        Commands.Enqueue(command.CommandText);
        return result;
    }
}

public sealed class CommandLogServer() : TestServer(Database.Sqlite)
{
    public CommandLog Log { get; } = new();

    protected override void ConfigureServices(IServiceCollection services) => services.AddSingleton<IInterceptor>(Log);
}

/// <summary>
/// The user's language is read once per page view, together with the account the page needs anyway (issue 16: the culture
/// provider used to query the language and the page then loaded the same user again).
/// </summary>
public sealed class LanguageReadTests(CommandLogServer server) : ApiSuiteBase(server), IClassFixture<CommandLogServer>
{
    [Theory]
    [InlineData("/account")]
    [InlineData("/calls")]
    public async Task A_page_view_reads_the_signed_in_account_once_and_still_speaks_its_language(string path)
    {
        var name = await RegisterAsync();
        var token = await TokenAsync(name);
        Assert.Equal(HttpStatusCode.NoContent, (await Client.SendAsync(WithToken(HttpMethod.Put, "/api/me/language", token, new { language = "fr" }))).StatusCode);
        using var browser = new BrowserSession(Server.BaseAddress);
        browser.Client.DefaultRequestHeaders.AcceptLanguage.ParseAdd("en-GB");
        await browser.SignInAsync(name, Password);

        server.Log.Commands.Clear();
        var html = await browser.Client.GetStringAsync(path);
        // A read of the account row is the one that selects its language column.
        var reads = server.Log.Commands.Count(c => c.Contains("\"Language\"", StringComparison.Ordinal) && c.Contains("FROM \"AspNetUsers\"", StringComparison.Ordinal));
        Assert.Contains("<html lang=\"fr\">", html, StringComparison.Ordinal);
        Assert.Equal(1, reads);
    }
}
