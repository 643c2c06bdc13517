using Countersign.Admin;
using Countersign.Operations;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.Extensions.Localization;

namespace Countersign.Pages.Admin;

/// <summary>
/// What every console page shares. The pages hold no logic of their own: each action calls the service the CLI and the
/// REST API call. Access (the cookie session and the admin role) and step-up (a recent authentication for every POST)
/// are attributes on this base class (Admin/StepUp.cs), so no console page can leave them out; anti-forgery is Razor Pages' default for every POST. Each change
/// answers with a redirect (post/redirect/get) and its outcome travels in TempData, so a reload repeats nothing.
/// </summary>
[Authorize(Policy = Policies.AdminConsole)]
[RequireRecentAuthentication]
public abstract class AdminPageModel : PageModel
{
    [TempData]
    public string? Notice { get; set; }

    [TempData]
    public string? Problem { get; set; }

    /// <summary>Set by the confirm step's own form: the destructive change was seen and confirmed.</summary>
    [BindProperty]
    public bool Confirmed { get; set; }

    /// <summary>The confirm step this POST answers with instead of the change, when it is not yet confirmed.</summary>
    public ConfirmStep? Confirm { get; private set; }

    protected IStringLocalizer<AdminText> Text => HttpContext.RequestServices.GetRequiredService<IStringLocalizer<AdminText>>();

    /// <summary>The administrator, as every audit row of a console change names them.</summary>
    protected string Actor => User.Identity?.Name ?? "admin";

    protected RedirectResult Done(string notice)
    {
        Notice = notice;
        return Redirect(Here());
    }

    protected RedirectResult Refused(string problem)
    {
        Problem = problem;
        return Redirect(Here());
    }

    /// <summary>
    /// A destructive change is confirmed on the server, not by a script's <c>confirm()</c>: the first POST changes nothing
    /// and shows a page that names what will happen, with one form that posts the same fields again with
    /// <c>Confirmed=true</c> (it works without JavaScript and is step-up and anti-forgery checked like any POST).
    /// </summary>
    protected PageResult AskFirst(string question, string consequence, params (string Name, string? Value)[] fields)
    {
        Confirm = new ConfirmStep(question, consequence, Request.Path + Request.QueryString.ToUriComponent(),
            [.. fields.Select(f => new KeyValuePair<string, string>(f.Name, f.Value ?? ""))], Here());
        return Page();
    }

    /// <summary>This page again, as a GET: the query without the form's handler.</summary>
    protected string Here()
    {
        var query = Microsoft.AspNetCore.Http.QueryString.Create(Request.Query.Where(q => q.Key != "handler")
            .SelectMany(q => q.Value.Select(v => new KeyValuePair<string, string?>(q.Key, v))));
        return Request.Path + query.ToUriComponent();
    }
}

/// <summary>What a confirm step shows: the question, what will happen, the form to post again and where "Cancel" goes.</summary>
public sealed record ConfirmStep(string Question, string Consequence, string Action, IReadOnlyList<KeyValuePair<string, string>> Fields, string CancelUrl);
