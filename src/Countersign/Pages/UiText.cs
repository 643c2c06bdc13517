using System.Text.Json.Serialization;

namespace Countersign.Pages;

/// <summary>
/// The pages' words in English and French; a user's <see cref="Accounts.User.Language"/> picks one. Kept in
/// code rather than resource files: two languages, checked by the compiler, and one place to add the next.
/// The <c>[JsonPropertyName]</c> ones are also handed to calls.js.
/// </summary>
public sealed record UiText
{
    public required string Language { get; init; }
    public required string LanguageName { get; init; }

    // Layout and account
    public required string Account { get; init; }
    public required string Calls { get; init; }
    public required string SignOut { get; init; }
    public required string LanguageLabel { get; init; }
    public required string Save { get; init; }
    public required string LanguageHelp { get; init; }

    // Call verification
    public required string CallsTitle { get; init; }
    public required string ClientIntro { get; init; }
    public required string AdvisorIntro { get; init; }
    public required string YourAdvisors { get; init; }
    public required string YourClients { get; init; }
    public required string NoPairs { get; init; }
    public required string YourWord { get; init; }
    public required string AdvisorWillSay { get; init; }
    public required string ClientWillSay { get; init; }
    public required string Client { get; init; }
    public required string ConfirmAdvisorWord { get; init; }
    public required string VerifyClientWord { get; init; }
    public required string Check { get; init; }
    public required string SearchClients { get; init; }
    public required string Search { get; init; }
    public required string NeedsScript { get; init; }
    [JsonPropertyName("calling")] public required string CallingNow { get; init; }
    [JsonPropertyName("not_calling")] public required string NotCalling { get; init; }
    [JsonPropertyName("they_said_it")] public required string TheySaidIt { get; init; }
    [JsonPropertyName("they_did_not")] public required string TheyDidNot { get; init; }
    [JsonPropertyName("match_advisor")] public required string MatchAdvisor { get; init; }
    [JsonPropertyName("match_client")] public required string MatchClient { get; init; }
    [JsonPropertyName("mismatch")] public required string Mismatch { get; init; }
    [JsonPropertyName("new_words_in")] public required string NewWordsIn { get; init; }
    [JsonPropertyName("start_call")] public required string StartCall { get; init; }
    [JsonPropertyName("end_call")] public required string EndCall { get; init; }
    [JsonPropertyName("calling_client")] public required string CallingClient { get; init; }
    [JsonPropertyName("active")] public required string Active { get; init; }
    [JsonPropertyName("online")] public required string Online { get; init; }
    [JsonPropertyName("offline")] public required string Offline { get; init; }
    [JsonPropertyName("connecting")] public required string Connecting { get; init; }
    [JsonPropertyName("live")] public required string Live { get; init; }
    [JsonPropertyName("reconnecting")] public required string Reconnecting { get; init; }
    [JsonPropertyName("session_ended")] public required string SessionEnded { get; init; }
    [JsonPropertyName("sign_in_again")] public required string SignInAgain { get; init; }
    [JsonPropertyName("failed")] public required string Failed { get; init; }

    public string PresenceText(string presence) => presence switch
    {
        CallVerification.Presence.Active => Active,
        CallVerification.Presence.Online => Online,
        _ => Offline,
    };

