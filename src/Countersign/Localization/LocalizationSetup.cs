using System.Globalization;
using Countersign.Accounts;
using Countersign.Storage;
using Microsoft.AspNetCore.Localization;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.EntityFrameworkCore;

namespace Countersign.Localization;

/// <summary>
/// The pages speak English or French. The culture comes from an application's <c>ui_locales</c> on the pages of its
/// sign-in (<see cref="UiLocalesProvider"/>), then the signed-in user's own setting (<see cref="User.Language"/>), then the
/// browser's <c>Accept-Language</c>, then the instance's language (<see cref="AccountsOptions.DefaultLanguage"/>, English
/// unless configured). Each page's words
/// live in resource files beside a marker class (Pages/PageText.resx and .fr.resx, Pages/Admin/AdminText.resx, …)
/// and are read through <c>IStringLocalizer&lt;T&gt;</c>. The API's problem details stay English: their stable
/// <c>error</c> codes are what clients read (docs/errors.md).
/// </summary>
public static class LocalizationSetup
{
    /// <summary>The languages a user may choose (<see cref="Languages.Supported"/>), each named in itself.</summary>
    public static IReadOnlyList<(string Code, string Name)> Choices { get; } = [("en", "English"), ("fr", "Français")];

    private static bool IsSupported(string? language) => language is not null && Languages.Supported.Contains(language);

    public static WebApplicationBuilder AddPageLocalization(this WebApplicationBuilder builder)
    {
        builder.Services.AddLocalization();
        builder.Services.AddOptions<RequestLocalizationOptions>().Configure<IConfiguration>((o, configuration) =>
        {
            string[] codes = [.. Languages.Supported];
            // Only the words follow the language; numbers and dates keep one format (English), so a number the page
            // hands to its script (a data- attribute, JSON) never becomes "0,5". Read without validation, as the
            // middleware is built before StartupTasks reports an unsupported setting (AccountsOptionsValidator) with
            // every other problem and stops; until then English stands in.
            var configured = configuration.ComposeTime<AccountsOptions>(AccountsOptions.Section).DefaultLanguage;
            var words = IsSupported(configured) ? configured : codes[0];
            o.AddSupportedCultures(codes[0]).AddSupportedUICultures(codes);
            o.DefaultRequestCulture = new RequestCulture(culture: codes[0], uiCulture: words);
            // "fr-CA" in Accept-Language finds "fr".
            o.FallBackToParentCultures = true;
            o.FallBackToParentUICultures = true;
            o.RequestCultureProviders = [new UiLocalesProvider(), new UserSettingProvider(), new AcceptLanguageHeaderRequestCultureProvider()];
        });
        return builder;
    }

    /// <summary>After authentication, so that the user's own setting is known.</summary>
    public static IApplicationBuilder UsePageLocalization(this IApplicationBuilder app) => app.UseRequestLocalization();

    /// <summary>
    /// The signed-in user's language, read for pages only: an API call or a proxy check pays no query for words it
    /// never shows. Read on each page view rather than kept in the cookie, so a change on one device shows on the
    /// others at their next page. The account is found by key and tracked, so the page's own
    /// <c>UserManager.FindByIdAsync</c> (Identity's EF store calls <c>DbSet.FindAsync</c>) is answered from the request's
    /// context without a second query: one read of the account per page view, not one for the words and one for the page.
    /// </summary>
    private sealed class UserSettingProvider : RequestCultureProvider
    {
        public override async Task<ProviderCultureResult?> DetermineProviderCultureResult(HttpContext context)
        {
            if (context.GetEndpoint()?.Metadata.GetMetadata<PageActionDescriptor>() is null
                || context.User.Identity?.IsAuthenticated != true
                || !Guid.TryParse(context.User.FindFirst("sub")?.Value, out var userId))
            {
                return null;
            }
            var db = context.RequestServices.GetRequiredService<CountersignDb>();
            var user = await db.Users.FindAsync([userId], context.RequestAborted);
            return IsSupported(user?.Language) ? new ProviderCultureResult(user!.Language) : null;
        }
    }

    /// <summary>
    /// OpenID Connect's <c>ui_locales</c> (Core 1.0 §3.1.2.1: "End-User's preferred languages and scripts for the user
    /// interface", space-separated BCP 47 tags in order of preference; RP-Initiated Logout 1.0 §2 has the same for sign-out):
    /// the first one we speak, on the pages of that one interaction — the sign-in and consent pages whose return address
    /// is the authorization request (<c>/connect/authorize?…&amp;ui_locales=…</c>, carried whole through <c>ReturnUrl</c>),
    /// and a page that carries it in its own query (the sign-out confirmation). Tags we do not speak are passed over
    /// without an error, as the spec asks. It comes before the user's own setting: it is scoped to this one flow, sent
    /// by the application the person is using right now (usually from the language they chose there), while the stored
    /// setting is "en" for every account that never opened the language form (the column has a default, so "never
    /// chose" and "chose English" look the same). Every other page still follows the setting.
    /// </summary>
    private sealed class UiLocalesProvider : RequestCultureProvider
    {
        private const string Authorize = "/connect/authorize?";

        public override async Task<ProviderCultureResult?> DetermineProviderCultureResult(HttpContext context)
        {
            if (context.GetEndpoint()?.Metadata.GetMetadata<PageActionDescriptor>() is null)
            {
                return null;
            }
            var request = context.Request;
            var locales = request.Query["ui_locales"].ToString();
            if (locales.Length == 0)
            {
                var back = request.Query["ReturnUrl"].ToString();
                if (back.Length == 0 && HttpMethods.IsPost(request.Method) && request.HasFormContentType)
                {
                    try
                    {
                        back = (await request.ReadFormAsync(context.RequestAborted))["ReturnUrl"].ToString();
                    }
                    catch (Exception e) when (e is InvalidDataException or IOException or BadHttpRequestException)
                    {
                        // A form over the limits is the page's to refuse; the words fall back to the next provider.
                        return null;
                    }
                }
                if (!back.StartsWith(Authorize, StringComparison.Ordinal))
                {
                    return null;
                }
                locales = Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(back[(Authorize.Length - 1)..])
                    .GetValueOrDefault("ui_locales").ToString();
            }
            foreach (var tag in locales.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Take(10))
            {
                // "fr-CA" and "fr" both find French; the primary subtag decides (RFC 5646 §2.2.1).
                var primary = tag.Split('-', 2)[0].ToLowerInvariant();
                if (IsSupported(primary))
                {
                    return new ProviderCultureResult(primary);
                }
            }
            return null;
        }
    }

    /// <summary>The request's language code (<c>en</c> or <c>fr</c>), for the <c>lang</c> attribute and the hub's words.</summary>
    public static string CurrentLanguage => CultureInfo.CurrentUICulture.TwoLetterISOLanguageName;
}
