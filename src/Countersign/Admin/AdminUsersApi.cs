using System.Security.Claims;
using Countersign.Accounts;
using Countersign.Operations;
using Countersign.Sessions;
using Countersign.Totp;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Mvc;

namespace Countersign.Admin;

/// <summary>A new account; <c>language</c> (en, fr) defaults to the instance's (<c>Accounts:DefaultLanguage</c>).</summary>
public sealed record CreateUserRequest(string? Username, string? Email = null, string[]? Roles = null, string? Language = null);

/// <summary>The new account and its one-time password, shown this once: the user must choose another at the first sign-in.</summary>
public sealed record CreatedUser(Guid Id, string Username, string OneTimePassword);

public sealed record DriftRequest(string? Code, int Window = 3);

/// <summary>Where the code matched: <c>offset_steps</c> steps of 30 s from the server's clock (negative: the phone is slow).</summary>
public sealed record DriftResult(bool Matched, int? OffsetSteps, int? OffsetSeconds, int Window);

public sealed record AdminSessionView(Guid Id, string Kind, DateTimeOffset CreatedAt, DateTimeOffset LastUsedAt, DateTimeOffset ExpiresAt,
    string? ClientIp, string? UserAgent);

/// <summary>
/// <c>/api/admin/users</c>: the same services as the CLI (<c>countersign users</c>) and the console (<c>/admin/users</c>), for
/// automation. Every change is audited with the administrator's name; the last administrator keeps the role.
/// </summary>
public static class AdminUsersApi
{
    public static IEndpointRouteBuilder MapAdmin(this IEndpointRouteBuilder app)
    {
        var users = app.MapGroup("/api/admin/users").WithTags("Administration").RequireAuthorization(Policies.Admin);
        users.MapGet("", List).WithSummary("Accounts in username order; search is a username prefix; page with after=<next_after>.");
        users.MapPost("", Create).ProducesProblems(409)
            .WithSummary("Create an account with a one-time password (returned once) that must be changed at the first sign-in.");
        users.MapGet("/{id:guid}", Show).ProducesProblems(404).WithSummary("One account: roles, status and second factors.");
        users.MapPost("/{id:guid}/disable", Disable).ProducesProblems(404, 409)
            .WithSummary("Disable the account and end its sessions; refused for the last enabled administrator.");
        users.MapPost("/{id:guid}/enable", Enable).ProducesProblems(404).WithSummary("Enable a disabled account.");
        users.MapPut("/{id:guid}/roles/{role}", AddRole).ProducesProblems(404).WithSummary("Give the account a role (admin, advisor, client).");
        users.MapDelete("/{id:guid}/roles/{role}", RemoveRole).ProducesProblems(404, 409)
            .WithSummary("Take a role from the account; taking admin from the last enabled administrator is refused.");
        users.MapDelete("/{id:guid}/second-factors", ResetSecondFactors).ProducesProblems(404)
            .WithSummary("Remove the authenticator app, recovery codes and passkeys, and end the account's sessions.");
        users.MapGet("/{id:guid}/sessions", Sessions).ProducesProblems(404).WithSummary("The account's live sessions.");
        users.MapDelete("/{id:guid}/sessions/{sessionId:guid}", RevokeSession).ProducesProblems(404).WithSummary("End one of the account's sessions.");
        users.MapDelete("/{id:guid}/sessions", RevokeSessions).ProducesProblems(404).WithSummary("End every session of the account.");
        users.MapPost("/{id:guid}/totp/drift", Drift).ProducesProblems(404, 409)
            .WithSummary("Which time step within ±window (at most 10) a code the user reads out matches, without spending it (audited).");
        return app;
    }

    private static string? Actor(ClaimsPrincipal principal) => principal.Identity?.Name;

    private static ProblemHttpResult NoSuchUser() => Problems.Of(StatusCodes.Status404NotFound, ErrorCodes.NotFound, "No such account.");

    /// <summary>The refusal every interface gives (docs/errors.md).</summary>
    public static ProblemHttpResult LastAdministrator() => Problems.Of(StatusCodes.Status409Conflict, ErrorCodes.LastAdministrator,
        "That would leave no enabled administrator.", "Give another account the admin role first.");

    private static async Task<Ok<UserPage>> List(UserDirectory directory, string? search, string? after, int? limit, CancellationToken ct) =>
        TypedResults.Ok(await directory.ListAsync(search, after, limit ?? 50, ct));

