using System.Security.Claims;
using Countersign.Operations;
using Countersign.Sessions;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;

namespace Countersign.CallVerification;

public sealed record VerifyRequest(string? Word);

public sealed record VerifyResult(bool Match);

public sealed record CreatePairRequest(string? Advisor, string? Client);

public static class CallsApi
{
    public static IEndpointRouteBuilder MapCalls(this IEndpointRouteBuilder app)
    {
        var calls = app.MapGroup("/api/calls/pairs").WithTags("Call verification").RequireAuthorization();
        calls.MapGet("", List).WithSummary("For a client, their advisors; for an advisor, their clients: both current words, window end, calling flag.");
        calls.MapPost("/{id:guid}/verify", Verify)
            .ProducesProblems(404)
            .WithSummary("Check the word the counterpart spoke; every result is audited.");
        calls.MapPost("/{id:guid}/call", StartCall)
            .ProducesProblems(404)
            .RequireAuthorization(p => p.RequireRole(Accounts.Roles.Advisor))
            .WithSummary("The advisor marks \"I am calling this client now\" (10 minutes).");
        calls.MapDelete("/{id:guid}/call", EndCall)
            .ProducesProblems(404)
            .RequireAuthorization(p => p.RequireRole(Accounts.Roles.Advisor))
            .WithSummary("The advisor ends the call mark.");

        var admin = app.MapGroup("/api/admin/pairs").WithTags("Call verification").RequireAuthorization(Policies.Admin);
        admin.MapGet("", async (PairService pairs, CancellationToken ct) => TypedResults.Ok(await pairs.ListAsync(ct)));
        // A connection ends when the token or cookie that opened it expires; apps reconnect with a fresh token.
        app.MapHub<CallsHub>(CallsHub.Path, o => o.CloseOnAuthenticationExpiration = true);
        admin.MapPost("", Create)
            .ProducesProblems(409)
            .WithSummary("Pair an advisor with a client; the pair's secret is generated and stored encrypted.");
        admin.MapDelete("/{id:guid}", async Task<Results<NoContent, ProblemHttpResult>> (Guid id, PairService pairs, ClaimsPrincipal user, CancellationToken ct) =>
            await pairs.RemoveAsync(id, user.Identity?.Name, ct) ? TypedResults.NoContent() : NotFound())
            .ProducesProblems(404);
        return app;
    }

    private static async Task<Ok<List<PairView>>> List(ClaimsPrincipal user, PairService pairs, string? search, int? page, int? size, CancellationToken ct)
    {
        var take = Math.Clamp(size ?? 50, 1, 200);
        var skip = Math.Max(0, (page ?? 1) - 1) * take;
        return TypedResults.Ok(await pairs.ForUserAsync(user.UserId(), search, skip, take, ct));
    }

    private static async Task<Results<Ok<VerifyResult>, ProblemHttpResult>> Verify(Guid id, [FromBody] VerifyRequest body, ClaimsPrincipal user,
        CallNotices notices, HttpContext http, CancellationToken ct)
    {
        if (string.IsNullOrWhiteSpace(body.Word))
        {
            return Problems.InvalidRequest("word is required.", Problems.Missing(("word", body.Word)));
        }
        return await notices.VerifyAsync(user.UserId(), user.Identity?.Name, id, body.Word, ClientInfo.IpOf(http), ct) is { } match
            ? TypedResults.Ok(new VerifyResult(match))
            : NotFound();
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> StartCall(Guid id, ClaimsPrincipal user, CallNotices notices, CancellationToken ct) =>
        await notices.StartCallAsync(user.UserId(), user.Identity?.Name, id, ct) ? TypedResults.NoContent() : NotFound();

    private static async Task<Results<NoContent, ProblemHttpResult>> EndCall(Guid id, ClaimsPrincipal user, CallNotices notices, CancellationToken ct) =>
        await notices.EndCallAsync(user.UserId(), user.Identity?.Name, id, ct) ? TypedResults.NoContent() : NotFound();

    private static async Task<Results<Created<PairSummary>, ProblemHttpResult>> Create([FromBody] CreatePairRequest body, PairService pairs,
        ClaimsPrincipal user, CancellationToken ct)
    {
        if (string.IsNullOrWhiteSpace(body.Advisor) || string.IsNullOrWhiteSpace(body.Client))
        {
            return Problems.InvalidRequest("advisor and client are required.", Problems.Missing(("advisor", body.Advisor), ("client", body.Client)));
        }
        var (pair, error) = await pairs.CreateAsync(body.Advisor, body.Client, user.Identity?.Name, ct);
        return error switch
        {
            PairError.None => TypedResults.Created($"/api/admin/pairs/{pair!.Id}", new PairSummary(pair.Id, body.Advisor.Trim(), body.Client.Trim(), pair.CreatedAt)),
            PairError.AlreadyPaired => Problems.Of(StatusCodes.Status409Conflict, "already_paired", "These two are already paired."),
            _ => Problems.Of(StatusCodes.Status400BadRequest, "invalid_pair", Describe(error)),
        };
    }

    internal static string Describe(PairError error) => error switch
    {
        PairError.UnknownAdvisor => "No account has the advisor's username.",
        PairError.UnknownClient => "No account has the client's username.",
        PairError.NotAnAdvisor => "The advisor's account does not have the advisor role.",
        PairError.NotAClient => "The client's account does not have the client role.",
        PairError.AlreadyPaired => "These two are already paired.",
        _ => "",
    };

    private static ProblemHttpResult NotFound() => Problems.Of(StatusCodes.Status404NotFound, "not_found", "No such pair of yours.");
}
