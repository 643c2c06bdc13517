namespace Countersign.Pages;

/// <summary>The marker type of the <c>/reauth</c> page's text (ReauthText.resx, ReauthText.fr.resx beside it).</summary>
public sealed class ReauthText;
