namespace Countersign.Operations;

/// <summary>The authorization policies every feature names; Sessions/SessionsSetup.cs defines them.</summary>
public static class Policies
{
    public const string Admin = "admin";
    public const string BrowserSession = "browser-session";
    /// <summary>The real-time hub: a browser's cookie or an app's bearer token.</summary>
    public const string LiveSession = "live-session";
    /// <summary>The admin console: the browser's cookie and the <c>admin</c> role (Admin/StepUp.cs).</summary>
    public const string AdminConsole = "admin-console";
    /// <summary>A password, TOTP code or passkey within the last 10 minutes (ASVS V6 step-up; Admin/StepUp.cs).</summary>
    public const string RecentAuthentication = "recent-authentication";
}

public static class Schemes
{
    public const string ByPath = "by-path";
}
