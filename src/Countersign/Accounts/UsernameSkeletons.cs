using Countersign.Storage;
using Microsoft.EntityFrameworkCore;

namespace Countersign.Accounts;

/// <summary>
/// Gives accounts made before the skeleton column their skeleton, at start. Two old accounts that already look
/// alike cannot both have theirs (the column is unique): the later one keeps none, keeps working, and the log
/// names both so an administrator can decide.
/// </summary>
internal static partial class UsernameSkeletons
{
    public static async Task BackfillAsync(IServiceProvider services, CancellationToken ct)
    {
        var db = services.GetRequiredService<CountersignDb>();
        var logger = services.GetRequiredService<ILogger<User>>();
        var missing = await db.Users.Where(u => u.UsernameSkeleton == null).OrderBy(u => u.CreatedAt)
            .Select(u => new { u.Id, u.UserName }).ToListAsync(ct);
        foreach (var user in missing)
        {
            var skeleton = UsernameProfile.Skeleton(user.UserName ?? "");
            var holder = await db.Users.Where(u => u.UsernameSkeleton == skeleton).Select(u => u.UserName).FirstOrDefaultAsync(ct);
            if (holder is not null || skeleton.Length > 256)
            {
                LogLookAlike(logger, user.UserName, holder);
                continue;
            }
            await db.Users.Where(u => u.Id == user.Id).ExecuteUpdateAsync(s => s.SetProperty(u => u.UsernameSkeleton, skeleton), ct);
        }
    }

    [LoggerMessage(EventId = 44, Level = LogLevel.Warning,
        Message = "The existing accounts {UserName} and {Holder} look alike (UTS #39); {UserName} keeps working but new look-alikes of it are not refused")]
    private static partial void LogLookAlike(ILogger logger, string? userName, string? holder);
}
