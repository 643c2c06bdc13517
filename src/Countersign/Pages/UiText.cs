using System.Globalization;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Localization;

namespace Countersign.Pages;

/// <summary>The resource files (<c>PageText.resx</c>, <c>PageText.fr.resx</c>) beside this marker hold the pages' shared words.</summary>
public sealed class PageText;

/// <summary>
/// The pages' shared words, read through ASP.NET Core localization for the request's UI culture (the user's
/// setting, then <c>Accept-Language</c>: Localization/LocalizationSetup.cs). A typed view over the resource
/// keys, so a page that names a word the files do not have fails to compile rather than showing the key.
/// The <c>[JsonPropertyName]</c> ones are also handed to calls.js.
/// </summary>
public sealed class UiText(IStringLocalizer<PageText> t)
{
    [JsonIgnore] public string Language => CultureInfo.CurrentUICulture.TwoLetterISOLanguageName;

    public string Account => t[nameof(Account)];
    public string Admin => t[nameof(Admin)];
    public string MainNavigation => t[nameof(MainNavigation)];

    public string Calls => t[nameof(Calls)];
    public string SignOut => t[nameof(SignOut)];
    public string LanguageLabel => t[nameof(LanguageLabel)];
    public string Save => t[nameof(Save)];
    public string LanguageHelp => t[nameof(LanguageHelp)];
    public string CallsTitle => t[nameof(CallsTitle)];
    public string ClientIntro => t[nameof(ClientIntro)];
    public string AdvisorIntro => t[nameof(AdvisorIntro)];
    public string YourAdvisors => t[nameof(YourAdvisors)];
    public string YourClients => t[nameof(YourClients)];
    public string NoPairs => t[nameof(NoPairs)];
    public string YourWord => t[nameof(YourWord)];
    public string AdvisorWillSay => t[nameof(AdvisorWillSay)];
    public string ClientWillSay => t[nameof(ClientWillSay)];
    public string Client => t[nameof(Client)];
    public string ConfirmAdvisorWord => t[nameof(ConfirmAdvisorWord)];
    public string VerifyClientWord => t[nameof(VerifyClientWord)];
    public string Check => t[nameof(Check)];
    public string SearchClients => t[nameof(SearchClients)];
    public string Search => t[nameof(Search)];
    public string NeedsScript => t[nameof(NeedsScript)];
    [JsonPropertyName("calling")] public string CallingNow => t[nameof(CallingNow)];
    [JsonPropertyName("not_calling")] public string NotCalling => t[nameof(NotCalling)];
    [JsonPropertyName("they_said_it")] public string TheySaidIt => t[nameof(TheySaidIt)];
    [JsonPropertyName("they_did_not")] public string TheyDidNot => t[nameof(TheyDidNot)];
    [JsonPropertyName("match_advisor")] public string MatchAdvisor => t[nameof(MatchAdvisor)];
    [JsonPropertyName("match_client")] public string MatchClient => t[nameof(MatchClient)];
    [JsonPropertyName("mismatch")] public string Mismatch => t[nameof(Mismatch)];
    [JsonPropertyName("new_words_in")] public string NewWordsIn => t[nameof(NewWordsIn)];
    [JsonPropertyName("start_call")] public string StartCall => t[nameof(StartCall)];
    [JsonPropertyName("end_call")] public string EndCall => t[nameof(EndCall)];
    [JsonPropertyName("calling_client")] public string CallingClient => t[nameof(CallingClient)];
    [JsonPropertyName("active")] public string Active => t[nameof(Active)];
    [JsonPropertyName("online")] public string Online => t[nameof(Online)];
    [JsonPropertyName("offline")] public string Offline => t[nameof(Offline)];
    [JsonPropertyName("connecting")] public string Connecting => t[nameof(Connecting)];
    [JsonPropertyName("live")] public string Live => t[nameof(Live)];
    [JsonPropertyName("reconnecting")] public string Reconnecting => t[nameof(Reconnecting)];
    [JsonPropertyName("session_ended")] public string SessionEnded => t[nameof(SessionEnded)];
    [JsonPropertyName("sign_in_again")] public string SignInAgain => t[nameof(SignInAgain)];
    [JsonPropertyName("failed")] public string Failed => t[nameof(Failed)];
    [JsonPropertyName("client_heard_it")] public string ClientHeardYourWord => t[nameof(ClientHeardYourWord)];
    [JsonPropertyName("client_heard_other")] public string ClientHeardOtherWord => t[nameof(ClientHeardOtherWord)];
    [JsonPropertyName("advisor_heard_it")] public string AdvisorHeardYourWord => t[nameof(AdvisorHeardYourWord)];
    [JsonPropertyName("advisor_heard_other")] public string AdvisorHeardOtherWord => t[nameof(AdvisorHeardOtherWord)];
    [JsonPropertyName("mismatch_banner")] public string MismatchBanner => t[nameof(MismatchBanner)];

    // Devices, consent, sign-out
    public string DevicesTitle => t[nameof(DevicesTitle)];
    public string DevicesIntro => t[nameof(DevicesIntro)];
    public string Username => t[nameof(Username)];
    public string Code => t[nameof(Code)];
    public string DeviceName => t[nameof(DeviceName)];
    public string Register => t[nameof(Register)];
    public string UsePasskeyInstead => t[nameof(UsePasskeyInstead)];
    public string DeviceFailure => t[nameof(DeviceFailure)];
    public string SignedOutTitle => t[nameof(SignedOutTitle)];
    public string SignedOutText => t[nameof(SignedOutText)];
    public string ConsentTitle => t[nameof(ConsentTitle)];
    public string ConsentHeading => t[nameof(ConsentHeading)];
    public string ConsentAsks => t[nameof(ConsentAsks)];
    public string ConsentWithdraw => t[nameof(ConsentWithdraw)];
    public string Allow => t[nameof(Allow)];
    public string Deny => t[nameof(Deny)];
    public string SignOutQuestion => t[nameof(SignOutQuestion)];
    public string OidcLogoutText => t[nameof(OidcLogoutText)];
    public string StaySignedIn => t[nameof(StaySignedIn)];

    /// <summary>What an OpenID Connect scope lets the application do, in the user's words.</summary>
    public string ScopeDescription(string scope) => t["Scope." + scope];

    public string PresenceText(string presence) => presence switch
    {
        CallVerification.Presence.Active => Active,
        CallVerification.Presence.Online => Online,
        _ => Offline,
    };
}