    private static async Task<Results<Created<CreatedUser>, ProblemHttpResult>> Create([FromBody] CreateUserRequest body, AccountAdmin accounts,
        ClaimsPrincipal principal, HttpContext http, CancellationToken ct)
    {
        if (string.IsNullOrWhiteSpace(body.Username))
        {
            return Problems.InvalidRequest("username is required.", Problems.Missing(("username", body.Username)));
        }
        var roles = (body.Roles ?? []).Select(r => r?.Trim().ToLowerInvariant() ?? "").Distinct().ToList();
        if (roles.FirstOrDefault(r => !Roles.All.Contains(r)) is { } unknown)
        {
            return InvalidRole(unknown);
        }
        if (body.Email is { Length: > 256 })
        {
            return Problems.InvalidRequest("email is too long.", new Dictionary<string, string[]> { ["email"] = ["At most 256 characters."] });
        }
        var language = body.Language?.Trim().ToLowerInvariant();
        if (language is not null && !Languages.Supported.Contains(language))
        {
            return Problems.InvalidRequest($"language must be one of: {string.Join(", ", Languages.Supported)}.",
                new Dictionary<string, string[]> { ["language"] = [$"One of: {string.Join(", ", Languages.Supported)}."] });
        }
        var (user, password, result) = await accounts.CreateWithOneTimePasswordAsync(body.Username, body.Email, roles, Actor(principal),
            ClientInfo.IpOf(http), language, ct);
        if (user is not null)
        {
            return TypedResults.Created($"/api/admin/users/{user.Id}", new CreatedUser(user.Id, user.UserName!, password!));
        }
        if (result.Errors.Any(e => e.Code == nameof(IdentityErrorDescriber.DuplicateUserName)))
        {
            return Problems.Of(StatusCodes.Status409Conflict, ErrorCodes.UsernameTaken, "That username is already taken.");
        }
        return Problems.Of(StatusCodes.Status400BadRequest, ErrorCodes.PolicyViolation, "The account does not meet the policy.",
            string.Join(" ", result.Errors.Select(e => e.Description)), [new("codes", result.Errors.Select(e => e.Code).ToArray())]);
    }

    private static ProblemHttpResult InvalidRole(string role) => Problems.Of(StatusCodes.Status400BadRequest, ErrorCodes.InvalidRole,
        "No such role.", $"Roles are {string.Join(", ", Roles.All)}; not '{(role.Length > 32 ? role[..32] + "…" : role)}'.");

    private static async Task<Results<Ok<UserDetail>, ProblemHttpResult>> Show(Guid id, UserDirectory directory, CancellationToken ct) =>
        await directory.FindAsync(id, ct) is { } user ? TypedResults.Ok(await directory.DetailAsync(user, ct)) : NoSuchUser();

