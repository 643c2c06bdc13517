using Countersign.Oidc;
using Microsoft.AspNetCore.Mvc;

namespace Countersign.Pages.Admin;

/// <summary>
/// OpenID Connect applications: list, add (a confidential client's secret shown once; a public one uses PKCE, as every
/// client does), rotate a secret, remove — the same <see cref="OidcClients"/> that <c>countersign clients</c> and
/// <c>/api/admin/clients</c> call. Redirect URIs are fixed at registration: <see cref="OidcClients"/> has no edit, and an
/// edit of its own here would be console logic the CLI and API lack; a change is remove and add.
/// </summary>
public sealed class ClientsModel(OidcClients clients) : AdminPageModel
{
    private const string SecretKey = "ClientSecret";
    private const string SecretForKey = "ClientSecretFor";

    /// <summary>At most this many redirect URIs per form (one per line), each at most 2,000 characters.</summary>
    public const int MaxUris = 20;

    [BindProperty]
    public string? Name { get; set; }

    [BindProperty]
    public string? DisplayName { get; set; }

    [BindProperty]
    public string? RedirectUris { get; set; }

    [BindProperty]
    public string? PostLogoutRedirectUris { get; set; }

    [BindProperty]
    public bool Confidential { get; set; }

    [BindProperty]
    public bool FirstParty { get; set; }

    [BindProperty]
    public bool RequireMfa { get; set; }

    public List<ClientSummary> Clients { get; private set; } = [];

    public string? Secret { get; private set; }

    public string? SecretFor { get; private set; }

    public async Task OnGetAsync(CancellationToken ct)
    {
        // Read once: TempData deletes it, so a reload does not show the secret again.
        Secret = TempData[SecretKey] as string;
        SecretFor = TempData[SecretForKey] as string;
        Clients = await clients.ListAsync(ct);
    }

    public async Task<IActionResult> OnPostAddAsync(CancellationToken ct)
    {
        if (Uris(RedirectUris) is not { } redirects || Uris(PostLogoutRedirectUris) is not { } logouts)
        {
            return Refused(Describe(ClientError.InvalidRedirectUri));
        }
        if ((Name?.Length ?? 0) > 64 || (DisplayName?.Length ?? 0) > 200)
        {
            return Refused(Describe(ClientError.InvalidName));
        }
        var (client, secret, error) = await clients.AddAsync(new ClientRequest(Name?.Trim() ?? "", redirects, logouts, Confidential, FirstParty,
            RequireMfa: RequireMfa, DisplayName: DisplayName), Actor, ct);
        if (client is null)
        {
            return Refused(Describe(error));
        }
        if (secret is not null)
        {
            TempData[SecretKey] = secret;
            TempData[SecretForKey] = client.Name;
        }
        return Done(Text["Application {0} added.", client.Name]);
    }

    public async Task<IActionResult> OnPostRotateAsync(CancellationToken ct)
    {
        var name = Name?.Trim() ?? "";
        if (!Confirmed)
        {
            return AskFirst(Text["Give {0} a new secret?", name], Text["The current secret stops working at once: the application must be given the new one."], ("Name", name));
        }
        var (secret, error) = name.Length > 64 ? (null, ClientError.UnknownClient) : await clients.RotateSecretAsync(name, Actor, ct);
        if (secret is null)
        {
            return Refused(Describe(error));
        }
        TempData[SecretKey] = secret;
        TempData[SecretForKey] = name;
        return Done(Text["{0} has a new secret.", name]);
    }

    public async Task<IActionResult> OnPostRemoveAsync(CancellationToken ct)
    {
        var name = Name?.Trim() ?? "";
        if (!Confirmed)
        {
            return AskFirst(Text["Remove the application {0}?", name], Text["Its users' consents and tokens are removed with it: they are signed out of it at once."], ("Name", name));
        }
        return name.Length <= 64 && await clients.RemoveAsync(name, Actor, ct) ? Done(Text["Application {0} removed.", name]) : Refused(Describe(ClientError.UnknownClient));
    }

    /// <summary>One URI per line; null when there are too many or one is too long (the service checks each one's form).</summary>
    private static List<string>? Uris(string? text)
    {
        var lines = (text ?? "").Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();
        return lines.Count > MaxUris || lines.Any(l => l.Length > 2000) ? null : lines;
    }

    private string Describe(ClientError error) => error switch
    {
        ClientError.InvalidName => Text["A client name is 1–64 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit."],
        ClientError.InvalidRedirectUri => Text["Redirect URIs must be absolute https:// URLs without a fragment or wildcard (http:// only for localhost), at most 20."],
        ClientError.NameTaken => Text["A client has that name already."],
        ClientError.NeedsRedirectUri => Text["Give at least one redirect URI."],
        ClientError.NotConfidential => Text["That application is public: it has no secret to rotate."],
        _ => Text["No application has that name."],
    };
}
