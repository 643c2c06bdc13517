using System.Security.Claims;
using System.Text.Json.Serialization;
using Countersign.Audit;
using Countersign.Defences;
using Countersign.Operations;
using Countersign.Storage;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace Countersign.Sessions;

/// <summary>
/// <c>captcha</c> is the base64 payload of a solved proof-of-work challenge, when one is asked for;
/// <c>totp_code</c> or <c>recovery_code</c> is the second factor, when a 417 asked for one.
/// </summary>
public sealed record LoginRequest(string? Username, string? Password, string? Captcha = null, string? TotpCode = null, string? RecoveryCode = null);

public sealed record RefreshRequest(string? RefreshToken);

public sealed record TokenResponse(string AccessToken, string TokenType, int ExpiresIn, string RefreshToken);

public sealed record SessionView(Guid Id, string Kind, DateTimeOffset CreatedAt, DateTimeOffset LastUsedAt,
    DateTimeOffset ExpiresAt, string? ClientIp, string? UserAgent, bool Current);

public static class SessionsApi
{
    public static IEndpointRouteBuilder MapSessions(this IEndpointRouteBuilder app)
    {
        var auth = app.MapGroup("/api/auth").WithTags("Sessions");
        auth.MapPost("/login", Login).RateLimited(RateLimitedRoute.Login)
            .ProducesProblems(400, 401, 417, 423, 428, 429)
            .WithSummary("Sign in with a username and password (and a second factor when 417 asks for one); returns tokens. " +
                "400 wrong second factor, 423 locked, 428 proof of work needed, 429 rate limited.");
        auth.MapPost("/refresh", Refresh)
            .ProducesProblems(401)
            .WithSummary("Exchange a refresh token for a new pair (rotation).");
        auth.MapPost("/logout", Logout).WithSummary("End the session a refresh token belongs to.");

        var me = app.MapGroup("/api/me/sessions").WithTags("Sessions").RequireAuthorization();
        me.MapGet("", List).WithSummary("The caller's live sessions.");
        me.MapDelete("/{id:guid}", Revoke)
            .ProducesProblems(404)
            .WithSummary("End one of the caller's sessions.");

        app.MapGet("/.well-known/jwks.json", (SigningKeys keys) => Results.Json(keys.Jwks(), contentType: "application/jwk-set+json"))
            .WithTags("Sessions").WithSummary("Public keys that verify access tokens (RFC 7517).");
        return app;
    }

    private static async Task<Results<Ok<TokenResponse>, ProblemHttpResult>> Login(
        [FromBody] LoginRequest body, PasswordLogin login, Captcha captcha, RateLimiter limiter, TimeProvider time, HttpContext http,
        CancellationToken ct)
    {
        if (string.IsNullOrEmpty(body.Username) || string.IsNullOrEmpty(body.Password))
        {
            return Problems.InvalidRequest("username and password are required.", Missing(("username", body.Username), ("password", body.Password)));
        }
        if ((body.TotpCode ?? body.RecoveryCode) is not null
            && await limiter.HitAsync(RateLimitedRoute.SecondFactor, http.Connection.RemoteIpAddress?.ToString()) is { } wait)
        {
            return RateLimitExtensions.TooManyRequests(http, wait);
        }
        var result = await login.SignInAsync(new LoginAttempt(body.Username, body.Password, body.Captcha, body.TotpCode, body.RecoveryCode),
            SessionKinds.Api, ClientInfo.From(http), ct);
        switch (result.Outcome)
        {
            case LoginOutcome.SecondFactorRequired:
                return Problems.Of(StatusCodes.Status417ExpectationFailed, "mfa_required",
                    "A second factor is needed: send the password again with totp_code or recovery_code.",
                    extensions: [new("methods", result.Methods)]);
            case LoginOutcome.InvalidSecondFactor:
                return Problems.Of(StatusCodes.Status400BadRequest, "invalid_mfa_code", "The code is not valid.");
            case LoginOutcome.Succeeded:
                var t = result.Tokens!;
                return TypedResults.Ok(new TokenResponse(t.AccessToken, "Bearer", t.ExpiresIn, t.RefreshToken));
            case LoginOutcome.Locked:
                var seconds = (int)Math.Ceiling(((result.LockedUntil ?? time.GetUtcNow()) - time.GetUtcNow()).TotalSeconds);
                http.Response.Headers.RetryAfter = Math.Max(seconds, 1).ToString(System.Globalization.CultureInfo.InvariantCulture);
                return Problems.Of(StatusCodes.Status423Locked, "account_locked",
                    "Too many failed attempts for this username. Wait, or solve the proof-of-work challenge and try again.",
                    extensions: [new("retry_after_seconds", Math.Max(seconds, 1)), new("captcha", captcha.Create())]);
            case LoginOutcome.CaptchaRequired:
                return Problems.Of(StatusCodes.Status428PreconditionRequired, "captcha_required",
                    "Solve the proof-of-work challenge and send the solution in captcha.",
                    extensions: [new("captcha", captcha.Create())]);
            default:
                return Problems.InvalidCredentials();
        }
    }

