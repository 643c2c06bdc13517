using System.CommandLine;
using Countersign.Accounts;
using Countersign.Audit;
using Countersign.Operations;
using Microsoft.AspNetCore.Identity;

namespace Countersign.Cli;

internal static class UsersCommands
{
    private const string Actor = "cli";

    public static Command Create(Action<WebApplicationBuilder>? configure, TextReader? input)
    {
        var secrets = new SecretReader(input);
        var users = new Command("users", "Manage accounts.");

        var name = new Argument<string>("username");
        var password = new Option<string?>("--password") { Description = "The password; when omitted it is asked for twice (or read as two lines from standard input), which keeps it out of shell history." };
        var email = new Option<string?>("--email");
        var admin = new Option<bool>("--admin") { Description = "Give the account the admin role." };
        var roles = new Option<string[]>("--role") { Description = "A role to give (admin, advisor, client); repeatable.", AllowMultipleArgumentsPerToken = false };
        var oneTime = new Option<bool>("--one-time-password") { Description = "Generate a random password, print it once, and make the user choose a new one at the first sign-in." };
        var language = new Option<string?>("--language") { Description = $"The account's language ({string.Join(", ", Languages.Supported)}): its pages and, for a client, its call-verification words. Default: Accounts:DefaultLanguage." };
        var add = new Command("add", "Create an account.") { name, password, email, admin, roles, oneTime, language };
        add.SetAction((p, ct) => CountersignCli.WithHostAsync(configure, async (services, ct) =>
        {
            var wanted = (p.GetValue(roles) ?? []).Concat(p.GetValue(admin) ? [Roles.Admin] : []).Distinct().ToList();
            if (wanted.FirstOrDefault(r => !Roles.All.Contains(r)) is { } unknown)
            {
                return BadInput(p, $"unknown role '{unknown}' (known: {string.Join(", ", Roles.All)})");
            }
            var chosen = p.GetValue(language)?.Trim().ToLowerInvariant();
            if (chosen is not null && !Languages.Supported.Contains(chosen))
            {
                return BadInput(p, $"unknown language '{chosen}' (known: {string.Join(", ", Languages.Supported)})");
            }
            if (p.GetValue(oneTime))
            {
                if (p.GetValue(password) is not null)
                {
                    return BadInput(p, "--one-time-password and --password exclude each other");
                }
                var (created, generated, refused) = await services.GetRequiredService<AccountAdmin>().CreateWithOneTimePasswordAsync(
                    p.GetValue(name)!, p.GetValue(email), wanted, Actor, null, chosen, ct);
                if (created is null)
                {
                    return Fail(p, refused);
                }
                Console.WriteLine($"Created {created.UserName} ({created.Id}){(wanted.Count > 0 ? " with roles " + string.Join(", ", wanted) : "")}.");
                Console.WriteLine($"One-time password (shown once; it must be changed at the first sign-in): {generated}");
                return 0;
            }
            var (secret, unread) = secrets.ReadNew(p.GetValue(password));
            if (secret is null)
            {
                return BadInput(p, unread!);
            }
            var (user, result) = await services.GetRequiredService<AccountAdmin>().CreateAsync(
                p.GetValue(name)!, secret, p.GetValue(email), wanted, AuditActions.UserCreated, Actor, null, chosen, null, ct);
            if (user is null)
            {
                return Fail(p, result);
            }
            Console.WriteLine($"Created {user.UserName} ({user.Id}){(wanted.Count > 0 ? " with roles " + string.Join(", ", wanted) : "")}.");
            return 0;
        }, ct));
        users.Add(add);

        var list = new Command("list", "List accounts.");
        list.SetAction((_, ct) => CountersignCli.WithHostAsync(configure, async (services, ct) =>
        {
            var all = await services.GetRequiredService<AccountAdmin>().ListAsync(ct);
            Console.WriteLine($"{"USERNAME",-32} {"STATUS",-9} {"CREATED",-10} ID");
            foreach (var u in all)
            {
                Console.WriteLine($"{u.UserName,-32} {(u.IsDisabled ? "disabled" : "active"),-9} {u.CreatedAt:yyyy-MM-dd} {u.Id}");
            }
            return 0;
        }, ct));
        users.Add(list);

        users.Add(WithUser("show", "Show one account.", configure, name, async (services, user, ct) =>
        {
            var manager = services.GetRequiredService<UserManager<User>>();
            Console.WriteLine($"username:  {user.UserName}");
            Console.WriteLine($"id:        {user.Id}");
            Console.WriteLine($"email:     {user.Email ?? "-"}");
            Console.WriteLine($"status:    {(user.IsDisabled ? "disabled" : "active")}");
            Console.WriteLine($"roles:     {string.Join(", ", await manager.GetRolesAsync(user))}");
            Console.WriteLine($"created:   {user.CreatedAt:u}");
            Console.WriteLine($"hash:      {PasswordHasher.Mode(user.PasswordHash)}");
            return 0;
        }));
        users.Add(WithUser("disable", "Disable an account and end all of its sessions.", configure, name, async (services, user, ct) =>
        {
            if (!await services.GetRequiredService<AccountAdmin>().SetDisabledAsync(user, true, Actor, ct))
            {
                return Fail(Current!, LastAdministrator);
            }
            Console.WriteLine($"Disabled {user.UserName}; its sessions are ended.");
            return 0;
        }));
        users.Add(WithUser("enable", "Enable a disabled account.", configure, name, async (services, user, ct) =>
        {
            await services.GetRequiredService<AccountAdmin>().SetDisabledAsync(user, false, Actor, ct);
            Console.WriteLine($"Enabled {user.UserName}.");
            return 0;
        }));

        var newPassword = new Option<string?>("--password") { Description = "The new password; when omitted it is asked for twice (or read as two lines from standard input)." };
        var setPassword = WithUser("set-password", "Set a new password and end the account's sessions.", configure, name, async (services, user, ct) =>
        {
            var (secret, unread) = secrets.ReadNew(Current!.GetValue(newPassword));
            if (secret is null)
            {
                return BadInput(Current!, unread!);
            }
            var result = await services.GetRequiredService<AccountAdmin>().SetPasswordAsync(user, secret, Actor, ct);
            if (!result.Succeeded)
            {
                return Fail(Current!, result);
            }
            Console.WriteLine($"Password set for {user.UserName}; its sessions are ended.");
            return 0;
        });
        setPassword.Add(newPassword);
        users.Add(setPassword);

        var role = new Argument<string>("role") { Description = "admin, advisor or client" };
        role.AcceptOnlyFromAmong([.. Roles.All]);
        var addRole = WithUser("add-role", "Give an account a role.", configure, name, async (services, user, ct) =>
        {
            await services.GetRequiredService<AccountAdmin>().AddRoleAsync(user, Current!.GetValue(role)!, Actor, ct);
            Console.WriteLine($"{user.UserName} now has the role {Current!.GetValue(role)}.");
            return 0;
        });
        addRole.Add(role);
        users.Add(addRole);
        var removeRole = WithUser("remove-role", "Take a role from an account.", configure, name, async (services, user, ct) =>
        {
            if (!await services.GetRequiredService<AccountAdmin>().RemoveRoleAsync(user, Current!.GetValue(role)!, Actor, ct))
            {
                return Fail(Current!, LastAdministrator);
            }
            Console.WriteLine($"{user.UserName} no longer has the role {Current!.GetValue(role)}.");
            return 0;
        });
        removeRole.Add(role);
        users.Add(removeRole);

        users.Add(WithUser("reset-mfa", "Remove the account's authenticator app, recovery codes and passkeys, so it can enrol again (audited).", configure, name,
            async (services, user, ct) =>
            {
                await services.GetRequiredService<Totp.SecondFactorAdmin>().RemoveAsync(user, "admin_cli", null, new ClientInfo(null, null),
                    passkeysToo: true, Actor, ct);
                Console.WriteLine($"Second factors of {user.UserName} are reset; its sessions are ended.");
                return 0;
            }));

        var code = new Argument<string>("code") { Description = "The six digits the user reads from their app now." };
        var window = new Option<int>("--window") { Description = "How many 30-second steps either side to search (0 to 10).", DefaultValueFactory = _ => 3 };
        var drift = WithUser("drift", "Which time step a user's current code matches, within ±window, without spending it (a support check for a phone whose clock drifted; audited).",
            configure, name, async (services, user, ct) =>
            {
                var steps = Current!.GetValue(window);
                if (steps is < 0 or > Admin.AdminUsers.MaxDriftWindow)
                {
                    return BadInput(Current!, $"--window is 0 to {Admin.AdminUsers.MaxDriftWindow}");
                }
                var (enrolled, offset) = await services.GetRequiredService<Admin.AdminUsers>().DriftAsync(user, Current!.GetValue(code)!, steps, Actor, null, ct);
                if (!enrolled)
                {
                    return Fail(Current!, $"{user.UserName} has no active authenticator app");
                }
                var output = Current!.InvocationConfiguration.Output;
                await output.WriteLineAsync(offset is { } o
                    ? $"The code matches {o:+0;-0;0} step(s) ({o * Totp.Rfc6238.Period:+0;-0;0} s) from the server's clock; it was not spent."
                    : $"The code matches no step within ±{steps} ({steps * Totp.Rfc6238.Period} s).");
                return offset is null ? 1 : 0;
            });
        drift.Add(code);
        drift.Add(window);
        users.Add(drift);

        var file = new Argument<FileInfo>("file") { Description = "CSV with lines username,bcrypt_hash (a header line is skipped)." };
        var import = new Command("import", "Import accounts with bcrypt hashes; each moves to Argon2id at its next sign-in.") { file };
        import.SetAction((p, ct) => CountersignCli.WithHostAsync(configure, async (services, ct) =>
        {
            var path = p.GetValue(file)!;
            if (!path.Exists)
            {
                return BadInput(p, $"no such file: {path.FullName}");
            }
            var accounts = services.GetRequiredService<AccountAdmin>();
            int imported = 0, failed = 0, line = 0;
            foreach (var text in await File.ReadAllLinesAsync(path.FullName, ct))
            {
                line++;
                var parts = text.Split(',', 2, StringSplitOptions.TrimEntries);
                if (parts.Length != 2 || parts[0].Length == 0 || (line == 1 && parts[1].Equals("bcrypt_hash", StringComparison.OrdinalIgnoreCase)))
                {
                    if (line != 1 && text.Trim().Length > 0)
                    {
                        await Console.Error.WriteLineAsync($"line {line}: expected username,bcrypt_hash");
                        failed++;
                    }
                    continue;
                }
                var result = await accounts.ImportAsync(parts[0], parts[1], Actor, ct);
                if (result.Succeeded)
                {
                    imported++;
                }
                else
                {
                    failed++;
                    await Console.Error.WriteLineAsync($"line {line}: {parts[0]}: {string.Join(" ", result.Errors.Select(e => e.Description))}");
                }
            }
            Console.WriteLine($"Imported {imported} account(s), {failed} refused.");
            return failed == 0 ? 0 : 1;
        }, ct));
        users.Add(import);
        return users;
    }

