using Countersign.Admin;
using Countersign.Audit;
using Countersign.Storage;
using Microsoft.EntityFrameworkCore;

namespace Countersign.Pages.Admin;

/// <summary>The dashboard: the counts an administrator looks at first, and the latest security events with links.</summary>
public sealed class IndexModel(UserDirectory directory, CountersignDb db) : AdminPageModel
{
    /// <summary>The events issue 16 names: refresh reuse, lockouts, possible impersonation on a call, proof-of-work storms (their resets).</summary>
    public static readonly string[] SecurityActions =
        [AuditActions.RefreshReuseDetected, AuditActions.LockedOut, AuditActions.PossibleImpersonation, AuditActions.AddressReset, AuditActions.LockoutCleared];

    public DashboardCounts Counts { get; private set; } = null!;

    public List<AuditEvent> Latest { get; private set; } = [];

    public async Task OnGetAsync(CancellationToken ct)
    {
        Counts = await directory.CountsAsync(ct);
        Latest = await db.AuditEvents.AsNoTracking().Where(e => SecurityActions.Contains(e.Action))
            .OrderByDescending(e => e.Id).Take(15).ToListAsync(ct);
    }
}