    private static async Task<Results<Ok<TokenResponse>, ProblemHttpResult>> Refresh(
        [FromBody] RefreshRequest body, SessionService sessions, HttpContext http, CancellationToken ct)
    {
        if (string.IsNullOrEmpty(body.RefreshToken))
        {
            return Problems.InvalidRequest("refresh_token is required.", Missing(("refresh_token", body.RefreshToken)));
        }
        var pair = await sessions.RefreshAsync(body.RefreshToken, ClientInfo.From(http), ct);
        return pair is null
            ? Problems.Of(StatusCodes.Status401Unauthorized, "invalid_grant", "The refresh token is not valid.")
            : TypedResults.Ok(new TokenResponse(pair.AccessToken, "Bearer", pair.ExpiresIn, pair.RefreshToken));
    }

    /// <summary>Always 204 for a well-formed request, so logout reveals nothing about a token.</summary>
    private static async Task<Results<NoContent, ProblemHttpResult>> Logout(
        [FromBody] RefreshRequest body, SessionService sessions, CountersignDb db, AuditLog audit, HttpContext http, CancellationToken ct)
    {
        if (string.IsNullOrEmpty(body.RefreshToken))
        {
            return Problems.InvalidRequest("refresh_token is required.", Missing(("refresh_token", body.RefreshToken)));
        }
        if (await sessions.FindByRefreshTokenAsync(body.RefreshToken, ct) is { RevokedAt: null } family)
        {
            await using var tx = await db.Database.BeginTransactionAsync(ct);
            await sessions.RevokeFamilyAsync(family.Id, "logout", ct);
            await audit.RecordAsync(db, new(AuditActions.Logout, family.UserId, null, http.Connection.RemoteIpAddress?.ToString(),
                SessionService.Detail(new { session_id = family.Id })), ct);
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
            return Problems.Of(StatusCodes.Status404NotFound, "not_found", "No such session.");
        }
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        await sessions.RevokeFamilyAsync(id, "revoked_by_user", ct);
        await audit.RecordAsync(db, new(AuditActions.SessionRevoked, userId, principal.Identity?.Name, http.Connection.RemoteIpAddress?.ToString(),
            SessionService.Detail(new { session_id = id })), ct);
        await tx.CommitAsync(ct);
        return TypedResults.NoContent();
    }

    internal static Dictionary<string, string[]> Missing(params (string Name, string? Value)[] fields) =>
        fields.Where(f => string.IsNullOrEmpty(f.Value)).ToDictionary(f => f.Name, _ => Required);

    private static readonly string[] Required = ["This field is required."];
}

public static class PrincipalExtensions
{
    public static Guid UserId(this ClaimsPrincipal principal) =>
        Guid.Parse(principal.FindFirstValue("sub") ?? throw new InvalidOperationException("No sub claim."));

    public static Guid? SessionId(this ClaimsPrincipal principal) =>
        Guid.TryParse(principal.FindFirstValue("sid"), out var sid) ? sid : null;
}
