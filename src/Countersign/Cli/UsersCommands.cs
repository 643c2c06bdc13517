using System.CommandLine;
using Countersign.Accounts;
using Countersign.Audit;
using Countersign.Operations;
using Microsoft.AspNetCore.Identity;

namespace Countersign.Cli;

internal static class UsersCommands
{
    private const string Actor = "cli";

    public static Command Create(Action<WebApplicationBuilder>? configure)
    {
        var users = new Command("users", "Manage accounts.");

        var name = new Argument<string>("username");
        var password = new Option<string?>("--password") { Description = "The password; read from standard input when omitted (safer: not in shell history)." };
        var email = new Option<string?>("--email");
        var admin = new Option<bool>("--admin") { Description = "Give the account the admin role." };
        var roles = new Option<string[]>("--role") { Description = "A role to give (admin, advisor, client); repeatable.", AllowMultipleArgumentsPerToken = false };
        var add = new Command("add", "Create an account.") { name, password, email, admin, roles };
        add.SetAction((p, ct) => CountersignCli.WithHostAsync(configure, async (services, ct) =>
        {
            var wanted = (p.GetValue(roles) ?? []).Concat(p.GetValue(admin) ? [Roles.Admin] : []).Distinct().ToList();
            if (wanted.FirstOrDefault(r => !Roles.All.Contains(r)) is { } unknown)
            {
                return Fail($"unknown role '{unknown}' (known: {string.Join(", ", Roles.All)})");
            }
            var secret = p.GetValue(password) ?? ReadPassword();
            var (user, result) = await services.GetRequiredService<AccountAdmin>().CreateAsync(
                p.GetValue(name)!, secret, p.GetValue(email), wanted, AuditActions.UserCreated, Actor, null, ct);
            if (user is null)
            {
                return Fail(result);
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
            await services.GetRequiredService<AccountAdmin>().SetDisabledAsync(user, true, Actor, ct);
            Console.WriteLine($"Disabled {user.UserName}; its sessions are ended.");
            return 0;
        }));
        users.Add(WithUser("enable", "Enable a disabled account.", configure, name, async (services, user, ct) =>
        {
            await services.GetRequiredService<AccountAdmin>().SetDisabledAsync(user, false, Actor, ct);
            Console.WriteLine($"Enabled {user.UserName}.");
            return 0;
        }));

        var newPassword = new Option<string?>("--password") { Description = "The new password; read from standard input when omitted." };
        var setPassword = WithUser("set-password", "Set a new password and end the account's sessions.", configure, name, async (services, user, ct) =>
        {
            var result = await services.GetRequiredService<AccountAdmin>().SetPasswordAsync(user, Current!.GetValue(newPassword) ?? ReadPassword(), Actor, ct);
            if (!result.Succeeded)
            {
                return Fail(result);
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
            await services.GetRequiredService<AccountAdmin>().RemoveRoleAsync(user, Current!.GetValue(role)!, Actor, ct);
            Console.WriteLine($"{user.UserName} no longer has the role {Current!.GetValue(role)}.");
            return 0;
        });
        removeRole.Add(role);
        users.Add(removeRole);

        users.Add(WithUser("reset-mfa", "Remove the account's authenticator app, recovery codes and passkeys, so it can enrol again (audited).", configure, name,
            async (services, user, ct) =>
            {
                await services.GetRequiredService<Totp.SecondFactorAdmin>().RemoveAsync(user, "admin_cli", null, new ClientInfo(null, null),
                    passkeysToo: true, ct);
                Console.WriteLine($"Second factors of {user.UserName} are reset; its sessions are ended.");
                return 0;
            }));

        var file = new Argument<FileInfo>("file") { Description = "CSV with lines username,bcrypt_hash (a header line is skipped)." };
        var import = new Command("import", "Import accounts with bcrypt hashes; each moves to Argon2id at its next sign-in.") { file };
        import.SetAction((p, ct) => CountersignCli.WithHostAsync(configure, async (services, ct) =>
        {
            var path = p.GetValue(file)!;
            if (!path.Exists)
            {
                return Fail($"no such file: {path.FullName}");
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

    // The parse result of the running command, for options added after WithUser built the action.
    private static ParseResult? Current;

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
                return user is null ? Fail($"no such user: {p.GetValue(name)}") : await work(services, user, ct);
            }, ct);
        });
        return command;
    }

    private static string ReadPassword()
    {
        if (Console.IsInputRedirected)
        {
            return Console.ReadLine() ?? "";
        }
        Console.Error.Write("Password: ");
        var chars = new System.Text.StringBuilder();
        for (var key = Console.ReadKey(intercept: true); key.Key != ConsoleKey.Enter; key = Console.ReadKey(intercept: true))
        {
            if (key.Key == ConsoleKey.Backspace && chars.Length > 0)
            {
                chars.Length--;
            }
            else if (!char.IsControl(key.KeyChar))
            {
                chars.Append(key.KeyChar);
            }
        }
        Console.Error.WriteLine();
        return chars.ToString();
    }

    private static int Fail(string message)
    {
        Console.Error.WriteLine($"error: {message}");
        return 1;
    }

    private static int Fail(IdentityResult result)
    {
        foreach (var e in result.Errors)
        {
            Console.Error.WriteLine($"error: {e.Description}");
        }
        return 1;
    }
}
