using System.Net;
using System.Net.Http.Json;
using Countersign.Accounts;
using Countersign.Cli;
using Countersign.Tests.Api;
using Countersign.Tests.Infrastructure;

namespace Countersign.Tests.Pages;

/// <summary>
/// The language a new account starts with (docs/architecture.md, "An account's language"): a self-registered account takes
/// the language its sign-up was made in; an administrator's new account takes the language chosen for it, else the
/// instance's (<c>Accounts:DefaultLanguage</c>). Once set, it is the account's own setting and wins over the browser.
/// </summary>
public sealed class AccountLanguageTests(SqliteServer server) : ApiSuiteBase(server), IClassFixture<SqliteServer>
{
    private Task<string> LanguageOfAsync(string name) =>
        WithScope(async sp => (await sp.GetRequiredService<AccountAdmin>().FindAsync(name))!.Language);

    [Theory]
    [InlineData("fr-FR,fr;q=0.9,en;q=0.5", "fr")]
    [InlineData("fr-CA", "fr")]
    [InlineData("en-GB,en;q=0.9", "en")]
    [InlineData("de-DE,de;q=0.9", "en")]
    public async Task A_self_registered_account_speaks_the_language_its_sign_up_page_was_shown_in(string acceptLanguage, string expected)
    {
        using var browser = new BrowserSession(Server.BaseAddress);
        browser.Client.DefaultRequestHeaders.AcceptLanguage.ParseAdd(acceptLanguage);
        var name = NewName();
        var signup = await browser.Client.GetStringAsync("/signup");
        Assert.Contains($"<html lang=\"{expected}\">", signup, StringComparison.Ordinal);
        var created = await browser.PostFormAsync("/signup", BrowserSession.Token(signup)!, ("Username", name), ("NewPassword", Password), ("ConfirmPassword", Password));
        Assert.Equal(HttpStatusCode.Redirect, created.StatusCode);
        Assert.Equal(expected, await LanguageOfAsync(name));

        // It is the account's setting from then on: the same person on a browser of the other language still reads theirs.
        using var other = new BrowserSession(Server.BaseAddress);
        other.Client.DefaultRequestHeaders.AcceptLanguage.ParseAdd(expected == "fr" ? "en-GB,en;q=0.9" : "fr-FR,fr;q=0.9");
        await other.SignInAsync(name, Password);
        Assert.Contains($"<html lang=\"{expected}\">", await other.Client.GetStringAsync("/account"), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("fr-CA,fr;q=0.9", "fr")]
    [InlineData(null, "en")]
    public async Task An_account_registered_over_the_api_takes_the_requests_language(string? acceptLanguage, string expected)
    {
        var name = NewName();
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/accounts")
        {
            Content = JsonContent.Create(new { username = name, password = Password }),
        };
        if (acceptLanguage is not null)
        {
            request.Headers.TryAddWithoutValidation("Accept-Language", acceptLanguage);
        }
        Assert.Equal(HttpStatusCode.Created, (await Client.SendAsync(request)).StatusCode);
        Assert.Equal(expected, await LanguageOfAsync(name));
    }

    [Fact]
    public async Task An_administrators_new_account_speaks_the_language_chosen_for_it_else_the_instances()
    {
        var token = await TokenAsync(await UserWithRoleAsync(Roles.Admin));
        async Task<HttpResponseMessage> CreateAsync(object body) => await Client.SendAsync(WithToken(HttpMethod.Post, "/api/admin/users", token, body));

        var french = NewName();
        var created = await CreateAsync(new { username = french, language = "FR" });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Equal("fr", await LanguageOfAsync(french));
        var detail = await (await Client.SendAsync(WithToken(HttpMethod.Get, created.Headers.Location!.OriginalString, token))).Body();
        Assert.Equal("fr", detail.GetProperty("language").GetString());

        // Not the administrator's own language, nor their browser's: the instance's.
        var plain = NewName();
        var request = WithToken(HttpMethod.Post, "/api/admin/users", token, new { username = plain });
        request.Headers.TryAddWithoutValidation("Accept-Language", "fr-FR");
        Assert.Equal(HttpStatusCode.Created, (await Client.SendAsync(request)).StatusCode);
        Assert.Equal("en", await LanguageOfAsync(plain));

        var refused = await CreateAsync(new { username = NewName(), language = "de" });
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.Equal("invalid_request", (await refused.Body()).GetProperty("error").GetString());
    }

    [Fact]
    public async Task The_consoles_new_account_form_offers_the_instances_language_and_keeps_the_one_chosen()
    {
        var admin = await UserWithRoleAsync(Roles.Admin);
        using var browser = new BrowserSession(Server.BaseAddress);
        await browser.SignInAsync(admin, Password);
        var page = await browser.Client.GetStringAsync("/admin/users");
        Assert.Contains("<option value=\"en\" lang=\"en\" selected=\"selected\">", page, StringComparison.Ordinal);
        var name = NewName();
        var created = await browser.PostFormAsync("/admin/users?handler=Create", BrowserSession.Token(page)!, ("NewUsername", name), ("NewLanguage", "fr"));
        Assert.Equal(HttpStatusCode.Redirect, created.StatusCode);
        Assert.Equal("fr", await LanguageOfAsync(name));
        Assert.Contains("<dd lang=\"fr\">Français</dd>", WebUtility.HtmlDecode(await browser.Client.GetStringAsync(created.Headers.Location!.OriginalString)),
            StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_cli_creates_an_account_in_the_language_asked_for_and_refuses_one_it_does_not_speak()
    {
        int Run(params string[] args) => CountersignCli.Create(Server.ConfigureBuilder).Parse(args).InvokeAsync().GetAwaiter().GetResult();
        var name = NewName();
        Assert.Equal(0, Run("users", "add", name, "--password", Password, "--language", "fr"));
        Assert.Equal("fr", await LanguageOfAsync(name));
        var unknown = NewName();
        Assert.Equal(2, Run("users", "add", unknown, "--password", Password, "--language", "klingon"));
        Assert.Null(await WithScope(sp => sp.GetRequiredService<AccountAdmin>().FindAsync(unknown)));
    }
}

/// <summary>An instance whose language is French.</summary>
public sealed class FrenchInstanceServer() : TestServer(Database.Sqlite)
{
    protected override void Configure(Dictionary<string, string?> settings) => settings["Accounts:DefaultLanguage"] = "fr";
}

public sealed class FrenchInstanceTests(FrenchInstanceServer server) : ApiSuiteBase(server), IClassFixture<FrenchInstanceServer>
{
    [Fact]
    public async Task A_french_instance_speaks_french_when_nothing_else_decides_and_gives_its_new_accounts_french()
    {
        // A browser whose languages we do not speak, and one that names none, read the instance's language.
        var german = new HttpRequestMessage(HttpMethod.Get, "/login");
        german.Headers.TryAddWithoutValidation("Accept-Language", "de-DE,de;q=0.9");
        Assert.Contains("<html lang=\"fr\">", await (await Client.SendAsync(german)).Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Contains("<html lang=\"fr\">", await Client.GetStringAsync("/login"), StringComparison.Ordinal);
        // An English browser still reads English.
        var english = new HttpRequestMessage(HttpMethod.Get, "/login");
        english.Headers.TryAddWithoutValidation("Accept-Language", "en-GB");
        Assert.Contains("<html lang=\"en\">", await (await Client.SendAsync(english)).Content.ReadAsStringAsync(), StringComparison.Ordinal);

        var token = await TokenAsync(await UserWithRoleAsync(Roles.Admin));
        var name = NewName();
        Assert.Equal(HttpStatusCode.Created, (await Client.SendAsync(WithToken(HttpMethod.Post, "/api/admin/users", token, new { username = name }))).StatusCode);
        Assert.Equal("fr", await WithScope(async sp => (await sp.GetRequiredService<AccountAdmin>().FindAsync(name))!.Language));
    }
}
