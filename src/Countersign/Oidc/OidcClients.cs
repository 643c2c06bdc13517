using System.Security.Cryptography;
using System.Text.Json;
using System.Text.RegularExpressions;
using Countersign.Audit;
using Countersign.Storage;
using Microsoft.AspNetCore.WebUtilities;
using OpenIddict.Abstractions;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace Countersign.Oidc;

/// <summary>What an administrator decides about one application, beside its redirect URIs.</summary>
public sealed record ClientRequest(
    string Name,
    IReadOnlyList<string> RedirectUris,
    IReadOnlyList<string>? PostLogoutRedirectUris = null,
    bool Confidential = false,
    bool FirstParty = false,
    bool Pairwise = false,
    bool RequirePar = false,
    bool RequireMfa = false,
    bool ClientCredentials = false,
    string? DisplayName = null);

public sealed record ClientSummary(
    string Name,
    string DisplayName,
    bool Confidential,
    bool FirstParty,
    bool Pairwise,
    bool RequirePar,
    bool RequireMfa,
    bool ClientCredentials,
    IReadOnlyList<string> RedirectUris,
    IReadOnlyList<string> PostLogoutRedirectUris);

public enum ClientError { None, InvalidName, InvalidRedirectUri, NameTaken, UnknownClient, NeedsRedirectUri, PublicClientCredentials, NotConfidential }

/// <summary>
/// Countersign's own per-client policy, kept in the application's <c>properties</c> beside what OpenIddict stores
/// (type, consent type, permissions, requirements).
/// </summary>
public sealed record ClientPolicy(bool FirstParty, bool Pairwise, bool RequireMfa)
{
    public const string Property = "countersign";

    public static ClientPolicy Of(IReadOnlyDictionary<string, JsonElement> properties) =>
        properties.TryGetValue(Property, out var value) && value.ValueKind == JsonValueKind.Object
            ? new(Flag(value, "first_party"), Flag(value, "pairwise"), Flag(value, "require_mfa"))
            : new(false, false, false);

    public JsonElement ToJson() => JsonSerializer.SerializeToElement(new Dictionary<string, bool>
    {
        ["first_party"] = FirstParty, ["pairwise"] = Pairwise, ["require_mfa"] = RequireMfa,
    });

    private static bool Flag(JsonElement e, string name) => e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.True;
}

