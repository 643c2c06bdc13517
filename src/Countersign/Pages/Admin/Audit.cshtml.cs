using System.Globalization;
using System.Text.Json;
using Countersign.Audit;
using Countersign.Secrets;
using Countersign.Storage;
using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;

namespace Countersign.Pages.Admin;

/// <summary>
/// The audit: filter by user, action and time (the same filter as <c>/api/admin/audit</c>), the chain's verification on
/// demand (the same check as <c>countersign audit verify</c>, <see cref="AuditVerifier"/>), and an export as JSON lines.
/// </summary>
public sealed class AuditModel(CountersignDb db, KeyMaterial keys) : AdminPageModel
{
    private static readonly JsonSerializerOptions Lines = new(JsonSerializerDefaults.Web) { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    [BindProperty(SupportsGet = true, Name = "user")]
    public string? UserFilter { get; set; }

    [BindProperty(SupportsGet = true)]
    public string? Action { get; set; }

    /// <summary>From this UTC time on (yyyy-MM-ddTHH:mm, as a datetime-local field sends it).</summary>
    [BindProperty(SupportsGet = true)]
    public string? Since { get; set; }

    [BindProperty(SupportsGet = true)]
    public long? Before { get; set; }

    public List<AuditEvent> Events { get; private set; } = [];

    public long? NextBefore { get; private set; }

    public AuditVerification? Verification { get; private set; }

    private DateTimeOffset? SinceTime => DateTimeOffset.TryParse(Since, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t) ? t : null;

    public async Task OnGetAsync(CancellationToken ct)
    {
        var rows = await Query().Where(e => Before == null || e.Id < Before).OrderByDescending(e => e.Id).Take(51).ToListAsync(ct);
        Events = [.. rows.Take(50)];
        NextBefore = rows.Count > 50 ? Events[^1].Id : null;
    }

    /// <summary>Reads, never changes: a GET, so it needs no re-authentication; the page shows a progress indicator while it runs.</summary>
    public async Task OnGetVerifyAsync(CancellationToken ct)
    {
        Verification = await AuditVerifier.VerifyAsync(db, keys, ct);
        await OnGetAsync(ct);
    }

    /// <summary>The filtered events, oldest first, one JSON object a line (application/x-ndjson), streamed.</summary>
    public async Task<IActionResult> OnGetExportAsync(CancellationToken ct)
    {
        Response.ContentType = "application/x-ndjson; charset=utf-8";
        Response.Headers.ContentDisposition = "attachment; filename=\"countersign-audit.jsonl\"";
        await foreach (var e in Query().OrderBy(e => e.Id).AsAsyncEnumerable().WithCancellation(ct))
        {
            await Response.WriteAsync(JsonSerializer.Serialize(new AuditEventView(e.Id, e.At, e.Action, e.UserId, e.Username, e.ClientIp, e.Detail), Lines) + "\n", ct);
        }
        return new EmptyResult();
    }

    private IQueryable<AuditEvent> Query() => AuditApi.Filter(db, UserFilter?.Length > 256 ? null : UserFilter, Action?.Length > 64 ? null : Action, SinceTime);
}
