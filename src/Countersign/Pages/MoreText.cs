namespace Countersign.Pages;

/// <summary>
/// The marker type of sign-in text added with issue 16's admin gaps (MoreText.resx, MoreText.fr.resx beside it), kept
/// apart from the files the translation work changes at the same time; it may be folded into AccountText later.
/// </summary>
public sealed class MoreText;
