using Countersign.Operations;
using Countersign.Storage;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace Countersign.Audit;

public sealed record AuditEventView(long Id, DateTimeOffset At, string Action, Guid? UserId, string? Username, string? ClientIp, string? Detail);

public sealed record AuditPage(IReadOnlyList<AuditEventView> Events, long? NextBefore);

public static class AuditApi
{
    public static IEndpointRouteBuilder MapAudit(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/admin/audit", List).WithTags("Audit").RequireAuthorization(Policies.Admin)
            .WithSummary("Audit events, newest first. Page with before=<next_before>.");
        return app;
    }

    private static async Task<Ok<AuditPage>> List(CountersignDb db, string? user, string? action, DateTimeOffset? since,
        long? before, int? limit, CancellationToken ct)
    {
        var take = Math.Clamp(limit ?? 50, 1, 500);
        var query = Filter(db, user, action, since);
        if (before is { } b)
        {
            query = query.Where(e => e.Id < b);
        }
        var rows = await query.OrderByDescending(e => e.Id).Take(take + 1).ToListAsync(ct);
        var page = rows.Take(take).Select(e => new AuditEventView(e.Id, e.At, e.Action, e.UserId, e.Username, e.ClientIp, e.Detail)).ToList();
        return TypedResults.Ok(new AuditPage(page, rows.Count > take ? page[^1].Id : null));
    }

    /// <summary>The events of a user (name or id), an action and a time, as the API, the console and its export read them.</summary>
    public static IQueryable<AuditEvent> Filter(CountersignDb db, string? user, string? action, DateTimeOffset? since)
    {
        var query = db.AuditEvents.AsNoTracking();
        if (!string.IsNullOrWhiteSpace(user))
        {
            // Rows keep the name as accounts spell it (trimmed, NFKC: Accounts/UsernameNormalizer.cs).
            var name = user.Trim().Normalize(System.Text.NormalizationForm.FormKC);
            query = Guid.TryParse(user, out var id) ? query.Where(e => e.UserId == id) : query.Where(e => e.Username == name);
        }
        if (!string.IsNullOrWhiteSpace(action))
        {
            query = query.Where(e => e.Action == action);
        }
        if (since is { } s)
        {
            query = query.Where(e => e.At >= s);
        }
        return query;
    }
}
