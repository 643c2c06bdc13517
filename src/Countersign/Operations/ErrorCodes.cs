namespace Countersign.Operations;

/// <summary>
/// Every stable <c>error</c> code a problem body can carry, in one place. Clients branch on these; titles
/// may change. docs/errors.md lists each with its status and meaning (a test keeps the two in step).
/// </summary>
public static class ErrorCodes
{
    // Any route
    public const string InvalidRequest = "invalid_request";
    public const string RequestTooLarge = "request_too_large";
    public const string Unauthorized = "unauthorized";
    public const string Forbidden = "forbidden";
    public const string NotFound = "not_found";
    public const string MethodNotAllowed = "method_not_allowed";
    public const string UnsupportedMediaType = "unsupported_media_type";
    public const string UnsupportedCharset = "unsupported_charset";
    public const string EphemeralStoreUnavailable = "ephemeral_store_unavailable";
    public const string DatabaseUnavailable = "database_unavailable";
    public const string RateLimited = "rate_limited";

    // Sign-in (every channel: API, pages, and the ones to come)
    public const string InvalidCredentials = "invalid_credentials";
    public const string MfaRequired = "mfa_required";
    public const string InvalidMfaCode = "invalid_mfa_code";
    public const string AccountLocked = "account_locked";
    public const string CaptchaRequired = "captcha_required";
    public const string PasswordChangeRequired = "password_change_required";

    // Sessions
    public const string InvalidGrant = "invalid_grant";

    // Accounts
    public const string RegistrationDisabled = "registration_disabled";
    public const string UsernameTaken = "username_taken";
    public const string PolicyViolation = "policy_violation";
    public const string LastAdministrator = "last_administrator";
    public const string InvalidRole = "invalid_role";

    // Second factors and passkeys
    public const string TotpAlreadyEnabled = "totp_already_enabled";
    public const string TotpNotEnabled = "totp_not_enabled";
    public const string InvalidProof = "invalid_proof";
    public const string StepExpired = "step_expired";
    public const string PasskeyRejected = "passkey_rejected";
    public const string InvalidPasskey = "invalid_passkey";

    // Quad-factor protocol (frames over TLS; docs/quad-factor.md)
    public const string BadRequest = "bad_request";
    public const string ClockSkew = "clock_skew";
    public const string ServerClockUnverified = "server_clock_unverified";
    public const string FaceUnusable = "face_unusable";
    public const string ServerError = "server_error";

    // Call verification
    public const string AlreadyPaired = "already_paired";
    public const string InvalidPair = "invalid_pair";

    // Forward auth
    public const string InvalidService = "invalid_service";
    public const string ServiceExists = "service_exists";
    public const string AlreadyGranted = "already_granted";

    // OpenID Connect clients (the protocol endpoints under /connect answer with OAuth's own error codes, RFC 6749 §5.2)
    public const string InvalidClient = "invalid_client_settings";
    public const string ClientExists = "client_exists";

    // Administration
    public const string InvalidAddress = "invalid_address";
    public const string NoAuthenticator = "no_authenticator";
}
