using System.Security.Claims;
using System.Text.Json.Serialization;
using Countersign.Audit;
using Countersign.Operations;
using Countersign.Storage;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace Countersign.Sessions;

public sealed record RefreshRequest(string? RefreshToken);

public sealed record TokenResponse(string AccessToken, string TokenType, int ExpiresIn, string RefreshToken);

public sealed record SessionView(Guid Id, string Kind, DateTimeOffset CreatedAt, DateTimeOffset LastUsedAt,
    DateTimeOffset ExpiresAt, string? ClientIp, string? UserAgent, bool Current);

public static class SessionsApi
{
    public static IEndpointRouteBuilder MapSessions(this IEndpointRouteBuilder app)
    {
        var auth = app.MapGroup("/api/auth").WithTags("Sessions");
        auth.MapPost("/refresh", Refresh).WithSummary("Exchange a refresh token for a new pair (rotation).");
        auth.MapPost("/logout", Logout).WithSummary("End the session a refresh token belongs to.");

        var me = app.MapGroup("/api/me/sessions").WithTags("Sessions").RequireAuthorization();
        me.MapGet("", List).WithSummary("The caller's live sessions.");
        me.MapDelete("/{id:guid}", Revoke).WithSummary("End one of the caller's sessions.");

        app.MapGet("/.well-known/jwks.json", (SigningKeys keys) => Results.Json(keys.Jwks(), contentType: "application/jwk-set+json"))
            .WithTags("Sessions").WithSummary("Public keys that verify access tokens (RFC 7517).");
        return app;
    }

    private static async Task<Results<Ok<TokenResponse>, ProblemHttpResult>> Refresh(
        [FromBody] RefreshRequest body, SessionService sessions, HttpContext http, CancellationToken ct)
    {
        if (string.IsNullOrEmpty(body.RefreshToken))
        {
            return Problems.InvalidRequest("refresh_token is required.", Problems.Missing(("refresh_token", body.RefreshToken)));
        }
        var pair = await sessions.RefreshAsync(body.RefreshToken, ClientInfo.From(http), ct);
        return pair is null
            ? Problems.Of(StatusCodes.Status401Unauthorized, ErrorCodes.InvalidGrant, "The refresh token is not valid.")
            : TypedResults.Ok(new TokenResponse(pair.AccessToken, "Bearer", pair.ExpiresIn, pair.RefreshToken));
    }

    /// <summary>Always 204 for a well-formed request, so logout reveals nothing about a token.</summary>
    private static async Task<Results<NoContent, ProblemHttpResult>> Logout(
        [FromBody] RefreshRequest body, SessionService sessions, CountersignDb db, AuditLog audit, HttpContext http, CancellationToken ct)
    {
        if (string.IsNullOrEmpty(body.RefreshToken))
        {
            return Problems.InvalidRequest("refresh_token is required.", Problems.Missing(("refresh_token", body.RefreshToken)));
        }
        if (await sessions.FindByRefreshTokenAsync(body.RefreshToken, ct) is { RevokedAt: null } family)
        {
            await using var tx = await db.Database.BeginTransactionAsync(ct);
            await sessions.RevokeFamilyAsync(family.Id, "logout", ct);
            audit.Add(db, new(AuditActions.Logout, family.UserId, null, ClientInfo.IpOf(http),
                AuditDetail.Of(new { session_id = family.Id })));
            await db.SaveChangesAsync(ct);
            await tx.CommitAsync(ct);
        }
        return TypedResults.NoContent();
    }

    private static async Task<Ok<List<SessionView>>> List(ClaimsPrincipal principal, SessionService sessions, CancellationToken ct)
    {
        var current = principal.SessionId();
        var families = await sessions.ListActiveAsync(principal.UserId(), ct);
        return TypedResults.Ok(families.Select(f => new SessionView(
            f.Id, f.Kind, f.CreatedAt, f.LastUsedAt, f.ExpiresAt, f.ClientIp, f.UserAgent, f.Id == current)).ToList());
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> Revoke(
        Guid id, ClaimsPrincipal principal, SessionService sessions, CountersignDb db, AuditLog audit, HttpContext http, CancellationToken ct)
    {
        var userId = principal.UserId();
        var mine = (await sessions.ListActiveAsync(userId, ct)).Any(f => f.Id == id);
        if (!mine)
        {
            return Problems.Of(StatusCodes.Status404NotFound, ErrorCodes.NotFound, "No such session.");
        }
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        await sessions.RevokeFamilyAsync(id, "revoked_by_user", ct);
        audit.Add(db, new(AuditActions.SessionRevoked, userId, principal.Identity?.Name, ClientInfo.IpOf(http),
            AuditDetail.Of(new { session_id = id })));
        await db.SaveChangesAsync(ct);
        await tx.CommitAsync(ct);
        return TypedResults.NoContent();
    }
}
