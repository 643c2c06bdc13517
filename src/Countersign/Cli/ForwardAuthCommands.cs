using System.CommandLine;
using Countersign.ForwardAuth;

namespace Countersign.Cli;

/// <summary><c>services</c>, <c>grants</c> and <c>devices</c>: forward auth's administration, the same as /api/admin/services|grants|devices.</summary>
internal static class ForwardAuthCommands
{
    public static Command Services(Action<WebApplicationBuilder>? configure)
    {
        var name = new Argument<string>("name") { Description = "The service's name, as in /verify/{name} (lower-case letters, digits, . _ -)." };
        var host = new Option<string>("--host") { Description = "The host the proxy forwards for it (app.example.com, with :port when not 443).", Required = true };
        var prefix = new Option<string>("--path-prefix") { Description = "The part of the host it is (default /, all of it).", DefaultValueFactory = _ => "/" };
        var identity = new Option<bool>("--send-identity") { Description = "Also send the user's name and roles (X-Countersign-User, X-Countersign-Roles)." };
        var add = new Command("add", "Add a service; prints its 256-bit token once (only a salted hash is kept).") { name, host, prefix, identity };
        add.SetAction((p, ct) => CountersignCli.WithHostAsync(configure, async (services, ct) =>
        {
            var (service, token, error) = await services.GetRequiredService<ServiceAdmin>()
                .AddAsync(p.GetValue(name)!, p.GetValue(host)!, p.GetValue(prefix), p.GetValue(identity), "cli", ct);
            if (service is null)
            {
                await p.InvocationConfiguration.Error.WriteLineAsync("error: " + ServiceAdmin.Describe(error));
                return 1;
            }
            p.InvocationConfiguration.Output.WriteLine($"Added {service.Name} at {service.Host}{service.PathPrefix}.");
            p.InvocationConfiguration.Output.WriteLine($"Service token (shown once, keep it secret): {token}");
            return 0;
        }, ct));

        var list = new Command("list", "List the services.");
        list.SetAction((p, ct) => CountersignCli.WithHostAsync(configure, async (services, ct) =>
        {
            p.InvocationConfiguration.Output.WriteLine($"{"NAME",-24} {"HOST",-32} {"PATH",-16} IDENTITY");
            foreach (var s in await services.GetRequiredService<ServiceAdmin>().ListAsync(ct))
            {
                p.InvocationConfiguration.Output.WriteLine($"{s.Name,-24} {s.Host,-32} {s.PathPrefix,-16} {(s.SendsIdentity ? "yes" : "no")}");
            }
            return 0;
        }, ct));

        var removeName = new Argument<string>("name");
        var remove = new Command("remove", "Remove a service and its grants; every node refuses it within a second.") { removeName };
        remove.SetAction((p, ct) => CountersignCli.WithHostAsync(configure, async (services, ct) =>
        {
            if (!await services.GetRequiredService<ServiceAdmin>().RemoveAsync(p.GetValue(removeName)!, "cli", ct))
            {
                await p.InvocationConfiguration.Error.WriteLineAsync("error: " + ServiceAdmin.Describe(ServiceError.UnknownService));
                return 1;
            }
            p.InvocationConfiguration.Output.WriteLine("Removed.");
            return 0;
        }, ct));

        var rotateName = new Argument<string>("name");
        var rotate = new Command("rotate-token", "Give a service a new token (printed once); the old one stops working.") { rotateName };
        rotate.SetAction((p, ct) => CountersignCli.WithHostAsync(configure, async (services, ct) =>
        {
            if (await services.GetRequiredService<ServiceAdmin>().RotateTokenAsync(p.GetValue(rotateName)!, "cli", ct) is not { } token)
            {
                await p.InvocationConfiguration.Error.WriteLineAsync("error: " + ServiceAdmin.Describe(ServiceError.UnknownService));
                return 1;
            }
            p.InvocationConfiguration.Output.WriteLine($"Service token (shown once, keep it secret): {token}");
            return 0;
        }, ct));
        return new Command("services", "Applications protected by forward auth (/verify/{service}, /forward-auth).") { add, list, remove, rotate };
    }

