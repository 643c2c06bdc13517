using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.Filters;
using Microsoft.AspNetCore.Mvc.ModelBinding;
using Microsoft.Net.Http.Headers;

namespace Countersign.Operations;

/// <summary>
/// What every response carries and what every request must look like before a handler sees it: the browser
/// security headers (CSP and friends), <c>Cache-Control: no-store</c> on everything but the static files,
/// UTF-8 bodies only, and a problem body for every error whatever the client's <c>Accept</c> says.
/// </summary>
public static class HttpHardening
{
    public static IHostApplicationBuilder AddHttpHardening(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddSecurityHeaderPolicies()
            .SetDefaultPolicy(Policy(docs: false))
            .AddPolicy(DocsPolicy, Policy(docs: true))
            .SetPolicySelector(ctx => ctx.HttpContext.Request.Path.StartsWithSegments("/docs", StringComparison.OrdinalIgnoreCase)
                ? ctx.ConfiguredPolicies[DocsPolicy]
                : ctx.DefaultPolicy);
        // After the framework's writer, so it only answers what that one refuses (e.g. Accept: text/html).
        services.AddProblemDetails();
        services.AddSingleton<IProblemDetailsWriter, FallbackProblemWriter>();
        services.AddExceptionHandler<MalformedRequestHandler>();
        services.AddExceptionHandler<DependencyUnavailableHandler>();
        // PostConfigure: AddRazorPages, called later, adds the default value providers in its own Configure.
        services.PostConfigure<MvcOptions>(o =>
        {
            // The jQuery-style form binder throws on keys such as "[" (pen test M1.5); no page posts that syntax.
            o.ValueProviderFactories.RemoveType<JQueryFormValueProviderFactory>();
            o.ValueProviderFactories.RemoveType<JQueryQueryStringValueProviderFactory>();
            o.Filters.Add(new NoPageHandlerFilter());
        });
        return builder;
    }

    /// <summary>Security headers and the charset check; before the static files, so they get the headers too.</summary>
    public static WebApplication UseHttpHardening(this WebApplication app)
    {
        app.UseSecurityHeaders();
        app.Use(RefuseForeignCharsets);
        return app;
    }

    /// <summary>
    /// After the static files: nothing dynamic is stored by browsers or proxies. Tokens, TOTP secrets and
    /// recovery codes are in these bodies (ASVS 4.0 §8.2.1, pen test L2).
    /// </summary>
    public static WebApplication UseNoStore(this WebApplication app)
    {
        app.Use((http, next) =>
        {
            http.Response.OnStarting(() =>
            {
                http.Response.Headers.CacheControl = "no-store";
                return Task.CompletedTask;
            });
            return next(http);
        });
        return app;
    }

    private const string DocsPolicy = "docs";

    private static HeaderPolicyCollection Policy(bool docs) => new HeaderPolicyCollection()
        .AddFrameOptionsDeny()
        .AddContentTypeOptionsNoSniff()
        .AddReferrerPolicyStrictOriginWhenCrossOrigin()
        .AddCrossOriginOpenerPolicy(p => p.SameOrigin())
        // Over HTTPS only (the library skips plain HTTP, RFC 6797 §7.2, and the host "localhost"): a year, as
        // RFC 6797 §11.2 suggests for settled sites. Tested over real TLS in Hardening/HstsTests.cs.
        .AddStrictTransportSecurityMaxAge(maxAgeInSeconds: 365 * 24 * 3600)
        .AddPermissionsPolicy(p =>
        {
            p.AddCamera().None();
            p.AddMicrophone().None();
            p.AddGeolocation().None();
            p.AddPayment().None();
            p.AddUsb().None();
            // Passkeys (WebAuthn) run in our own pages only.
            p.AddPublickeyCredentialsGet().Self();
            p.AddPublickeyCredentialsCreate().Self();
        })
        .AddContentSecurityPolicy(csp =>
        {
            csp.AddDefaultSrc().Self();
            csp.AddObjectSrc().None();
            csp.AddBaseUri().None();
            csp.AddFormAction().Self();
            csp.AddFrameAncestors().None();
            csp.AddImgSrc().Self().Data();
            csp.AddConnectSrc().Self();
            // The altcha widget styles itself inline and solves in a worker it starts from a data: URL.
            csp.AddStyleSrc().Self().UnsafeInline();
            csp.AddWorkerSrc().Self().Blob().Data();
            if (docs)
            {
                // The API reference (Scalar) is one generated page with an inline bootstrap script; it shows no account data.
                csp.AddScriptSrc().Self().UnsafeInline();
                csp.AddFontSrc().Self().Data();
            }
            else
            {
                csp.AddScriptSrc().Self();
            }
        });

