using System.Security.Claims;
using Countersign.Accounts;
using Countersign.Audit;
using Countersign.Operations;
using Countersign.Sessions;
using Countersign.SignIn;
using Countersign.Storage;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.ViewFeatures;
using Microsoft.EntityFrameworkCore;

namespace Countersign.Passkeys;

public sealed record PasskeyRegistration(string? Credential, string? Name = null);

public sealed record PasskeySignIn(string? Credential, string? StepToken = null, string? ReturnUrl = null);

public sealed record PasskeyOptionsRequest(string? StepToken = null);

public sealed record SignedIn(string Redirect);

/// <summary>
/// The browser side of passkeys (WebAuthn, with ASP.NET Core Identity's .NET 10 support). The page's
/// script asks for options, lets the browser create or use a credential, and posts the result back.
/// These endpoints ride the browser session, so each one checks the anti-forgery token.
/// </summary>
public static class PasskeysApi
{
    public static IEndpointRouteBuilder MapPasskeys(this IEndpointRouteBuilder app)
    {
        var account = app.MapGroup("/account/passkeys").WithTags("Passkeys").RequireAuthorization(Policies.BrowserSession);
        account.MapPost("/creation-options", CreationOptions)
            .Produces(StatusCodes.Status200OK, contentType: "application/json")
            .ProducesProblems(400)
            .WithSummary("WebAuthn options to register a passkey for the signed-in user.");
        account.MapPost("", Register).WithSummary("Store the passkey the browser created.");
        var login = app.MapGroup("/login/passkey").WithTags("Passkeys");
        login.MapPost("/options", RequestOptions).WithSummary("WebAuthn options to sign in with a passkey (alone, or as the second step).");
        login.MapPost("", SignIn)
            .ProducesProblems(401)
            .WithSummary("Sign in with the passkey assertion the browser made.");
        return app;
    }

