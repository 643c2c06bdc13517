using System.Security.Claims;
using Countersign.Audit;
using Countersign.Defences;
using Countersign.Operations;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;

namespace Countersign.Accounts;

public sealed record RegisterRequest(string? Username, string? Password, string? Email = null);

public sealed record RegisteredAccount(Guid Id, string Username);

public sealed record AccountView(Guid Id, string Username, string? Email, IList<string> Roles, string Language, DateTimeOffset CreatedAt);

public sealed record LanguageRequest(string? Language);

public static class AccountsApi
{
    public static IEndpointRouteBuilder MapAccounts(this IEndpointRouteBuilder app)
    {
        app.MapPost("/api/accounts", Register).RateLimited(Defences.RateLimitedRoute.Registration)
            .ProducesProblems(400, 403, 409, 429)
            .WithTags("Accounts").WithSummary("Create an account (self-registration).");
        app.MapGet("/api/me", Me).WithTags("Accounts").RequireAuthorization()
            .ProducesProblems(404)
            .WithSummary("The signed-in account.");
        app.MapPut("/api/me/language", SetLanguage).WithTags("Accounts").RequireAuthorization()
            .ProducesProblems(404)
            .WithSummary("The pages' language, en or fr; for a client also the language of their call-verification words.");
        return app;
    }

    private static async Task<Results<Created<RegisteredAccount>, ProblemHttpResult>> Register(
        [FromBody] RegisterRequest body, AccountAdmin accounts, IOptionsSnapshot<AccountsOptions> options, HttpContext http,
        CancellationToken ct)
    {
        if (!options.Value.SelfRegistration)
        {
            return Problems.Of(StatusCodes.Status403Forbidden, "registration_disabled", "Self-registration is turned off.");
        }
        if (string.IsNullOrWhiteSpace(body.Username) || string.IsNullOrEmpty(body.Password))
        {
            return Problems.InvalidRequest("username and password are required.",
                Problems.Missing(("username", body.Username?.Trim()), ("password", body.Password)));
        }
        // The request's language (Accept-Language, else the instance's), as the sign-up page does.
        var (user, result) = await accounts.CreateAsync(body.Username, body.Password, body.Email, [],
            AuditActions.Register, actor: null, ClientInfo.IpOf(http), Languages.Of(System.Globalization.CultureInfo.CurrentUICulture), alsoStage: null, ct);
        if (user is not null)
        {
            return TypedResults.Created($"/api/me", new RegisteredAccount(user.Id, user.UserName!));
        }
        if (result.Errors.Any(e => e.Code == nameof(IdentityErrorDescriber.DuplicateUserName)))
        {
            return Problems.Of(StatusCodes.Status409Conflict, "username_taken", "That username is already taken.");
        }
        var errors = result.Errors
            .GroupBy(e => e.Code.StartsWith("Password", StringComparison.Ordinal) ? "password" : e.Code.Contains("Email", StringComparison.Ordinal) ? "email" : "username")
            .ToDictionary(g => g.Key, g => g.Select(e => e.Description).ToArray());
        return Problems.Of(StatusCodes.Status400BadRequest, "policy_violation", "The account does not meet the policy.",
            string.Join(" ", result.Errors.Select(e => e.Description)),
            [new("errors", errors), new("codes", result.Errors.Select(e => e.Code).ToArray())]);
    }

    private static async Task<Results<Ok<AccountView>, ProblemHttpResult>> Me(ClaimsPrincipal principal, UserManager<User> users)
    {
        var user = await users.FindByIdAsync(principal.FindFirstValue("sub") ?? "");
        if (user is null)
        {
            return Problems.Of(StatusCodes.Status404NotFound, "not_found", "The account no longer exists.");
        }
        return TypedResults.Ok(new AccountView(user.Id, user.UserName!, user.Email, await users.GetRolesAsync(user), user.Language, user.CreatedAt));
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> SetLanguage([FromBody] LanguageRequest body, ClaimsPrincipal principal,
        UserManager<User> users, AccountAdmin accounts, CancellationToken ct)
    {
        if (await users.FindByIdAsync(principal.FindFirstValue("sub") ?? "") is not { } user)
        {
            return Problems.Of(StatusCodes.Status404NotFound, "not_found", "The account no longer exists.");
        }
        return await accounts.SetLanguageAsync(user, body.Language?.Trim().ToLowerInvariant() ?? "", ct)
            ? TypedResults.NoContent()
            : Problems.InvalidRequest($"language must be one of: {string.Join(", ", Languages.Supported)}.",
                new Dictionary<string, string[]> { ["language"] = ["Unsupported language."] });
    }
}
