using Countersign.Secrets;
using Countersign.Sessions;
using Countersign.Storage;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;
using OpenIddict.Server;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace Countersign.Oidc;

/// <summary>
/// The OpenID Connect provider: OpenIddict's server with its EF Core stores in our database. The protocol is the
/// library's; the policy (who is signed in, consent, claims, which clients exist) is ours (OidcEndpoints, OidcClients).
/// </summary>
public static class OidcSetup
{
    public static IHostApplicationBuilder AddOidc(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<OidcOptions>().BindValidated(OidcOptions.Section);
        services.AddSingleton<IValidateOptions<OidcOptions>, OidcOptionsValidator>();
        services.AddScoped<OidcClients>();
        services.AddScoped<OidcPrincipals>();
        services.AddScoped<OidcFormTargets>();
        var options = builder.Configuration.ComposeTime<OidcOptions>(OidcOptions.Section);

        services.AddOpenIddict()
            .AddCore(core => core.UseEntityFrameworkCore().UseDbContext<CountersignDb>())
            .AddServer(server =>
            {
                server.SetAuthorizationEndpointUris("connect/authorize")
                    .SetPushedAuthorizationEndpointUris("connect/par")
                    .SetTokenEndpointUris("connect/token")
                    .SetUserInfoEndpointUris("connect/userinfo")
                    .SetIntrospectionEndpointUris("connect/introspect")
                    .SetRevocationEndpointUris("connect/revoke")
                    .SetEndSessionEndpointUris("connect/logout")
                    // The one JWKS, /.well-known/jwks.json (Sessions), lists every key live; see ConfigureServer.
                    .SetJsonWebKeySetEndpointUris(Array.Empty<Uri>());
                // No implicit, hybrid or password grants (RFC 9700 §2.1.2, §2.4).
                server.AllowAuthorizationCodeFlow().AllowRefreshTokenFlow().AllowClientCredentialsFlow();
                server.RequireProofKeyForCodeExchange();
                server.RegisterScopes(Scopes.OpenId, Scopes.Profile, Scopes.Email, Scopes.Roles, Scopes.OfflineAccess);
                server.RegisterClaims(Claims.Subject, Claims.Name, Claims.PreferredUsername, Claims.Email, Claims.EmailVerified, "roles",
                    Claims.AuthenticationMethodReference, Claims.AuthenticationTime, OidcPrincipals.SessionIdClaim);
                server.SetAuthorizationCodeLifetime(options.AuthorizationCodeLifetime)
                    .SetAccessTokenLifetime(options.AccessTokenLifetime)
                    .SetIdentityTokenLifetime(options.AccessTokenLifetime)
                    .SetRefreshTokenLifetime(options.RefreshTokenLifetime)
                    // A refresh token presented twice revokes its whole authorization at once, as the API's families do: no grace.
                    .SetRefreshTokenReuseLeeway(TimeSpan.Zero);
                if (options.RequirePushedAuthorizationRequests)
                {
                    server.RequirePushedAuthorizationRequests();
                }
                // Resource servers we do not run read the access token: a signed JWT (RFC 9068), not an encrypted one.
                server.DisableAccessTokenEncryption();
                var aspnet = server.UseAspNetCore()
                    .EnableAuthorizationEndpointPassthrough()
                    .EnableTokenEndpointPassthrough()
                    .EnableUserInfoEndpointPassthrough()
                    .EnableEndSessionEndpointPassthrough();
                if (options.Issuer?.Scheme != Uri.UriSchemeHttps)
                {
                    // Development on http://localhost only; an https issuer keeps OpenIddict's refusal of plain HTTP.
                    aspnet.DisableTransportSecurityRequirement();
                }
                server.AddEventHandler<OpenIddictServerEvents.HandleConfigurationRequestContext>(handler =>
                    handler.UseInlineHandler(context =>
                    {
                        context.JsonWebKeySetEndpoint = new Uri(context.BaseUri!, ".well-known/jwks.json");
                        return default;
                    }).SetOrder(int.MaxValue));
            });
        services.AddOptions<OpenIddictServerOptions>().Configure<SigningKeys, KeyMaterial, IOptions<OidcOptions>>(ConfigureServer);
        return builder;
    }

    /// <summary>
    /// Early in the pipeline, so that its response callback runs after the security headers' own (callbacks run last
    /// registered first) and finds the policy to widen (OidcFormTargets).
    /// </summary>
    public static WebApplication UseOidcFormTargets(this WebApplication app)
    {
        app.Use(OidcFormTargets.Middleware);
        return app;
    }

    /// <summary>
    /// Keys from our own stores, so every node signs and encrypts alike: the API's ES256 signing keys (newest first, which
    /// OpenIddict signs with; loaded at start, before the first request builds these options), and an AES key derived
    /// from the master key for the codes and refresh tokens OpenIddict encrypts.
    /// </summary>
    private static void ConfigureServer(OpenIddictServerOptions server, SigningKeys keys, KeyMaterial material, IOptions<OidcOptions> options)
    {
        server.Issuer = options.Value.Issuer;
        foreach (var key in keys.All.Reverse())
        {
            server.SigningCredentials.Add(new SigningCredentials(key, SecurityAlgorithms.EcdsaSha256));
        }
        server.EncryptionCredentials.Add(new EncryptingCredentials(new SymmetricSecurityKey(material.OidcEncryptionKey),
            SecurityAlgorithms.Aes256KW, SecurityAlgorithms.Aes256CbcHmacSha512));
        // A key another node added after this one started verifies here too, as it does for the API (Sessions/SigningKeys).
        server.TokenValidationParameters.IssuerSigningKeyResolver = (_, _, kid, _) => keys.Resolve(kid);
        // RFC 9700 §2.1.1: S256 only; "plain" would hand the verifier to anyone who sees the authorization request.
        server.CodeChallengeMethods.Clear();
        server.CodeChallengeMethods.Add(CodeChallengeMethods.Sha256);
    }
}