    public static readonly UiText English = new()
    {
        Language = "en",
        LanguageName = "English",
        Account = "Account",
        Calls = "Calls",
        SignOut = "Sign out",
        LanguageLabel = "Language",
        Save = "Save",
        LanguageHelp = "The language of these pages and, for a client, of your call-verification words.",
        CallsTitle = "Call verification",
        ClientIntro = "When your advisor calls, read them your word and check that they say theirs. Nobody genuine will ask for your password or codes.",
        AdvisorIntro = "Before discussing anything, ask the client for their word and check it; then read them yours.",
        YourAdvisors = "Your advisors",
        YourClients = "Your clients",
        NoPairs = "Nobody is paired with you for call verification yet.",
        YourWord = "Your word",
        AdvisorWillSay = "Your advisor will say",
        ClientWillSay = "Client will say",
        Client = "Client",
        ConfirmAdvisorWord = "Confirm your advisor's word",
        VerifyClientWord = "Verify client's word",
        Check = "Check",
        SearchClients = "Search clients",
        Search = "Search",
        NeedsScript = "This page needs JavaScript to stay live and to check words.",
        CallingNow = "{0} is calling you now",
        NotCalling = "No advisor is calling you now — if someone claims to, hang up.",
        TheySaidIt = "They said it",
        TheyDidNot = "They said something else",
        MatchAdvisor = "Match: this is your advisor.",
        MatchClient = "Match: the client's word is right.",
        Mismatch = "No match. Do not go on with this call; it has been reported.",
        NewWordsIn = "New words in {0} s",
        StartCall = "I'm calling",
        EndCall = "End call",
        CallingClient = "Calling",
        Active = "active",
        Online = "online",
        Offline = "offline",
        Connecting = "Connecting…",
        Live = "Live",
        Reconnecting = "Connection lost, reconnecting…",
        SessionEnded = "Your session ended after {0} minutes without activity, and the words are hidden. Sign in again to see them.",
        SignInAgain = "Sign in again",
        Failed = "That did not work. Reload the page and try again.",
    };

    public static readonly UiText French = new()
    {
        Language = "fr",
        LanguageName = "Français",
        Account = "Compte",
        Calls = "Appels",
        SignOut = "Se déconnecter",
        LanguageLabel = "Langue",
        Save = "Enregistrer",
        LanguageHelp = "La langue de ces pages et, pour un client, celle de vos mots de vérification d'appel.",
        CallsTitle = "Vérification d'appel",
        ClientIntro = "Quand votre conseiller vous appelle, lisez-lui votre mot et vérifiez qu'il vous dit le sien. Personne de sérieux ne vous demandera votre mot de passe ni vos codes.",
        AdvisorIntro = "Avant toute chose, demandez au client son mot et vérifiez-le ; lisez-lui ensuite le vôtre.",
        YourAdvisors = "Vos conseillers",
        YourClients = "Vos clients",
        NoPairs = "Personne ne vous est encore associé pour la vérification d'appel.",
        YourWord = "Votre mot",
        AdvisorWillSay = "Votre conseiller dira",
        ClientWillSay = "Le client dira",
        Client = "Client",
        ConfirmAdvisorWord = "Confirmer le mot de votre conseiller",
        VerifyClientWord = "Vérifier le mot du client",
        Check = "Vérifier",
        SearchClients = "Rechercher un client",
        Search = "Rechercher",
        NeedsScript = "Cette page a besoin de JavaScript pour rester à jour et vérifier les mots.",
        CallingNow = "{0} vous appelle en ce moment",
        NotCalling = "Aucun conseiller ne vous appelle en ce moment — si quelqu'un le prétend, raccrochez.",
        TheySaidIt = "Il l'a dit",
        TheyDidNot = "Il a dit autre chose",
        MatchAdvisor = "Correspondance : c'est bien votre conseiller.",
        MatchClient = "Correspondance : le mot du client est juste.",
        Mismatch = "Pas de correspondance. N'allez pas plus loin dans cet appel ; c'est signalé.",
        NewWordsIn = "Nouveaux mots dans {0} s",
        StartCall = "J'appelle",
        EndCall = "Fin d'appel",
        CallingClient = "Appel en cours",
        Active = "actif",
        Online = "en ligne",
        Offline = "hors ligne",
        Connecting = "Connexion…",
        Live = "En direct",
        Reconnecting = "Connexion perdue, reconnexion…",
        SessionEnded = "Votre session a pris fin après {0} minutes d'inactivité et les mots sont masqués. Reconnectez-vous pour les revoir.",
        SignInAgain = "Se reconnecter",
        Failed = "Cela n'a pas fonctionné. Rechargez la page et réessayez.",
    };

    public static IReadOnlyList<UiText> All { get; } = [English, French];

    public static UiText For(string? language) => language == "fr" ? French : English;
}
