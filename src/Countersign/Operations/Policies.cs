namespace Countersign.Operations;

/// <summary>The authorization policies every feature names; Sessions/SessionsSetup.cs defines them.</summary>
public static class Policies
{
    public const string Admin = "admin";
    public const string BrowserSession = "browser-session";
    /// <summary>The real-time hub: a browser's cookie or an app's bearer token.</summary>
    public const string LiveSession = "live-session";
}

public static class Schemes
{
    public const string ByPath = "by-path";
}