    /// <summary>
    /// A body in another charset than UTF-8 (RFC 8259 §8.1 allows no other for JSON) is refused with 415 before a
    /// reader throws on it (pen test M1.1: <c>charset=ebcdic</c>, <c>utf-7</c>).
    /// </summary>
    private static Task RefuseForeignCharsets(HttpContext http, RequestDelegate next)
    {
        // Any charset parameter at all, empty or "utf8" included (the JSON reader knows neither), unless it names UTF-8.
        MediaTypeHeaderValue? media = null;
        if (http.Request.ContentType is { Length: > 0 } type
            && MediaTypeHeaderValue.TryParse(type, out media)
            && media.Charset.HasValue
            && !HeaderUtilities.RemoveQuotes(media.Charset).Equals("utf-8", StringComparison.OrdinalIgnoreCase))
        {
            return Problems.Of(StatusCodes.Status415UnsupportedMediaType, ErrorCodes.UnsupportedCharset, "Send the body in UTF-8.")
                .ExecuteAsync(http);
        }
        if (media?.Charset.HasValue == true && media.Charset.Value![0] == '"')
        {
            // charset="utf-8" is valid (RFC 9110 §5.6.6) but the JSON reader looks the quoted name up as is.
            media.Charset = "utf-8";
            http.Request.ContentType = media.ToString();
        }
        return next(http);
    }

    /// <summary>
    /// A page request whose verb or handler name matches no handler (<c>TRACE /account</c>, a POST to a page without
    /// one) is answered 405 instead of rendering the page for a request it was not written for (pen test M1.6).
    /// </summary>
    private sealed class NoPageHandlerFilter : IAsyncPageFilter
    {
        public Task OnPageHandlerSelectionAsync(PageHandlerSelectedContext context) => Task.CompletedTask;

        public Task OnPageHandlerExecutionAsync(PageHandlerExecutingContext context, PageHandlerExecutionDelegate next)
        {
            var method = context.HttpContext.Request.Method;
            if (context.HandlerMethod is null && !HttpMethods.IsGet(method) && !HttpMethods.IsHead(method))
            {
                context.Result = new StatusCodeResult(StatusCodes.Status405MethodNotAllowed);
                return Task.CompletedTask;
            }
            return next();
        }
    }
}

/// <summary>
/// The last writer asked: a problem is always JSON, even for a client that only accepts HTML (pen test M1.2:
/// <c>Accept: text/html</c> made every bodiless error an empty 500, because no writer would take it).
/// </summary>
internal sealed class FallbackProblemWriter : IProblemDetailsWriter
{
    private static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web);

    public bool CanWrite(ProblemDetailsContext context) => true;

    public ValueTask WriteAsync(ProblemDetailsContext context)
    {
        var http = context.HttpContext;
        var problem = context.ProblemDetails;
        problem.Status ??= http.Response.StatusCode;
        return new ValueTask(http.Response.WriteAsJsonAsync(problem, Options, "application/problem+json"));
    }
}

/// <summary>
/// A body the form reader cannot parse (a multipart body without its boundary, too many fields) or one the
/// anti-forgery check cannot read its token from is the client's mistake: 400, not a 500 (found by the fuzzer).
/// </summary>
internal sealed class MalformedRequestHandler : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext http, Exception exception, CancellationToken ct)
    {
        if (exception is not (Microsoft.AspNetCore.Antiforgery.AntiforgeryValidationException or InvalidDataException))
        {
            return false;
        }
        await Problems.Of(StatusCodes.Status400BadRequest, ErrorCodes.InvalidRequest, "The request is not valid.",
            "Reload the page and try again.").ExecuteAsync(http);
        return true;
    }
}
