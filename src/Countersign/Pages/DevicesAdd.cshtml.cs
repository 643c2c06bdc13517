using System.Globalization;
using Countersign.ForwardAuth;
using Countersign.Operations;
using Countersign.SignIn;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.Extensions.Localization;
using Microsoft.Extensions.Options;

namespace Countersign.Pages;

/// <summary>
/// Register this browser as a device (the seed's <c>/device/add</c>): a username and the authenticator app's code, or a
/// passkey. Every failed attempt shows the same message with the same status. A browser that already holds a live
/// device goes straight on to <c>rd</c>, when that is a configured service over https, or to the account page.
/// </summary>
public sealed class DevicesAddModel(DeviceService devices, Verifier verifier, Redirects redirects, IOptionsSnapshot<ForwardAuthOptions> options,
    UiText text, IStringLocalizer<AccountText> signInText) : PageModel
{
    [BindProperty]
    public string? Username { get; set; }

    [BindProperty]
    public string? Code { get; set; }

    [BindProperty]
    public string? DeviceName { get; set; }

    [BindProperty(SupportsGet = true)]
    public string? Rd { get; set; }

    public string? Message { get; private set; }

    public async Task<IActionResult> OnGetAsync()
    {
        if (await verifier.DeviceAsync(Request.Cookies[ForwardAuthOptions.CookieName]) is not null)
        {
            return Redirect(await redirects.AfterSignInAsync(Rd));
        }
        return Page();
    }

    public async Task<IActionResult> OnPostAsync(CancellationToken ct)
    {
        if (string.IsNullOrWhiteSpace(Username) || string.IsNullOrWhiteSpace(Code))
        {
            return Fail(StatusCodes.Status401Unauthorized, text.DeviceFailure);
        }
        var added = await devices.AddWithCodeAsync(Username, Code.Trim(), DeviceName, Request.Form["altcha"].ToString() is { Length: > 0 } c ? c : null,
            ClientInfo.From(HttpContext), ct);
        if (added.Cookie is null)
        {
            var status = ForwardAuthApi.Refusal(added.Outcome, HttpContext).StatusCode;
            if (added.Outcome.RetryAfter is { } wait)
            {
                Response.Headers.RetryAfter = SignInProblems.Seconds(wait).ToString(CultureInfo.InvariantCulture);
            }
            return Fail(status, status == StatusCodes.Status401Unauthorized ? text.DeviceFailure : SignInPageText.For(added.Outcome, signInText).Message
);
        }
        DeviceCookies.Issue(Response, added.Cookie, options.Value);
        return Redirect(await redirects.AfterSignInAsync(Rd));
    }

    private PageResult Fail(int status, string message)
    {
        Response.StatusCode = status;
        Message = message;
        return Page();
    }
}
