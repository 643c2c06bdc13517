using Countersign.Audit;
using Countersign.Storage;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Countersign.Accounts;

/// <summary>
/// Account changes made by the user (registration) or an administrator (CLI, admin API). Each change
/// and its audit event commit in one transaction.
/// </summary>
public sealed class AccountAdmin(
    CountersignDb db,
    UserManager<User> users,
    IEnumerable<IAccountObserver> observers,
    AuditLog audit,
    TimeProvider time,
    IOptionsMonitor<AccountsOptions> options)
{
    /// <summary>Creates an account in the instance's language; a failed result lists every reason at once.</summary>
    public Task<(User? User, IdentityResult Result)> CreateAsync(
        string username, string password, string? email, IEnumerable<string> roles, string action, string? actor, string? clientIp,
        CancellationToken ct = default) => CreateAsync(username, password, email, roles, action, actor, clientIp, null, null, ct);

    /// <summary>
    /// Creates an account in <paramref name="language"/> (null: the instance's, <see cref="AccountsOptions.DefaultLanguage"/>)
    /// and, in the same transaction, what <paramref name="alsoStage"/> adds to the unit of work (the quad-factor protocol's
    /// face template, device and TOTP secret).
    /// </summary>
    public async Task<(User? User, IdentityResult Result)> CreateAsync(
        string username, string password, string? email, IEnumerable<string> roles, string action, string? actor, string? clientIp,
        string? language, Func<User, CancellationToken, Task>? alsoStage, CancellationToken ct)
    {
        var user = NewUser(username, email);
        user.Language = language ?? user.Language;
        // Identity stops at the first failing validator; a person fixing a form wants every reason at once.
        var errors = new List<IdentityError>();
        if (!Languages.Supported.Contains(user.Language))
        {
            // Callers check what a person typed and say so in their own words; this keeps a bad value out of the column.
            errors.Add(new IdentityError { Code = "UnsupportedLanguage", Description = $"The language must be one of: {string.Join(", ", Languages.Supported)}." });
        }
        foreach (var validator in users.PasswordValidators)
        {
            errors.AddRange((await validator.ValidateAsync(users, user, password)).Errors);
        }
        var passwordRefused = errors.Count > 0;
        // Ours first: a malformed name goes no further (the others look it up; PostgreSQL refuses a NUL in a query).
        foreach (var validator in users.UserValidators.OrderBy(v => v is UsernameValidator ? 0 : 1))
        {
            var refused = (await validator.ValidateAsync(users, user)).Errors.ToList();
            errors.AddRange(refused);
            if (validator is UsernameValidator && refused.Count > 0)
            {
                break;
            }
        }
        if (passwordRefused)
        {
            // The password policy answers first: "taken" is said only to a caller whose password would have been
            // accepted, so probing names costs a valid password each (pen test L3; docs/security.md has the rest).
            errors.RemoveAll(e => e.Code == nameof(IdentityErrorDescriber.DuplicateUserName));
        }
        if (errors.Count > 0)
        {
            return (null, IdentityResult.Failed([.. errors.DistinctBy(e => e.Code)]));
        }
        user.PasswordHash = users.PasswordHasher.HashPassword(user, password);
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        IdentityResult result;
        try
        {
            result = await users.CreateAsync(user);
        }
        catch (DbUpdateException)
        {
            // Two registrations of one name (or of two look-alikes) at once: the unique indexes let one through.
            return (null, IdentityResult.Failed(new IdentityErrorDescriber().DuplicateUserName(user.UserName!)));
        }
        if (!result.Succeeded)
        {
            return (null, result);
        }
        foreach (var role in roles)
        {
            Check(await users.AddToRoleAsync(user, role));
        }
        if (alsoStage is not null)
        {
            // What the caller enrols with the account (the quad-factor protocol's face and device), in its transaction.
            await alsoStage(user, ct);
        }
        audit.Add(db, new(action, user.Id, user.UserName, clientIp,
            AuditDetail.Of(new { actor, roles, language = user.Language })));
        await db.SaveChangesAsync(ct);
        await tx.CommitAsync(ct);
        return (user, result);
    }

    /// <summary>
    /// Imports an account with a hash from an earlier system (bcrypt), so existing users move over without a
    /// reset; the hash becomes Argon2id at the user's next sign-in.
    /// </summary>
    public async Task<IdentityResult> ImportAsync(string username, string legacyHash, string? actor, CancellationToken ct = default)
    {
        if (!LegacyHashes.IsBcrypt(legacyHash))
        {
            return IdentityResult.Failed(new IdentityError { Code = "UnsupportedHash", Description = "Only bcrypt hashes ($2a$, $2b$, $2y$) can be imported." });
        }
        var user = NewUser(username, null);
        user.PasswordHash = legacyHash;
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        var result = await users.CreateAsync(user);
        if (!result.Succeeded)
        {
            return result;
        }
        audit.Add(db, new(AuditActions.UserImported, user.Id, user.UserName, null,
            AuditDetail.Of(new { actor, hash = "bcrypt" })));
        await db.SaveChangesAsync(ct);
        await tx.CommitAsync(ct);
        return result;
    }

    public Task<User?> FindAsync(string username) => users.FindByNameAsync(username);

    /// <summary>
    /// Disabling ends every session and refresh token of the user at once (ASVS 7.4.2). False, and nothing changed, when
    /// it would disable the last enabled administrator (<see cref="LeavesAnAdministratorAsync"/>).
    /// </summary>
    public Task<bool> SetDisabledAsync(User user, bool disabled, string? actor, CancellationToken ct = default) =>
        GuardedChangeAsync(user, disabled, disabled ? AuditActions.UserDisabled : AuditActions.UserEnabled, actor, async () =>
        {
            user.IsDisabled = disabled;
            Check(await users.UpdateAsync(user));
            if (disabled)
            {
                await EndSignInsAsync(user.Id, "user_disabled", ct);
            }
        }, ct);

    /// <summary>Sets a new password (policy applies) and ends the user's sessions.</summary>
    public async Task<IdentityResult> SetPasswordAsync(User user, string password, string? actor, CancellationToken ct = default)
    {
        foreach (var validator in users.PasswordValidators)
        {
            var refused = await validator.ValidateAsync(users, user, password);
            if (!refused.Succeeded)
            {
                return refused;
            }
        }
        await ChangeAsync(user, AuditActions.PasswordChanged, actor, () => StagePasswordAsync(user, password, ct), ct);
        return IdentityResult.Success;
    }

    /// <summary>The password policy's verdict on a new password for <paramref name="user"/>, every reason at once.</summary>
    public async Task<IdentityResult> CheckPasswordAsync(User user, string password)
    {
        var errors = new List<IdentityError>();
        foreach (var validator in users.PasswordValidators)
        {
            errors.AddRange((await validator.ValidateAsync(users, user, password)).Errors);
        }
        return errors.Count == 0 ? IdentityResult.Success : IdentityResult.Failed([.. errors.DistinctBy(e => e.Code)]);
    }

    /// <summary>
    /// A new (already policy-checked) password and the end of the user's sign-ins, in the caller's transaction,
    /// which audits and commits it (the quad-factor protocol's password recovery).
    /// </summary>
    public Task StagePasswordAsync(User user, string password, CancellationToken ct) => StagePasswordAsync(user, password, null, ct);

    /// <summary>
    /// The same for the user's own change from a session: <paramref name="keepSession"/> stays signed in, every other
    /// sign-in (sessions, devices) ends; the flag of a password someone else chose goes.
    /// </summary>
    public async Task StagePasswordAsync(User user, string password, Guid? keepSession, CancellationToken ct)
    {
        user.PasswordHash = users.PasswordHasher.HashPassword(user, password);
        if (keepSession is not null)
        {
            user.PasswordChangeRequired = false;
        }
        Check(await users.UpdateSecurityStampAsync(user));
        foreach (var observer in observers)
        {
            await (keepSession is { } keep
                ? observer.OtherSignInsEndedAsync(user.Id, keep, "password_changed", ct)
                : observer.SignInsEndedAsync(user.Id, "password_changed", ct));
        }
    }

    public Task AddRoleAsync(User user, string role, string? actor, CancellationToken ct = default) =>
        ChangeAsync(user, AuditActions.RoleAdded, actor, async () => Check(await users.AddToRoleAsync(user, role)), ct, new { role });

    /// <summary>False, and nothing changed, when it would take the <c>admin</c> role from the last enabled administrator.</summary>
    public Task<bool> RemoveRoleAsync(User user, string role, string? actor, CancellationToken ct = default) =>
        GuardedChangeAsync(user, role == Roles.Admin, AuditActions.RoleRemoved, actor, async () => Check(await users.RemoveFromRoleAsync(user, role)), ct, new { role });

    /// <summary>
    /// Creates an account with a random one-time password that the user must replace at the first sign-in
    /// (<see cref="User.PasswordChangeRequired"/>; ASVS 6.4.1: system-generated initial passwords are random and
    /// short-lived). The password is returned once, for the administrator to hand over, and never stored in clear.
    /// </summary>
    public async Task<(User? User, string? Password, IdentityResult Result)> CreateWithOneTimePasswordAsync(
        string username, string? email, IEnumerable<string> roles, string? actor, string? clientIp, string? language = null, CancellationToken ct = default)
    {
        var password = OneTimePassword();
        var (user, result) = await CreateAsync(username, password, email, roles, AuditActions.UserCreated, actor, clientIp, language,
            (u, _) =>
            {
                u.PasswordChangeRequired = true;
                return Task.CompletedTask;
            }, ct);
        return (user, user is null ? null : password, result);
    }

    /// <summary>
    /// Four groups of five from a 31-letter alphabet without look-alikes (no 0/O, 1/l/I): 99 bits, easy to read out
    /// over the phone, and far beyond what the password policy asks.
    /// </summary>
    public static string OneTimePassword()
    {
        const string alphabet = "abcdefghjkmnpqrstuvwxyz23456789";
        var groups = Enumerable.Range(0, 4).Select(_ => new string([.. Enumerable.Range(0, 5)
            .Select(_ => alphabet[System.Security.Cryptography.RandomNumberGenerator.GetInt32(alphabet.Length)])]));
        return string.Join('-', groups);
    }

    /// <summary>
    /// Whether an enabled administrator other than <paramref name="user"/> remains, read after the administrators'
    /// role row is locked. The lock is a no-op UPDATE of that row, held to the end of the transaction: on PostgreSQL
    /// two administrators demoting each other at once would otherwise each see the other still there (READ COMMITTED)
    /// and leave none; the second waits, then reads the first's commit. SQLite serialises write transactions anyway.
    /// </summary>
    private async Task<bool> LeavesAnAdministratorAsync(User user, CancellationToken ct)
    {
        var adminRole = users.NormalizeName(Roles.Admin);
        await db.Roles.Where(r => r.NormalizedName == adminRole)
            .ExecuteUpdateAsync(s => s.SetProperty(r => r.ConcurrencyStamp, r => r.ConcurrencyStamp), ct);
        var isAdmin = await (from ur in db.UserRoles
                             join r in db.Roles on ur.RoleId equals r.Id
                             where ur.UserId == user.Id && r.NormalizedName == adminRole
                             select ur).AnyAsync(ct);
        if (!isAdmin || user.IsDisabled)
        {
            return true;
        }
        return await (from ur in db.UserRoles
                      join r in db.Roles on ur.RoleId equals r.Id
                      join u in db.Users on ur.UserId equals u.Id
                      where r.NormalizedName == adminRole && u.Id != user.Id && !u.IsDisabled
                      select u.Id).AnyAsync(ct);
    }

    private async Task<bool> GuardedChangeAsync(User user, bool mayRemoveAnAdministrator, string action, string? actor, Func<Task> change,
        CancellationToken ct, object? detail = null)
    {
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        if (mayRemoveAnAdministrator && !await LeavesAnAdministratorAsync(user, ct))
        {
            return false;
        }
        await change();
        audit.Add(db, new(action, user.Id, user.UserName, null, AuditDetail.Of(new { actor, detail })));
        await db.SaveChangesAsync(ct);
        await tx.CommitAsync(ct);
        return true;
    }

    public Task<List<User>> ListAsync(CancellationToken ct = default) =>
        db.Users.AsNoTracking().OrderBy(u => u.NormalizedUserName).ToListAsync(ct);

    /// <summary>
    /// Sets the pages' language and, for a client, the language of their pairs' words. Both sides derive the
    /// words from it, so they change together, at once: both sides' live pages get the new words straight
    /// away, and a word read out just before the change no longer checks (say it again). Audited. False for
    /// a language Countersign does not speak.
    /// </summary>
    public async Task<bool> SetLanguageAsync(User user, string language, CancellationToken ct = default)
    {
        if (!Languages.Supported.Contains(language))
        {
            return false;
        }
        var previous = user.Language;
        user.Language = language;
        await using (var tx = await db.Database.BeginTransactionAsync(ct))
        {
            await db.Users.Where(u => u.Id == user.Id).ExecuteUpdateAsync(s => s.SetProperty(u => u.Language, language), ct);
            audit.Add(db, new(AuditActions.LanguageChanged, user.Id, user.UserName, null,
                AuditDetail.Of(new { from = previous, to = language })));
            await db.SaveChangesAsync(ct);
            await tx.CommitAsync(ct);
        }
        if (previous != language)
        {
            foreach (var observer in observers)
            {
                await observer.LanguageChangedAsync(user.Id, ct);
            }
        }
        return true;
    }

    public async Task<bool> AnyAdminAsync(CancellationToken ct = default) =>
        (await users.GetUsersInRoleAsync(Roles.Admin)).Count > 0;

    private User NewUser(string username, string? email) => new()
    {
        Id = Guid.CreateVersion7(),
        UserName = UsernameNormalizer.Canonical(username),
        Email = string.IsNullOrWhiteSpace(email) ? null : email.Trim(),
        CreatedAt = time.GetUtcNow(),
        // The instance's language until someone chooses: an account always has one, because a client's call-verification
        // words are drawn from their language's list before they ever sign in (the advisor reads the same list).
        Language = options.CurrentValue.DefaultLanguage,
    };

    private async Task ChangeAsync(User user, string action, string? actor, Func<Task> change, CancellationToken ct, object? detail = null)
    {
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        await change();
        audit.Add(db, new(action, user.Id, user.UserName, null, AuditDetail.Of(new { actor, detail })));
        await db.SaveChangesAsync(ct);
        await tx.CommitAsync(ct);
    }

    private async Task EndSignInsAsync(Guid userId, string reason, CancellationToken ct)
    {
        foreach (var observer in observers)
        {
            await observer.SignInsEndedAsync(userId, reason, ct);
        }
    }

    private static void Check(IdentityResult result)
    {
        if (!result.Succeeded)
        {
            throw new InvalidOperationException(string.Join(" ", result.Errors.Select(e => e.Description)));
        }
    }
}
