using Countersign.Operations;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;

namespace Countersign.Sessions;

public static class SessionsSetup
{
    /// <summary>Bearer tokens for <c>/api</c>; a cookie for the pages. Both end when their session family is revoked.</summary>
    public static IHostApplicationBuilder AddSessions(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<TokenOptions>().BindValidated(TokenOptions.Section);
        services.AddSingleton<IValidateOptions<TokenOptions>, TokenOptionsValidator>();
        services.AddSingleton<SigningKeys>();
        services.AddScoped<Secrets.IProtectedSecrets, SigningKeySecrets>();
        services.AddSingleton<AccessTokens>();
        services.AddScoped<SessionService>();
        services.AddSingleton<SessionLiveness>();
        services.AddHostedService(sp => sp.GetRequiredService<SessionLiveness>());
        services.AddScoped<Accounts.IAccountObserver>(sp => sp.GetRequiredService<SessionService>());
        services.AddSingleton<StepTokens>();

        services.AddAuthentication(Schemes.ByPath)
            // The API reads only bearer tokens, so a browser's cookie can never be ridden into it (no CSRF
            // on /api); pages read only the cookie.
            .AddPolicyScheme(Schemes.ByPath, "Bearer for /api, cookie for pages", o => o.ForwardDefaultSelector = http =>
                http.Request.Path.StartsWithSegments("/api") || (http.Request.Path.StartsWithSegments("/hubs") && HasBearer(http))
                    ? JwtBearerDefaults.AuthenticationScheme
                    : CookieAuthenticationDefaults.AuthenticationScheme)
            .AddJwtBearer()
            // Identity keeps a passkey ceremony's challenge in this short-lived cookie between options and result.
            .AddCookie(Microsoft.AspNetCore.Identity.IdentityConstants.TwoFactorUserIdScheme)
            .AddCookie(CookieAuthenticationDefaults.AuthenticationScheme);
        services.AddOptions<CookieAuthenticationOptions>(Microsoft.AspNetCore.Identity.IdentityConstants.TwoFactorUserIdScheme)
            .Configure<IOptions<TokenOptions>>((cookie, options) =>
            {
                var tokens = options.Value;
                cookie.Cookie.Name = tokens.InsecureDevCookies ? "countersign-passkey" : "__Host-countersign-passkey";
                cookie.Cookie.HttpOnly = true;
                cookie.Cookie.SameSite = SameSiteMode.Strict;
                cookie.Cookie.SecurePolicy = tokens.InsecureDevCookies ? CookieSecurePolicy.SameAsRequest : CookieSecurePolicy.Always;
                cookie.Cookie.Path = "/";
                cookie.ExpireTimeSpan = TimeSpan.FromMinutes(5);
            });
        services.AddOptions<CookieAuthenticationOptions>(CookieAuthenticationDefaults.AuthenticationScheme)
            .Configure<IOptions<TokenOptions>>((cookie, options) =>
            {
                var tokens = options.Value;
                // __Host- binds the cookie to this exact origin, path / and Secure (RFC 6265bis §4.1.3.2).
                // Chromium and Firefox treat http://localhost as secure, so development works unchanged.
                cookie.Cookie.Name = tokens.InsecureDevCookies ? "countersign-session" : "__Host-countersign";
                cookie.Cookie.HttpOnly = true;
                cookie.Cookie.SameSite = SameSiteMode.Lax;
                cookie.Cookie.SecurePolicy = tokens.InsecureDevCookies ? CookieSecurePolicy.SameAsRequest : CookieSecurePolicy.Always;
                cookie.Cookie.Path = "/";
                cookie.LoginPath = "/login";
                cookie.LogoutPath = "/logout";
                cookie.AccessDeniedPath = "/login";
                cookie.ExpireTimeSpan = tokens.BrowserIdleLifetime;
                cookie.SlidingExpiration = true;
                cookie.Events.OnValidatePrincipal = async context =>
                {
                    var sessions = context.HttpContext.RequestServices.GetRequiredService<SessionService>();
                    if (context.Principal?.SessionId() is not { } sid || !await sessions.IsActiveAsync(sid))
                    {
                        context.RejectPrincipal();
                        await context.HttpContext.SignOutAsync(CookieAuthenticationDefaults.AuthenticationScheme);
                    }
                };
            });
        services.AddOptions<JwtBearerOptions>(JwtBearerDefaults.AuthenticationScheme)
            .Configure<SigningKeys, IOptions<TokenOptions>, TimeProvider>((jwt, keys, options, time) =>
            {
                jwt.MapInboundClaims = false;
                jwt.TokenValidationParameters = new TokenValidationParameters
                {
                    ValidIssuer = options.Value.Issuer,
                    ValidAudience = options.Value.Audience,
                    ValidAlgorithms = [SecurityAlgorithms.EcdsaSha256],
                    IssuerSigningKeyResolver = (_, _, kid, _) => keys.Resolve(kid),
                    NameClaimType = "name",
                    RoleClaimType = "roles",
                    // The same clock that issued the token judges it (RFC 7519 §4.1.4, §4.1.5), with 30 s of skew.
                    LifetimeValidator = (notBefore, expires, _, _) =>
                    {
                        var now = time.GetUtcNow().UtcDateTime;
                        var skew = TimeSpan.FromSeconds(30);
                        return expires is { } exp && exp > now - skew && (notBefore is not { } nbf || nbf <= now + skew);
                    },
                };
                // Nothing reads the token back from the authentication properties (GetTokenAsync); saved, a hub connection
                // would keep a copy for its whole life.
                jwt.SaveToken = false;
                jwt.Events = new JwtBearerEvents
                {
                    // Browsers cannot set headers on a WebSocket, so SignalR clients send the token in the query (hubs only).
                    OnMessageReceived = context =>
                    {
                        if (context.HttpContext.Request.Path.StartsWithSegments("/hubs")
                            && context.Request.Query["access_token"].ToString() is { Length: > 0 } token)
                        {
                            context.Token = token;
                        }
                        return Task.CompletedTask;
                    },
                    // A signed token outlives a logout or a disabled account by up to its lifetime unless
                    // its session is checked; so it is, on every request (ASVS 7.4.1).
                    OnTokenValidated = async context =>
                    {
                        // In a scope of its own, not the request's: a hub connection's request lasts as long as the
                        // connection, and whatever its scope resolved (the session check leases a pooled DbContext) stayed
                        // held until it closed, the largest part of a hub connection's memory (docs/benchmarks.md, "Footprint").
                        await using var scope = context.HttpContext.RequestServices.GetRequiredService<IServiceScopeFactory>().CreateAsyncScope();
                        var sessions = scope.ServiceProvider.GetRequiredService<SessionService>();
                        if (context.Principal?.SessionId() is not { } sid || !await sessions.IsActiveAsync(sid))
                        {
                            context.Fail("The session has ended.");
                            return;
                        }
                        if (context.HttpContext.Request.Path.StartsWithSegments("/hubs"))
                        {
                            context.Principal = HubPrincipal.From(context.Principal);
                        }
                    },
                };
            });
        services.AddAuthorizationBuilder()
            .AddPolicy(Policies.Admin, p => p.AddAuthenticationSchemes(JwtBearerDefaults.AuthenticationScheme)
                .RequireAuthenticatedUser().RequireRole(Accounts.Roles.Admin))
            .AddPolicy(Policies.BrowserSession, p => p.AddAuthenticationSchemes(CookieAuthenticationDefaults.AuthenticationScheme)
                .RequireAuthenticatedUser())
            .AddPolicy(Policies.LiveSession, p => p.AddAuthenticationSchemes(Schemes.ByPath).RequireAuthenticatedUser());
        return builder;
    }

    private static bool HasBearer(HttpContext http) =>
        http.Request.Headers.Authorization.ToString().StartsWith("Bearer ", StringComparison.Ordinal)
        || http.Request.Query.ContainsKey("access_token");
}
