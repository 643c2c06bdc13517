using System.CommandLine;
using Countersign.Oidc;

namespace Countersign.Cli;

/// <summary><c>clients</c>: the OpenID Connect provider's applications, the same as /api/admin/clients.</summary>
internal static class ClientsCommands
{
    public static Command Create(Action<WebApplicationBuilder>? configure)
    {
        var name = new Argument<string>("name") { Description = "The client_id (lower-case letters, digits, . _ -)." };
        var redirect = new Option<string[]>("--redirect-uri") { Description = "Where the application receives the code; exact match, repeatable (https://, or http:// on localhost).", AllowMultipleArgumentsPerToken = false };
        var postLogout = new Option<string[]>("--post-logout-redirect-uri") { Description = "Where to send the user after signing out from the application; repeatable." };
        var confidential = new Option<bool>("--confidential") { Description = "A server-side application with a secret (printed once)." };
        var firstParty = new Option<bool>("--first-party") { Description = "Your own application: no consent page." };
        var pairwise = new Option<bool>("--pairwise") { Description = "Give it a pairwise subject (sub) that no other site can match." };
        var requirePar = new Option<bool>("--require-par") { Description = "Refuse authorization requests that were not pushed first (RFC 9126)." };
        var requireMfa = new Option<bool>("--require-mfa") { Description = "Only users who signed in with a second factor (TOTP, recovery code, passkey)." };
        var machine = new Option<bool>("--client-credentials") { Description = "Let it get tokens for itself (client credentials; confidential only)." };
        var display = new Option<string>("--display-name") { Description = "The name the consent page shows (default: the client_id)." };
        var add = new Command("add", "Register an application.") { name, redirect, postLogout, confidential, firstParty, pairwise, requirePar, requireMfa, machine, display };
        add.SetAction((p, ct) => CountersignCli.WithHostAsync(configure, async (services, ct) =>
        {
            var (client, secret, error) = await services.GetRequiredService<OidcClients>().AddAsync(new ClientRequest(
                p.GetValue(name)!, p.GetValue(redirect) ?? [], p.GetValue(postLogout) ?? [], p.GetValue(confidential), p.GetValue(firstParty),
                p.GetValue(pairwise), p.GetValue(requirePar), p.GetValue(requireMfa), p.GetValue(machine), p.GetValue(display)), "cli", ct);
            if (client is null)
            {
                await p.InvocationConfiguration.Error.WriteLineAsync("error: " + OidcClients.Describe(error));
                return 1;
            }
            p.InvocationConfiguration.Output.WriteLine($"Added client {client.Name} ({(client.Confidential ? "confidential" : "public")}).");
            if (secret is not null)
            {
                p.InvocationConfiguration.Output.WriteLine($"Client secret (shown once, keep it secret): {secret}");
            }
            return 0;
        }, ct));

        var list = new Command("list", "List the applications.");
        list.SetAction((p, ct) => CountersignCli.WithHostAsync(configure, async (services, ct) =>
        {
            p.InvocationConfiguration.Output.WriteLine($"{"CLIENT",-24} {"TYPE",-13} {"OPTIONS",-40} REDIRECT URIS");
            foreach (var c in await services.GetRequiredService<OidcClients>().ListAsync(ct))
            {
                p.InvocationConfiguration.Output.WriteLine($"{c.Name,-24} {(c.Confidential ? "confidential" : "public"),-13} {Flags(c),-40} {string.Join(' ', c.RedirectUris)}");
            }
            return 0;
        }, ct));

        var showName = new Argument<string>("name");
        var show = new Command("show", "Show one application's settings.") { showName };
        show.SetAction((p, ct) => CountersignCli.WithHostAsync(configure, async (services, ct) =>
        {
            if (await services.GetRequiredService<OidcClients>().ShowAsync(p.GetValue(showName)!, ct) is not { } c)
            {
                await p.InvocationConfiguration.Error.WriteLineAsync("error: " + OidcClients.Describe(ClientError.UnknownClient));
                return 1;
            }
            var o = p.InvocationConfiguration.Output;
            o.WriteLine($"client_id:      {c.Name}");
            o.WriteLine($"display name:   {c.DisplayName}");
            o.WriteLine($"type:           {(c.Confidential ? "confidential" : "public")}");
            o.WriteLine($"options:        {Flags(c)}");
            o.WriteLine($"redirect URIs:  {string.Join(' ', c.RedirectUris)}");
            o.WriteLine($"after logout:   {string.Join(' ', c.PostLogoutRedirectUris)}");
            return 0;
        }, ct));

        var removeName = new Argument<string>("name");
        var remove = new Command("remove", "Remove an application with its consents and tokens (its refresh tokens stop working).") { removeName };
        remove.SetAction((p, ct) => CountersignCli.WithHostAsync(configure, async (services, ct) =>
        {
            if (!await services.GetRequiredService<OidcClients>().RemoveAsync(p.GetValue(removeName)!, "cli", ct))
            {
                await p.InvocationConfiguration.Error.WriteLineAsync("error: " + OidcClients.Describe(ClientError.UnknownClient));
                return 1;
            }
            p.InvocationConfiguration.Output.WriteLine("Removed.");
            return 0;
        }, ct));

        var rotateName = new Argument<string>("name");
        var rotate = new Command("rotate-secret", "Give a confidential application a new secret (printed once); the old one stops working.") { rotateName };
        rotate.SetAction((p, ct) => CountersignCli.WithHostAsync(configure, async (services, ct) =>
        {
            var (secret, error) = await services.GetRequiredService<OidcClients>().RotateSecretAsync(p.GetValue(rotateName)!, "cli", ct);
            if (secret is null)
            {
                await p.InvocationConfiguration.Error.WriteLineAsync("error: " + OidcClients.Describe(error));
                return 1;
            }
            p.InvocationConfiguration.Output.WriteLine($"Client secret (shown once, keep it secret): {secret}");
            return 0;
        }, ct));
        return new Command("clients", "Applications that sign their users in through Countersign (OpenID Connect).") { add, list, show, remove, rotate };
    }

    private static string Flags(ClientSummary c) => string.Join(',', new[]
    {
        c.FirstParty ? "first-party" : null, c.Pairwise ? "pairwise" : null, c.RequirePar ? "require-par" : null,
        c.RequireMfa ? "require-mfa" : null, c.ClientCredentials ? "client-credentials" : null,
    }.OfType<string>()) is { Length: > 0 } flags ? flags : "-";
}
