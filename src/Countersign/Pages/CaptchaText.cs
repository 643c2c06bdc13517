namespace Countersign.Pages;

/// <summary>
/// The proof-of-work widget's own words (CaptchaText.resx, CaptchaText.fr.resx beside this file). Unlike the other
/// resources the keys are not English text: they are the names altcha 3 gives its strings (its bundled English
/// <c>i18n</c> object, <c>ClientLibs/node_modules/altcha/dist/main/altcha.js</c>), because the page hands the whole set to
/// the widget (<c>Shared/_Captcha.cshtml</c>, <c>wwwroot/captcha.js</c>). The widget uses one language's set as it is,
/// without falling back to English per key, so every key it knows must be here (<c>CaptchaWidgetTextTests</c>).
/// </summary>
public sealed class CaptchaText;
