using System.Security.Claims;
using Countersign.Operations;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace Countersign.Oidc;

public sealed record AddClientRequest(
    string? Name,
    string[]? RedirectUris,
    string[]? PostLogoutRedirectUris = null,
    bool Confidential = false,
    bool FirstParty = false,
    bool Pairwise = false,
    bool RequirePar = false,
    bool RequireMfa = false,
    bool ClientCredentials = false,
    string? DisplayName = null);

public sealed record CreatedClient(ClientSummary Client, string? ClientSecret);

public sealed record ClientSecret(string Secret);

/// <summary><c>/api/admin/clients</c>: the CLI's <c>clients</c> for automation, on the same service.</summary>
public static class OidcClientsApi
{
    public static IEndpointRouteBuilder MapOidcClients(this IEndpointRouteBuilder app)
    {
        var clients = app.MapGroup("/api/admin/clients").WithTags("OpenID Connect").RequireAuthorization(Policies.Admin);
        clients.MapGet("", async (OidcClients admin, CancellationToken ct) => TypedResults.Ok(await admin.ListAsync(ct)))
            .WithSummary("Every registered application.");
        clients.MapGet("/{name}", async Task<Results<Ok<ClientSummary>, ProblemHttpResult>> (string name, OidcClients admin, CancellationToken ct) =>
                await admin.ShowAsync(name, ct) is { } client ? TypedResults.Ok(client) : Refused(ClientError.UnknownClient))
            .ProducesProblems(404);
        clients.MapPost("", Add).ProducesProblems(400, 409)
            .WithSummary("Register an application; a confidential client's secret is in this answer only (stored hashed).");
        clients.MapDelete("/{name}", async Task<Results<NoContent, ProblemHttpResult>> (string name, OidcClients admin, ClaimsPrincipal user, CancellationToken ct) =>
                await admin.RemoveAsync(name, user.Identity?.Name, ct) ? TypedResults.NoContent() : Refused(ClientError.UnknownClient))
            .ProducesProblems(404).WithSummary("Remove an application with its consents and tokens.");
        clients.MapPost("/{name}/rotate-secret", async Task<Results<Ok<ClientSecret>, ProblemHttpResult>> (string name, OidcClients admin, ClaimsPrincipal user,
                CancellationToken ct) =>
                await admin.RotateSecretAsync(name, user.Identity?.Name, ct) is var (secret, error) && secret is not null
                    ? TypedResults.Ok(new ClientSecret(secret)) : Refused(error))
            .ProducesProblems(400, 404).WithSummary("A new secret for a confidential application; the old one stops working at once.");
        return app;
    }

    private static async Task<Results<Created<CreatedClient>, ProblemHttpResult>> Add([FromBody] AddClientRequest body, OidcClients admin,
        ClaimsPrincipal user, CancellationToken ct)
    {
        if (string.IsNullOrWhiteSpace(body.Name))
        {
            return Problems.InvalidRequest("name is required.", Problems.Missing(("name", body.Name)));
        }
        var (client, secret, error) = await admin.AddAsync(new ClientRequest(body.Name, body.RedirectUris ?? [], body.PostLogoutRedirectUris ?? [],
            body.Confidential, body.FirstParty, body.Pairwise, body.RequirePar, body.RequireMfa, body.ClientCredentials, body.DisplayName), user.Identity?.Name, ct);
        return client is null ? Refused(error) : TypedResults.Created($"/api/admin/clients/{client.Name}", new CreatedClient(client, secret));
    }

    private static ProblemHttpResult Refused(ClientError error) => error switch
    {
        ClientError.UnknownClient => Problems.Of(StatusCodes.Status404NotFound, ErrorCodes.NotFound, OidcClients.Describe(error)),
        ClientError.NameTaken => Problems.Of(StatusCodes.Status409Conflict, ErrorCodes.ClientExists, OidcClients.Describe(error)),
        _ => Problems.Of(StatusCodes.Status400BadRequest, ErrorCodes.InvalidClient, OidcClients.Describe(error)),
    };
}