    private static async Task<Results<NoContent, ProblemHttpResult>> Disable(Guid id, UserDirectory directory, AccountAdmin accounts,
        ClaimsPrincipal principal, CancellationToken ct)
    {
        if (await directory.FindAsync(id, ct) is not { } user)
        {
            return NoSuchUser();
        }
        return await accounts.SetDisabledAsync(user, true, Actor(principal), ct) ? TypedResults.NoContent() : LastAdministrator();
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> Enable(Guid id, UserDirectory directory, AccountAdmin accounts,
        ClaimsPrincipal principal, CancellationToken ct)
    {
        if (await directory.FindAsync(id, ct) is not { } user)
        {
            return NoSuchUser();
        }
        await accounts.SetDisabledAsync(user, false, Actor(principal), ct);
        return TypedResults.NoContent();
    }

    private static Task<Results<NoContent, ProblemHttpResult>> AddRole(Guid id, string role, UserDirectory directory, AccountAdmin accounts,
        UserManager<User> manager, ClaimsPrincipal principal, CancellationToken ct) =>
        WithRoleAsync(id, role, directory, async (user, role) =>
        {
            if (!await manager.IsInRoleAsync(user, role))
            {
                await accounts.AddRoleAsync(user, role, Actor(principal), ct);
            }
            return TypedResults.NoContent();
        }, ct);

    private static Task<Results<NoContent, ProblemHttpResult>> RemoveRole(Guid id, string role, UserDirectory directory, AccountAdmin accounts,
        UserManager<User> manager, ClaimsPrincipal principal, CancellationToken ct) =>
        WithRoleAsync(id, role, directory, async (user, role) =>
            await manager.IsInRoleAsync(user, role) && !await accounts.RemoveRoleAsync(user, role, Actor(principal), ct)
                ? LastAdministrator()
                : TypedResults.NoContent(), ct);

    /// <summary>What both role changes check first: a known role (case-insensitive) and an existing account, in that order.</summary>
    private static async Task<Results<NoContent, ProblemHttpResult>> WithRoleAsync(Guid id, string role, UserDirectory directory,
        Func<User, string, Task<Results<NoContent, ProblemHttpResult>>> change, CancellationToken ct)
    {
        role = role.Trim().ToLowerInvariant();
        if (!Roles.All.Contains(role))
        {
            return InvalidRole(role);
        }
        return await directory.FindAsync(id, ct) is { } user ? await change(user, role) : NoSuchUser();
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> ResetSecondFactors(Guid id, UserDirectory directory, SecondFactorAdmin factors,
        ClaimsPrincipal principal, HttpContext http, CancellationToken ct)
    {
        if (await directory.FindAsync(id, ct) is not { } user)
        {
            return NoSuchUser();
        }
        // An administrator's own session survives a reset of their own factors only if it is this request's: a bearer token is.
        var keep = user.Id == principal.UserId() ? principal.SessionId() : null;
        await factors.RemoveAsync(user, "admin_api", keep, ClientInfo.From(http), passkeysToo: true, Actor(principal), ct);
        return TypedResults.NoContent();
    }

    private static async Task<Results<Ok<List<AdminSessionView>>, ProblemHttpResult>> Sessions(Guid id, UserDirectory directory,
        SessionService sessions, CancellationToken ct)
    {
        if (await directory.FindAsync(id, ct) is not { } user)
        {
            return NoSuchUser();
        }
        return TypedResults.Ok((await sessions.ListActiveAsync(user.Id, ct))
            .Select(f => new AdminSessionView(f.Id, f.Kind, f.CreatedAt, f.LastUsedAt, f.ExpiresAt, f.ClientIp, f.UserAgent)).ToList());
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> RevokeSession(Guid id, Guid sessionId, UserDirectory directory, AdminUsers admin,
        ClaimsPrincipal principal, HttpContext http, CancellationToken ct)
    {
        if (await directory.FindAsync(id, ct) is not { } user)
        {
            return NoSuchUser();
        }
        return await admin.RevokeSessionAsync(user, sessionId, Actor(principal), ClientInfo.IpOf(http), ct)
            ? TypedResults.NoContent()
            : Problems.Of(StatusCodes.Status404NotFound, ErrorCodes.NotFound, "No such live session of this account.");
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> RevokeSessions(Guid id, UserDirectory directory, AdminUsers admin,
        ClaimsPrincipal principal, HttpContext http, CancellationToken ct)
    {
        if (await directory.FindAsync(id, ct) is not { } user)
        {
            return NoSuchUser();
        }
        await admin.RevokeAllSessionsAsync(user, Actor(principal), ClientInfo.IpOf(http), ct);
        return TypedResults.NoContent();
    }

    private static async Task<Results<Ok<DriftResult>, ProblemHttpResult>> Drift(Guid id, [FromBody] DriftRequest body, UserDirectory directory,
        AdminUsers admin, ClaimsPrincipal principal, HttpContext http, CancellationToken ct)
    {
        if (string.IsNullOrWhiteSpace(body.Code) || body.Code.Length > 32)
        {
            return Problems.InvalidRequest("code is required (the six digits the user reads out).", new Dictionary<string, string[]> { ["code"] = ["Six digits."] });
        }
        if (body.Window is < 0 or > AdminUsers.MaxDriftWindow)
        {
            return Problems.InvalidRequest($"window is 0 to {AdminUsers.MaxDriftWindow} steps.", new Dictionary<string, string[]> { ["window"] = ["0 to 10."] });
        }
        if (await directory.FindAsync(id, ct) is not { } user)
        {
            return NoSuchUser();
        }
        var (enrolled, offset) = await admin.DriftAsync(user, body.Code, body.Window, Actor(principal), ClientInfo.IpOf(http), ct);
        if (!enrolled)
        {
            return Problems.Of(StatusCodes.Status409Conflict, ErrorCodes.NoAuthenticator, "The account has no active authenticator app.");
        }
        return TypedResults.Ok(new DriftResult(offset is not null, offset, offset * Rfc6238.Period, body.Window));
    }
}