/// <summary>
/// OpenID Connect clients: the CLI's <c>clients</c> and <c>/api/admin/clients</c>, one service for both. Every change is
/// audited in the transaction that makes it. A confidential client's secret is shown once; OpenIddict keeps only a
/// salted PBKDF2 digest of it.
/// </summary>
public sealed partial class OidcClients(CountersignDb db, IOpenIddictApplicationManager applications, IOpenIddictAuthorizationManager authorizations,
    IOpenIddictTokenManager tokens, AuditLog audit)
{
    [GeneratedRegex("^[a-z0-9][a-z0-9._-]{0,63}$")]
    private static partial Regex NamePattern();

    public static string Describe(ClientError error) => error switch
    {
        ClientError.InvalidName => "A client name is 1–64 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit.",
        ClientError.InvalidRedirectUri => "Redirect URIs must be absolute https:// URLs without a fragment or wildcard (http:// only for localhost).",
        ClientError.NameTaken => "A client has that name already.",
        ClientError.UnknownClient => "No client has that name.",
        ClientError.NeedsRedirectUri => "Give at least one --redirect-uri, or --client-credentials for a machine client.",
        ClientError.PublicClientCredentials => "Only a confidential client can use client credentials (it needs a secret).",
        ClientError.NotConfidential => "That client is public: it has no secret to rotate.",
        _ => "",
    };

    /// <summary>
    /// RFC 9700 §4.1.1 and OAuth 2.1 §2.3.1: exact, registered, absolute redirect URIs. A wildcard or a fragment is
    /// refused here, and the server compares what a client sends with these strings exactly (no prefix match).
    /// </summary>
    public static bool IsValidRedirectUri(string value) =>
        Uri.TryCreate(value, UriKind.Absolute, out var uri)
        && uri.OriginalString == value
        && uri.Fragment.Length == 0
        && uri.UserInfo.Length == 0
        && !value.Contains('*', StringComparison.Ordinal)
        && (uri.Scheme == Uri.UriSchemeHttps || (uri.Scheme == Uri.UriSchemeHttp && uri.IsLoopback));

    public async Task<(ClientSummary? Client, string? Secret, ClientError Error)> AddAsync(ClientRequest request, string? actor, CancellationToken ct = default)
    {
        if (!NamePattern().IsMatch(request.Name)) return (null, null, ClientError.InvalidName);
        var postLogout = request.PostLogoutRedirectUris ?? [];
        if (request.RedirectUris.Concat(postLogout).Any(u => !IsValidRedirectUri(u))) return (null, null, ClientError.InvalidRedirectUri);
        if (request.RedirectUris.Count == 0 && !request.ClientCredentials) return (null, null, ClientError.NeedsRedirectUri);
        if (request.ClientCredentials && !request.Confidential) return (null, null, ClientError.PublicClientCredentials);
        if (await applications.FindByClientIdAsync(request.Name, ct) is not null) return (null, null, ClientError.NameTaken);

        var secret = request.Confidential ? NewSecret() : null;
        var descriptor = Describe(request, secret);
        await using (var tx = await db.Database.BeginTransactionAsync(ct))
        {
            audit.Add(db, new(AuditActions.OidcClientAdded, Detail: AuditDetail.Of(new
            {
                client = request.Name, confidential = request.Confidential, first_party = request.FirstParty, pairwise = request.Pairwise,
                require_par = request.RequirePar, require_mfa = request.RequireMfa, client_credentials = request.ClientCredentials,
                redirect_uris = request.RedirectUris, actor,
            })));
            // The manager saves the application, and with it the staged audit row, in this transaction.
            await applications.CreateAsync(descriptor, ct);
            await tx.CommitAsync(ct);
        }
        return (await ShowAsync(request.Name, ct), secret, ClientError.None);
    }

    private static OpenIddictApplicationDescriptor Describe(ClientRequest request, string? secret)
    {
        var descriptor = new OpenIddictApplicationDescriptor
        {
            ClientId = request.Name,
            ClientSecret = secret,
            ClientType = request.Confidential ? ClientTypes.Confidential : ClientTypes.Public,
            ApplicationType = ApplicationTypes.Web,
            DisplayName = string.IsNullOrWhiteSpace(request.DisplayName) ? request.Name : request.DisplayName.Trim(),
            // First-party applications skip the consent page; every other one asks once per user and scope set.
            ConsentType = request.FirstParty ? ConsentTypes.Implicit : ConsentTypes.Explicit,
        };
        descriptor.Properties[ClientPolicy.Property] = new ClientPolicy(request.FirstParty, request.Pairwise, request.RequireMfa).ToJson();
        foreach (var uri in request.RedirectUris)
        {
            descriptor.RedirectUris.Add(new Uri(uri));
        }
        foreach (var uri in request.PostLogoutRedirectUris ?? [])
        {
            descriptor.PostLogoutRedirectUris.Add(new Uri(uri));
        }
        if (request.RedirectUris.Count > 0)
        {
            descriptor.Permissions.UnionWith([
                Permissions.Endpoints.Authorization, Permissions.Endpoints.Token, Permissions.Endpoints.EndSession,
                Permissions.Endpoints.PushedAuthorization,
                Permissions.GrantTypes.AuthorizationCode, Permissions.GrantTypes.RefreshToken, Permissions.ResponseTypes.Code,
                Permissions.Scopes.Profile, Permissions.Scopes.Email, Permissions.Scopes.Roles,
            ]);
            // PKCE for every client, confidential ones too (RFC 9700 §2.1.1); S256 only (OidcSetup).
            descriptor.Requirements.Add(Requirements.Features.ProofKeyForCodeExchange);
        }
        if (request.RequirePar)
        {
            descriptor.Requirements.Add(Requirements.Features.PushedAuthorizationRequests);
        }
        if (request.ClientCredentials)
        {
            descriptor.Permissions.UnionWith([Permissions.Endpoints.Token, Permissions.GrantTypes.ClientCredentials]);
        }
        if (request.Confidential)
        {
            // RFC 7662 §2.1 and RFC 7009 §2.1: only an authenticated client may introspect or revoke.
            descriptor.Permissions.UnionWith([Permissions.Endpoints.Introspection, Permissions.Endpoints.Revocation]);
        }
        return descriptor;
    }

    public async Task<List<ClientSummary>> ListAsync(CancellationToken ct = default)
    {
        var all = new List<ClientSummary>();
        await foreach (var application in applications.ListAsync(count: null, offset: null, ct))
        {
            all.Add(await SummaryAsync(application, ct));
        }
        return [.. all.OrderBy(c => c.Name, StringComparer.Ordinal)];
    }

    public async Task<ClientSummary?> ShowAsync(string name, CancellationToken ct = default) =>
        NamePattern().IsMatch(name) && await applications.FindByClientIdAsync(name, ct) is { } application
            ? await SummaryAsync(application, ct)
            : null;

    /// <summary>Removes the client with every authorization and token it holds: its refresh tokens stop working at once.</summary>
    public async Task<bool> RemoveAsync(string name, string? actor, CancellationToken ct = default)
    {
        if (!NamePattern().IsMatch(name) || await applications.FindByClientIdAsync(name, ct) is not { } application)
        {
            return false;
        }
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        audit.Add(db, new(AuditActions.OidcClientRemoved, Detail: AuditDetail.Of(new { client = name, actor })));
        // OpenIddict's manager deletes the application's authorizations and tokens with it.
        await applications.DeleteAsync(application, ct);
        await tx.CommitAsync(ct);
        return true;
    }

    public async Task<(string? Secret, ClientError Error)> RotateSecretAsync(string name, string? actor, CancellationToken ct = default)
    {
        if (!NamePattern().IsMatch(name) || await applications.FindByClientIdAsync(name, ct) is not { } application)
        {
            return (null, ClientError.UnknownClient);
        }
        if (!await applications.HasClientTypeAsync(application, ClientTypes.Confidential, ct))
        {
            return (null, ClientError.NotConfidential);
        }
        var secret = NewSecret();
        var descriptor = new OpenIddictApplicationDescriptor();
        await applications.PopulateAsync(descriptor, application, ct);
        descriptor.ClientSecret = secret;
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        audit.Add(db, new(AuditActions.OidcClientSecretRotated, Detail: AuditDetail.Of(new { client = name, actor })));
        await applications.UpdateAsync(application, descriptor, ct);
        await tx.CommitAsync(ct);
        return (secret, ClientError.None);
    }

    private async Task<ClientSummary> SummaryAsync(object application, CancellationToken ct)
    {
        var policy = ClientPolicy.Of(await applications.GetPropertiesAsync(application, ct));
        var permissions = await applications.GetPermissionsAsync(application, ct);
        var requirements = await applications.GetRequirementsAsync(application, ct);
        return new ClientSummary(
            (await applications.GetClientIdAsync(application, ct))!,
            await applications.GetDisplayNameAsync(application, ct) ?? "",
            await applications.HasClientTypeAsync(application, ClientTypes.Confidential, ct),
            policy.FirstParty, policy.Pairwise,
            requirements.Contains(Requirements.Features.PushedAuthorizationRequests),
            policy.RequireMfa,
            permissions.Contains(Permissions.GrantTypes.ClientCredentials),
            [.. await applications.GetRedirectUrisAsync(application, ct)],
            [.. await applications.GetPostLogoutRedirectUrisAsync(application, ct)]);
    }

    /// <summary>256 random bits, base64url: nothing to guess, nothing for a dictionary.</summary>
    private static string NewSecret() => WebEncoders.Base64UrlEncode(RandomNumberGenerator.GetBytes(32));

    /// <summary>The permanent consents a user gave, for the account page's "Connected applications".</summary>
    public async Task<List<ConnectedApplication>> ConnectedAsync(Guid userId, CancellationToken ct = default)
    {
        var found = new List<ConnectedApplication>();
        await foreach (var authorization in authorizations.FindBySubjectAsync(userId.ToString(), ct))
        {
            if (!await authorizations.HasStatusAsync(authorization, Statuses.Valid, ct)
                || !await authorizations.HasTypeAsync(authorization, AuthorizationTypes.Permanent, ct)
                || await authorizations.GetApplicationIdAsync(authorization, ct) is not { } applicationId
                || await applications.FindByIdAsync(applicationId, ct) is not { } application)
            {
                continue;
            }
            found.Add(new ConnectedApplication(
                (await authorizations.GetIdAsync(authorization, ct))!,
                (await applications.GetClientIdAsync(application, ct))!,
                await applications.GetDisplayNameAsync(application, ct) ?? "",
                [.. await authorizations.GetScopesAsync(authorization, ct)],
                await authorizations.GetCreationDateAsync(authorization, ct)));
        }
        return found;
    }

    /// <summary>The scopes a consent page may show, with what each releases.</summary>
    public static readonly IReadOnlyDictionary<string, string> ScopeDescriptions = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        [Scopes.OpenId] = "Know who you are (an identifier for your account)",
        [Scopes.Profile] = "Your username",
        [Scopes.Email] = "Your email address",
        [Scopes.Roles] = "Your roles",
        [Scopes.OfflineAccess] = "Stay connected while you are away (refresh tokens)",
    };

    /// <summary>The application a consent page names, or null when the client does not exist or needs no consent.</summary>
    public async Task<string?> ConsentNameAsync(string? clientId, CancellationToken ct = default) =>
        clientId is not null && NamePattern().IsMatch(clientId) && await applications.FindByClientIdAsync(clientId, ct) is { } application
            && await applications.GetConsentTypeAsync(application, ct) == ConsentTypes.Explicit
                ? await applications.GetDisplayNameAsync(application, ct) ?? clientId
                : null;

    /// <summary>Records a user's consent to exactly the scopes the page showed; later requests for no more skip the page.</summary>
    public async Task<bool> GrantConsentAsync(Guid userId, string clientId, IReadOnlyList<string> scopes, string? clientIp, CancellationToken ct = default)
    {
        if (await applications.FindByClientIdAsync(clientId, ct) is not { } application || scopes.Any(s => !ScopeDescriptions.ContainsKey(s)))
        {
            return false;
        }
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        audit.Add(db, new(AuditActions.OidcConsentGranted, userId, ClientIp: clientIp, Detail: AuditDetail.Of(new { client = clientId, scopes })));
        await authorizations.CreateAsync(new System.Security.Claims.ClaimsIdentity(), userId.ToString(), (await applications.GetIdAsync(application, ct))!,
            AuthorizationTypes.Permanent, [.. scopes], ct);
        await tx.CommitAsync(ct);
        return true;
    }

    /// <summary>Withdraws a consent: the authorization and every token issued under it are revoked.</summary>
    public async Task<bool> RevokeConsentAsync(Guid userId, string authorizationId, string? clientIp, CancellationToken ct = default)
    {
        if (await authorizations.FindByIdAsync(authorizationId, ct) is not { } authorization
            || await authorizations.GetSubjectAsync(authorization, ct) != userId.ToString())
        {
            return false;
        }
        var client = await authorizations.GetApplicationIdAsync(authorization, ct) is { } applicationId
            && await applications.FindByIdAsync(applicationId, ct) is { } application
                ? await applications.GetClientIdAsync(application, ct)
                : null;
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        audit.Add(db, new(AuditActions.OidcConsentRevoked, userId, ClientIp: clientIp, Detail: AuditDetail.Of(new { client })));
        await authorizations.TryRevokeAsync(authorization, ct);
        await tokens.RevokeByAuthorizationIdAsync(authorizationId, ct);
        await db.SaveChangesAsync(ct);
        await tx.CommitAsync(ct);
        return true;
    }
}

public sealed record ConnectedApplication(string Id, string Client, string DisplayName, IReadOnlyList<string> Scopes, DateTimeOffset? GrantedAt);
