namespace Countersign.Pages.Admin;

/// <summary>The marker type of the admin console's text (AdminText.resx, AdminText.fr.resx beside it).</summary>
public sealed class AdminText;