    /// <summary>The same refusal as the API's <c>last_administrator</c> (docs/errors.md).</summary>
    private const string LastAdministrator = "refused (last_administrator): no other enabled account has the admin role; make another administrator first.";

    // The parse result of the running command, for options added after WithUser built the action.
    // Per invocation (AsyncLocal, not a plain static): two commands running at once in one process (the test suites) each
    // see their own.
    private static readonly AsyncLocal<ParseResult?> CurrentResult = new();

    private static ParseResult? Current
    {
        get => CurrentResult.Value;
        set => CurrentResult.Value = value;
    }

    private static Command WithUser(string verb, string description, Action<WebApplicationBuilder>? configure, Argument<string> name,
        Func<IServiceProvider, User, CancellationToken, Task<int>> work)
    {
        var command = new Command(verb, description) { name };
        command.SetAction((p, ct) =>
        {
            Current = p;
            return CountersignCli.WithHostAsync(configure, async (services, ct) =>
            {
                var user = await services.GetRequiredService<AccountAdmin>().FindAsync(p.GetValue(name)!);
                return user is null ? Fail(p, $"no such user: {p.GetValue(name)}") : await work(services, user, ct);
            }, ct);
        });
        return command;
    }

    private static int BadInput(ParseResult p, string message)
    {
        p.InvocationConfiguration.Error.WriteLine($"error: {message}");
        return 2;
    }

    private static int Fail(ParseResult p, string message)
    {
        p.InvocationConfiguration.Error.WriteLine($"error: {message}");
        return 1;
    }

    private static int Fail(ParseResult p, IdentityResult result)
    {
        foreach (var e in result.Errors)
        {
            p.InvocationConfiguration.Error.WriteLine($"error: {e.Description}");
        }
        return 1;
    }
}
