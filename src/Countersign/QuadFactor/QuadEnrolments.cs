using Countersign.Storage;
using Microsoft.EntityFrameworkCore;

namespace Countersign.QuadFactor;

/// <summary>A request's view of enrolments: the face and device checks of one attempt read the row once.</summary>
public sealed class QuadEnrolments(CountersignDb db)
{
    private readonly Dictionary<Guid, QuadEnrolment?> _read = [];

    public async Task<QuadEnrolment?> FindAsync(Guid userId, CancellationToken ct)
    {
        if (!_read.TryGetValue(userId, out var enrolment))
        {
            enrolment = await db.QuadEnrolments.AsNoTracking().FirstOrDefaultAsync(e => e.UserId == userId, ct);
            _read[userId] = enrolment;
        }
        return enrolment;
    }
}
