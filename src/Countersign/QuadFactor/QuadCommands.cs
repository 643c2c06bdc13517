using System.Text.Json;
using System.Text.Json.Nodes;
using Countersign.Accounts;
using Countersign.Audit;
using Countersign.Face;
using Countersign.Operations;
using Countersign.Secrets;
using Countersign.Sessions;
using Countersign.SignIn;
using Countersign.Storage;
using Countersign.Totp;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Countersign.QuadFactor;

/// <summary>
/// The six commands of docs/quad-factor.md. Each checks the clock, then hands the factors it needs to the sign-in
/// core as one <see cref="SignInAttempt"/> with every factor required, so the protocol gets the same rate limits,
/// lockout, password hasher, TOTP replay guard, audit and attempt log as <c>POST /api/auth/login</c>, and one
/// generic <c>invalid_credentials</c> whatever failed (the audit row lists which failed and which passed).
/// </summary>
public sealed class QuadCommands(
    SignInCore signIn,
    SessionService sessions,
    AccountAdmin accounts,
    TotpService totp,
    QuadFaces faces,
    SecretStore secrets,
    CountersignDb db,
    AuditLog audit,
    AttemptLog attempts,
    ServerClock serverClock,
    SignInDefences defences,
    IOptionsMonitor<QuadFactorOptions> options,
    TimeProvider time)
{
    public const string Channel = "quad_factor";

    private static readonly JsonSerializerOptions Snake = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public async Task<QuadReply> HandleAsync(QuadRequest request, ClientInfo client, CancellationToken ct)
    {
        // The server's own clock before the client's: every check below (client_time, TOTP steps, the nonce window)
        // trusts it, so while NTP cannot vouch for it nothing is judged (fail closed; docs/quad-factor.md).
        if (serverClock.Distrust() is not null)
        {
            attempts.Write(new Attempt(time.GetUtcNow(), Shown(request.Username), "refused", ErrorCodes.ServerClockUnverified, "none", [], 0, client.Ip));
            return QuadReply.Error(ErrorCodes.ServerClockUnverified, "The server cannot vouch for its clock right now; try again later.");
        }
        // Then the client's clock: a request from another time is refused before it costs anything, and says so, since
        // the fix (set the clock) is the client's and the answer reveals nothing about the account.
        var now = time.GetUtcNow().ToUnixTimeSeconds();
        var skew = (long)options.CurrentValue.MaxClockSkew.TotalSeconds;
        if (request.ClientTime < now - skew || request.ClientTime > now + skew)
        {
            return await ClockSkewAsync(request, client, now, skew, ct);
        }
        var proof = new DeviceProof(DeviceProof.TextToSign(request.Command, request.Username, request.ClientTime, request.Nonce),
            request.Signature, request.Nonce, request.Mac, request.DevicePublicKey);
        return request.Command switch
        {
            QuadCommandCodes.Login => await LoginAsync(request, proof, client, ct),
            QuadCommandCodes.Register => await RegisterAsync(request, proof, client, ct),
            QuadCommandCodes.RecoverTotp => await RecoverTotpAsync(request, proof, client, ct),
            QuadCommandCodes.RecoverPassword => await RecoverPasswordAsync(request, proof, client, ct),
            QuadCommandCodes.RecoverFace => await RecoverFaceAsync(request, proof, client, ct),
            QuadCommandCodes.ReplaceDevice => await ReplaceDeviceAsync(request, proof, client, ct),
            _ => throw new ArgumentException("unknown command", nameof(request)),
        };
    }

    /// <summary>
    /// A request from outside the skew window. It may be a captured request replayed late (the window is what makes
    /// nonces finite), so it is audited (<c>quad_clock_skew</c>, the claimed username unverified); it counts as a hit
    /// of the address's login rate limit first, so a flood of stale frames is refused before it can fill the audit.
    /// </summary>
    private async Task<QuadReply> ClockSkewAsync(QuadRequest r, ClientInfo client, long now, long skew, CancellationToken ct)
    {
        var hit = new SignInAttempt { Channel = Channel, Client = client, Username = r.Username, Password = "" };
        if (await defences.RateLimitAsync(hit) is { } wait)
        {
            attempts.Write(new Attempt(time.GetUtcNow(), Shown(r.Username), "refused", ErrorCodes.RateLimited, "none", [], 0, client.Ip));
            return QuadReply.Error(ErrorCodes.RateLimited, "Too many requests; try again later.",
                new JsonObject { ["retry_after_seconds"] = SignInProblems.Seconds(wait) });
        }
        attempts.Write(new Attempt(time.GetUtcNow(), Shown(r.Username), "refused", ErrorCodes.ClockSkew, "none", [], 0, client.Ip));
        await audit.RecordAloneAsync(db, new AuditEntry(AuditActions.QuadClockSkew, null, Shown(r.Username), client.Ip,
            AuditDetail.Of(new { channel = Channel, command = r.Command, client_time = r.ClientTime, server_time = now })), ct);
        return QuadReply.Error(ErrorCodes.ClockSkew, $"client_time is more than {skew} s from the server's clock; set the clock and try again.",
            new JsonObject { ["server_time"] = now });
    }

    /// <summary>100: password, TOTP, face and device; the same tokens as <c>POST /api/auth/login</c>.</summary>
    private async Task<QuadReply> LoginAsync(QuadRequest r, DeviceProof proof, ClientInfo client, CancellationToken ct)
    {
        var probe = Probe(r.FaceImage);
        string[] required = [Factors.Password, Factors.Totp, Factors.Face, Factors.DeviceKey];
        TokenPair? tokens = null;
        var changeFirst = false;
        var outcome = await signIn.CheckAsync(Attempt(r, client, required, probe, proof), (account, _) =>
        {
            // A password someone else chose opens nothing until the user replaces it (ASVS 6.4.1), here as on every channel.
            if (account.User.PasswordChangeRequired)
            {
                changeFirst = true;
                return Task.FromResult(new AuditEntry(AuditActions.PasswordChangeRequired, account.User.Id, account.User.UserName, client.Ip,
                    AuditDetail.Of(new { channel = Channel })));
            }
            var session = sessions.Start(account.User, SessionKinds.Api, client);
            tokens = sessions.Issue(account.User, [.. account.Roles], session.Id);
            return Task.FromResult(new AuditEntry(AuditActions.LoginSucceeded, account.User.Id, account.User.UserName, client.Ip,
                AuditDetail.Of(new { session_id = session.Id, kind = SessionKinds.Api, channel = Channel, factors = required })));
        }, ct);
        if (!outcome.Succeeded)
        {
            return await RefusedAsync(outcome, probe, ct);
        }
        if (changeFirst)
        {
            return QuadReply.Error(ErrorCodes.PasswordChangeRequired,
                "This account's password was chosen by someone else: choose your own on the sign-in page (or with POST /api/auth/login and new_password) first.");
        }
        return QuadReply.Ok("Signed in with four factors.", new JsonObject
        {
            ["access_token"] = tokens!.AccessToken,
            ["token_type"] = "Bearer",
            ["expires_in"] = tokens.ExpiresIn,
            ["refresh_token"] = tokens.RefreshToken,
        });
    }

    /// <summary>
    /// 200: an admin's password and TOTP approve a new account, whose device proves it holds the new key. The admin
    /// is checked first, so only an admin's request costs a face enrolment; the account, its face template, device
    /// and a TOTP secret active at once are then written in one transaction with their audit row.
    /// </summary>
    private async Task<QuadReply> RegisterAsync(QuadRequest r, DeviceProof proof, ClientInfo client, CancellationToken ct)
    {
        var admin = r.Admin!;
        var isAdmin = false;
        var attempt = new SignInAttempt
        {
            Channel = Channel,
            Client = client,
            Username = admin.Username,
            Password = admin.Password,
            TotpCode = admin.TotpCode,
            Captcha = r.Captcha,
            Required = [Factors.Password, Factors.Totp, Factors.NewDeviceKey],
            Evidence = proof.Signature.Length == 0 ? new Dictionary<string, object>() : new Dictionary<string, object> { [Factors.NewDeviceKey] = proof },
        };
        var outcome = await signIn.CheckAsync(attempt, (account, _) =>
        {
            isAdmin = account.Roles.Contains(Roles.Admin);
            return Task.FromResult(new AuditEntry(isAdmin ? AuditActions.QuadVerified : AuditActions.QuadRegistrationRefused,
                account.User.Id, account.User.UserName, client.Ip,
                AuditDetail.Of(new { command = r.Command, channel = Channel, new_username = Shown(r.Username), admin = isAdmin })));
        }, ct);
        if (!outcome.Succeeded)
        {
            return Map(outcome);
        }
        if (!isAdmin)
        {
            // The same answer as a wrong admin password: "forbidden" here would confirm the non-admin's credentials to
            // whoever sent them (ASVS 6.3.8). The audit row (quad_registration_refused, admin: false) tells the operator.
            return Map(new SignInOutcome(SignInStatus.InvalidCredentials));
        }
        if (r.FaceImage is not { Length: > 0 } photo)
        {
            return FaceUnusable("no_photo");
        }
        var face = await faces.EnrolAsync(photo, ct);
        if (!face.Succeeded)
        {
            return FaceUnusable(face.Error!.Value.Code());
        }
        TotpEnrolment? enrolment = null;
        var (user, result) = await accounts.CreateAsync(r.Username, r.Password!, null, [], AuditActions.QuadRegistered, admin.Username, client.Ip, null,
            async (user, ct) =>
            {
                var now = time.GetUtcNow();
                db.QuadEnrolments.Add(new QuadEnrolment
                {
                    UserId = user.Id,
                    PublicKey = r.DevicePublicKey!,
                    Mac = r.Mac,
                    ProtectedFaceTemplate = secrets.Protect(SecretStore.FaceTemplatePurpose, face.Value.ToBytes()),
                    CreatedAt = now,
                    UpdatedAt = now,
                });
                enrolment = await totp.StageActiveAsync(user, ct);
            }, ct);
        if (user is null)
        {
            return Refused(result);
        }
        return QuadReply.Ok($"Registered {user.UserName}. Add the TOTP secret to an authenticator app now: the first login needs its code.",
            Provisioning(enrolment!));
    }

    /// <summary>300: password, face and device replace the TOTP secret (a lost phone).</summary>
    private async Task<QuadReply> RecoverTotpAsync(QuadRequest r, DeviceProof proof, ClientInfo client, CancellationToken ct)
    {
        var probe = Probe(r.FaceImage);
        TotpEnrolment? enrolment = null;
        var outcome = await signIn.CheckAsync(Attempt(r, client, [Factors.Password, Factors.Face, Factors.DeviceKey], probe, proof),
            async (account, ct) =>
            {
                enrolment = await totp.StageActiveAsync(account.User, ct);
                return new AuditEntry(AuditActions.QuadTotpReplaced, account.User.Id, account.User.UserName, client.Ip,
                    AuditDetail.Of(new { channel = Channel, proven = new[] { Factors.Password, Factors.Face, Factors.DeviceKey } }));
            }, ct);
        return outcome.Succeeded
            ? QuadReply.Ok("A new TOTP secret is active: add it to an authenticator app; the old one no longer works.", Provisioning(enrolment!))
            : await RefusedAsync(outcome, probe, ct);
    }

    /// <summary>310: TOTP, face and device set a new password (policy checked first); the account's sign-ins end.</summary>
    private async Task<QuadReply> RecoverPasswordAsync(QuadRequest r, DeviceProof proof, ClientInfo client, CancellationToken ct)
    {
        // The policy is public, so checking it before the factors says nothing about the account.
        var policy = await accounts.CheckPasswordAsync(new User { UserName = UsernameNormalizer.Canonical(r.Username) }, r.NewPassword!);
        if (!policy.Succeeded)
        {
            return Refused(policy);
        }
        var probe = Probe(r.FaceImage);
        var outcome = await signIn.CheckAsync(Attempt(r, client, [Factors.Totp, Factors.Face, Factors.DeviceKey], probe, proof),
            async (account, ct) =>
            {
                await accounts.StagePasswordAsync(account.User, r.NewPassword!, ct);
                return new AuditEntry(AuditActions.QuadPasswordRecovered, account.User.Id, account.User.UserName, client.Ip,
                    AuditDetail.Of(new { channel = Channel, proven = new[] { Factors.Totp, Factors.Face, Factors.DeviceKey } }));
            }, ct);
        return outcome.Succeeded
            ? QuadReply.Ok("The password is changed; every session of the account has ended.")
            : await RefusedAsync(outcome, probe, ct);
    }

    /// <summary>
    /// 320: password, TOTP and device replace the face template. The new photo is enrolled only once the three have
    /// passed (so a stranger's photos cost no enrolment), in a second transaction with its own audit row.
    /// </summary>
    private async Task<QuadReply> RecoverFaceAsync(QuadRequest r, DeviceProof proof, ClientInfo client, CancellationToken ct)
    {
        Guid? userId = null;
        var outcome = await signIn.CheckAsync(Attempt(r, client, [Factors.Password, Factors.Totp, Factors.DeviceKey], null, proof),
            (account, _) =>
            {
                userId = account.User.Id;
                return Task.FromResult(new AuditEntry(AuditActions.QuadVerified, account.User.Id, account.User.UserName, client.Ip,
                    AuditDetail.Of(new { command = r.Command, channel = Channel })));
            }, ct);
        if (!outcome.Succeeded)
        {
            return Map(outcome);
        }
        var face = await faces.EnrolAsync(r.NewFaceImage!, ct);
        if (!face.Succeeded)
        {
            return FaceUnusable(face.Error!.Value.Code());
        }
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        var enrolment = await db.QuadEnrolments.FirstAsync(e => e.UserId == userId, ct);
        enrolment.ProtectedFaceTemplate = secrets.Protect(SecretStore.FaceTemplatePurpose, face.Value.ToBytes());
        enrolment.UpdatedAt = time.GetUtcNow();
        audit.Add(db, new(AuditActions.QuadFaceReplaced, userId, outcome.Account!.User.UserName, client.Ip,
            AuditDetail.Of(new { channel = Channel, proven = new[] { Factors.Password, Factors.Totp, Factors.DeviceKey } })));
        await db.SaveChangesAsync(ct);
        await tx.CommitAsync(ct);
        return QuadReply.Ok("The face template is replaced.");
    }

    /// <summary>330 (the seed's "update MAC"): password, TOTP and face move the account to a new key and MAC, signed by the new key.</summary>
    private async Task<QuadReply> ReplaceDeviceAsync(QuadRequest r, DeviceProof proof, ClientInfo client, CancellationToken ct)
    {
        var probe = Probe(r.FaceImage);
        string[] proven = [Factors.Password, Factors.Totp, Factors.Face, Factors.NewDeviceKey];
        var outcome = await signIn.CheckAsync(Attempt(r, client, proven, probe, proof), async (account, ct) =>
        {
            var enrolment = await db.QuadEnrolments.FirstAsync(e => e.UserId == account.User.Id, ct);
            var previous = DeviceProof.DeviceId(enrolment.PublicKey);
            enrolment.PublicKey = r.DevicePublicKey!;
            enrolment.Mac = r.Mac;
            enrolment.UpdatedAt = time.GetUtcNow();
            // A device is replaced when the old one is lost or stolen: whatever signed in with it must not stay signed
            // in, as Keycloak ends a user's sessions on a credential reset (and ASVS 7.4.3 after a factor changes).
            var ended = await sessions.RevokeAllAsync(account.User.Id, "device_replaced", ct);
            return new AuditEntry(AuditActions.QuadDeviceReplaced, account.User.Id, account.User.UserName, client.Ip,
                AuditDetail.Of(new { channel = Channel, proven, previous_device = previous, device = DeviceProof.DeviceId(r.DevicePublicKey!), mac = r.Mac, sessions_ended = ended }));
        }, ct);
        return outcome.Succeeded
            ? QuadReply.Ok("The device is replaced: the old key no longer signs in, and every session of the account has ended.")
            : await RefusedAsync(outcome, probe, ct);
    }

    private static SignInAttempt Attempt(QuadRequest r, ClientInfo client, string[] required, FaceProbe? probe, DeviceProof proof)
    {
        var evidence = new Dictionary<string, object>();
        if (probe is not null)
        {
            evidence[Factors.Face] = probe;
        }
        if (proof.Signature.Length > 0)
        {
            evidence[required.Contains(Factors.NewDeviceKey) ? Factors.NewDeviceKey : Factors.DeviceKey] = proof;
        }
        return new SignInAttempt
        {
            Channel = Channel,
            Client = client,
            Username = r.Username,
            Password = required.Contains(Factors.Password) ? r.Password : null,
            TotpCode = required.Contains(Factors.Totp) ? r.TotpCode : null,
            Captcha = r.Captcha,
            Required = required,
            Evidence = evidence,
        };
    }

    private static FaceProbe? Probe(byte[]? image) => image is { Length: > 0 } ? new FaceProbe(image) : null;

    /// <summary>
    /// A refused attempt. When the core stopped before the face (unknown user, wrong password), the photo is still
    /// compared, with nothing: otherwise a fast refusal would tell an attacker the password was wrong and a slow one
    /// that it was right.
    /// </summary>
    private async Task<QuadReply> RefusedAsync(SignInOutcome outcome, FaceProbe? probe, CancellationToken ct)
    {
        if (outcome.Status is SignInStatus.InvalidCredentials or SignInStatus.InvalidMfaCode && probe is { Compared: false })
        {
            await faces.CompareWithNothingAsync(probe.Image, ct);
        }
        return Map(outcome);
    }

    /// <summary>The one map from a refused sign-in to an error frame (the protocol's SignInProblems).</summary>
    private static QuadReply Map(SignInOutcome outcome) => outcome.Status switch
    {
        SignInStatus.AccountLocked => QuadReply.Error(ErrorCodes.AccountLocked,
            "Too many failed attempts for this username. Wait, or solve the proof-of-work challenge and send it in captcha.",
            new JsonObject { ["retry_after_seconds"] = SignInProblems.Seconds(outcome.RetryAfter), ["captcha"] = JsonSerializer.SerializeToNode(outcome.Challenge, Snake) }),
        SignInStatus.CaptchaRequired => QuadReply.Error(ErrorCodes.CaptchaRequired,
            "Solve the proof-of-work challenge and send the solution in captcha.",
            new JsonObject { ["captcha"] = JsonSerializer.SerializeToNode(outcome.Challenge, Snake) }),
        SignInStatus.RateLimited => QuadReply.Error(ErrorCodes.RateLimited, "Too many requests; try again later.",
            new JsonObject { ["retry_after_seconds"] = SignInProblems.Seconds(outcome.RetryAfter) }),
        SignInStatus.Succeeded => throw new ArgumentException("A successful sign-in is not an error.", nameof(outcome)),
        // Unknown user, disabled, wrong password, a factor missing or wrong: one answer (ASVS 6.3.8).
        _ => QuadReply.Error(ErrorCodes.InvalidCredentials, "The credentials are not valid."),
    };

    private static QuadReply Refused(IdentityResult result)
    {
        var taken = result.Errors.Any(e => e.Code == nameof(IdentityErrorDescriber.DuplicateUserName));
        var errors = new JsonArray([.. result.Errors.Select(e => (JsonNode)e.Description)]);
        return taken
            ? QuadReply.Error(ErrorCodes.UsernameTaken, "An account has that username.")
            : QuadReply.Error(ErrorCodes.PolicyViolation, "The username or password breaks the policy.", new JsonObject
            {
                ["codes"] = new JsonArray([.. result.Errors.Select(e => (JsonNode)e.Code)]),
                ["errors"] = errors,
            });
    }

    private static QuadReply FaceUnusable(string reason) =>
        QuadReply.Error(ErrorCodes.FaceUnusable, $"The face photo cannot be enrolled ({reason}): one face, large, sharp and well lit.",
            new JsonObject { ["reason"] = reason });

    private static JsonObject Provisioning(TotpEnrolment enrolment) => new()
    {
        ["provisioning_uri"] = enrolment.OtpauthUri,
        ["qr_png_b64"] = enrolment.QrPngBase64,
    };

    private static string Shown(string username) => username.Length <= 64 ? username : username[..64] + "…";
}