    public static Command Grants(Action<WebApplicationBuilder>? configure)
    {
        Command Change(string verb, string description, Func<ServiceAdmin, string, string, CancellationToken, Task<ServiceError>> act, string done)
        {
            var user = new Argument<string>("user") { Description = "Username." };
            var service = new Argument<string>("service") { Description = "Service name." };
            var command = new Command(verb, description) { user, service };
            command.SetAction((p, ct) => CountersignCli.WithHostAsync(configure, async (services, ct) =>
            {
                var error = await act(services.GetRequiredService<ServiceAdmin>(), p.GetValue(user)!, p.GetValue(service)!, ct);
                if (error != ServiceError.None)
                {
                    await p.InvocationConfiguration.Error.WriteLineAsync("error: " + ServiceAdmin.Describe(error));
                    return 1;
                }
                p.InvocationConfiguration.Output.WriteLine(done);
                return 0;
            }, ct));
            return command;
        }

        var byUser = new Option<string>("--user") { Description = "Only this user's grants." };
        var byService = new Option<string>("--service") { Description = "Only this service's grants." };
        var list = new Command("list", "List grants (stored encrypted; decrypted for this listing).") { byUser, byService };
        list.SetAction((p, ct) => CountersignCli.WithHostAsync(configure, async (services, ct) =>
        {
            p.InvocationConfiguration.Output.WriteLine($"{"USER",-24} {"SERVICE",-24} GRANT");
            foreach (var g in await services.GetRequiredService<ServiceAdmin>().ListGrantsAsync(p.GetValue(byUser), p.GetValue(byService), ct))
            {
                p.InvocationConfiguration.Output.WriteLine($"{g.User,-24} {g.Service,-24} {g.GrantRef}");
            }
            return 0;
        }, ct));
        return new Command("grants", "Which users may use which service (admins reach every service).")
        {
            Change("add", "Let a user use a service.", (a, u, s, ct) => a.GrantAsync(u, s, "cli", ct), "Granted."),
            Change("remove", "Take a service away from a user; every node refuses within a second.", (a, u, s, ct) => a.RevokeGrantAsync(u, s, "cli", ct), "Removed."),
            list,
        };
    }

    public static Command Devices(Action<WebApplicationBuilder>? configure)
    {
        var byUser = new Option<string>("--user") { Description = "Only this user's devices." };
        var list = new Command("list", "List registered devices.") { byUser };
        list.SetAction((p, ct) => CountersignCli.WithHostAsync(configure, async (services, ct) =>
        {
            p.InvocationConfiguration.Output.WriteLine($"{"ID",-32}  {"USER",-24} {"NAME",-24} LAST SEEN");
            foreach (var d in await services.GetRequiredService<DeviceService>().ListAsync(p.GetValue(byUser), ct))
            {
                p.InvocationConfiguration.Output.WriteLine($"{d.Id:N}  {d.User,-24} {d.Name,-24} {d.LastSeenAt:u}");
            }
            return 0;
        }, ct));
        var id = new Argument<Guid>("device-id");
        var revoke = new Command("revoke", "Revoke a device; every node refuses it within a second.") { id };
        revoke.SetAction((p, ct) => CountersignCli.WithHostAsync(configure, async (services, ct) =>
        {
            if (!await services.GetRequiredService<DeviceService>().RevokeAsync(p.GetValue(id), null, "cli", null, ct))
            {
                await p.InvocationConfiguration.Error.WriteLineAsync("error: no such device");
                return 1;
            }
            p.InvocationConfiguration.Output.WriteLine("Revoked.");
            return 0;
        }, ct));
        return new Command("devices", "Browsers registered for passwordless sign-in (forward auth).") { list, revoke };
    }
}