    private static async Task<Results<ContentHttpResult, ProblemHttpResult>> CreationOptions(HttpContext http, IAntiforgery antiforgery,
        UserManager<User> users, SignInManager<User> signIn)
    {
        if (!await antiforgery.IsRequestValidAsync(http) || await users.FindByIdAsync(http.User.UserId().ToString()) is not { } user)
        {
            return Problems.Of(StatusCodes.Status400BadRequest, ErrorCodes.InvalidRequest, "Reload the page and try again.");
        }
        var options = await signIn.MakePasskeyCreationOptionsAsync(new PasskeyUserEntity
        {
            Id = user.Id.ToString(),
            Name = user.UserName!,
            DisplayName = user.UserName!,
        });
        return TypedResults.Content(options, "application/json");
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> Register([FromBody] PasskeyRegistration body, HttpContext http,
        IAntiforgery antiforgery, UserManager<User> users, SignInManager<User> signIn, SessionService sessions, CountersignDb db, AuditLog audit,
        CancellationToken ct)
    {
        if (!await antiforgery.IsRequestValidAsync(http) || string.IsNullOrEmpty(body.Credential)
            || await users.FindByIdAsync(http.User.UserId().ToString()) is not { } user)
        {
            return Problems.Of(StatusCodes.Status400BadRequest, ErrorCodes.InvalidRequest, "Reload the page and try again.");
        }
        var attestation = await signIn.TryPasskeyAttestationAsync(body.Credential);
        if (attestation is not { Succeeded: true } || attestation.UserEntity.Id != user.Id.ToString())
        {
            return Problems.Of(StatusCodes.Status400BadRequest, ErrorCodes.PasskeyRejected, "The passkey could not be registered.",
                attestation?.Failure?.Message);
        }
        attestation.Passkey.Name = string.IsNullOrWhiteSpace(body.Name) ? "Passkey" : body.Name.Trim()[..Math.Min(body.Name.Trim().Length, 64)];
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        var added = await users.AddOrUpdatePasskeyAsync(user, attestation.Passkey);
        if (!added.Succeeded)
        {
            return Problems.Of(StatusCodes.Status400BadRequest, ErrorCodes.PasskeyRejected, "The passkey could not be registered.");
        }
        // ASVS 7.4.3: a new factor ends the user's other sessions.
        await sessions.RevokeOthersAsync(user.Id, http.User.SessionId(), "factor_changed", ct);
        audit.Add(db, new(AuditActions.PasskeyAdded, user.Id, user.UserName, ClientInfo.IpOf(http),
            AuditDetail.Of(new { name = attestation.Passkey.Name })));
        await db.SaveChangesAsync(ct);
        await tx.CommitAsync(ct);
        return TypedResults.NoContent();
    }

    /// <summary>
    /// Without a step token the options name no user (a discoverable credential picks the account), so
    /// they reveal nothing about which usernames exist; with one, they name the user the password proved.
    /// </summary>
    private static async Task<Results<ContentHttpResult, ProblemHttpResult>> RequestOptions([FromBody] PasskeyOptionsRequest body, HttpContext http,
        IAntiforgery antiforgery, UserManager<User> users, SignInManager<User> signIn, StepTokens steps)
    {
        if (!await antiforgery.IsRequestValidAsync(http))
        {
            return Problems.Of(StatusCodes.Status400BadRequest, ErrorCodes.InvalidRequest, "Reload the page and try again.");
        }
        User? user = null;
        if (body.StepToken is { Length: > 0 } token)
        {
            if (steps.Peek(token) is not { } userId || await users.FindByIdAsync(userId.ToString()) is not { } found)
            {
                return Problems.Of(StatusCodes.Status400BadRequest, ErrorCodes.StepExpired, "That sign-in took too long. Please start again.");
            }
            user = found;
        }
        return TypedResults.Content(await signIn.MakePasskeyRequestOptionsAsync(user), "application/json");
    }

    private static async Task<Results<Ok<SignedIn>, ProblemHttpResult>> SignIn([FromBody] PasskeySignIn body, HttpContext http,
        IAntiforgery antiforgery, UserManager<User> users, SignInManager<User> signIn, StepTokens steps, SignInCore core, CountersignDb db,
        TimeProvider time, CancellationToken ct)
    {
        if (!await antiforgery.IsRequestValidAsync(http) || string.IsNullOrEmpty(body.Credential))
        {
            return Problems.Of(StatusCodes.Status400BadRequest, ErrorCodes.InvalidRequest, "Reload the page and try again.");
        }
        var assertion = await signIn.TryPasskeyAssertionAsync(body.Credential);
        if (assertion is not { Succeeded: true })
        {
            return Problems.Of(StatusCodes.Status401Unauthorized, ErrorCodes.InvalidPasskey, "The passkey was not accepted.");
        }
        var user = assertion.User;
        // As the second step, the passkey must belong to the user whose password was just checked.
        var secondStep = body.StepToken is { Length: > 0 };
        if (secondStep && await steps.SpendAsync(body.StepToken) != user.Id)
        {
            return Problems.Of(StatusCodes.Status401Unauthorized, ErrorCodes.InvalidPasskey, "The passkey was not accepted.");
        }
        await users.AddOrUpdatePasskeyAsync(user, assertion.Passkey);
        var now = time.GetUtcNow();
        if (await db.PasskeyUses.FindAsync([assertion.Passkey.CredentialId], ct) is { } use)
        {
            use.LastUsedAt = now;
        }
        else
        {
            db.PasskeyUses.Add(new PasskeyUse { CredentialId = assertion.Passkey.CredentialId, UserId = user.Id, LastUsedAt = now });
        }
        await db.SaveChangesAsync(ct);
        // The same core as a password sign-in (lockout, disabled accounts, audit); the assertion is the proof.
        var outcome = await core.SignInAsync(new SignInAttempt
        {
            Channel = SessionKinds.Browser,
            Client = ClientInfo.From(http),
            UserId = user.Id,
            Proven = secondStep ? new HashSet<string> { Factors.Password, Factors.Passkey } : new HashSet<string> { Factors.Passkey },
        }, SessionKinds.Browser, ct);
        if (outcome.Status == SignInStatus.PasswordChangeRequired)
        {
            // The account's password was chosen by someone else: on to the change page, as a password sign-in goes, with
            // the same single-use ticket in TempData (a protected cookie), never in the URL. A passkey does not prove the
            // password, so that page asks for the one the user was given before taking a new one (ASVS 6.2.3).
            var tempData = http.RequestServices.GetRequiredService<ITempDataDictionaryFactory>().GetTempData(http);
            tempData[StepTokens.PasswordChangeStepKey] = steps.CreateForPasswordChange(user.Id, outcome.Factors);
            tempData[StepTokens.PasswordChangeReturnKey] = LocalOrNull(body.ReturnUrl);
            tempData.Save();
            return TypedResults.Ok(new SignedIn("/login/new-password"));
        }
        if (!outcome.Succeeded)
        {
            return Problems.Of(StatusCodes.Status401Unauthorized, ErrorCodes.InvalidPasskey, "The passkey was not accepted.");
        }
        await http.SignInAsync(CookieAuthenticationDefaults.AuthenticationScheme, BrowserPrincipal.For(outcome));
        return TypedResults.Ok(new SignedIn(LocalOrNull(body.ReturnUrl) ?? "/account"));
    }

    private static string? LocalOrNull(string? url) => url is { Length: > 1 } r && r[0] == '/' && r[1] != '/' && r[1] != '\\' ? r : null;
}
