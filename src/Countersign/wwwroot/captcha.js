// The proof-of-work widget in the page's language. altcha 3 reads its words from its global registry
// ($altcha.i18n, keyed by language) and bundles English only; the page hands over its own words for its language
// (Pages/Shared/_Captcha.cshtml, from Pages/CaptchaText.resx) and this registers them. Module scripts run in document
// order, so the widget's script has defined the registry by now; the widget re-renders when the registry changes.
const data = document.getElementById('captcha-text');
if (data && globalThis.$altcha) {
  const words = JSON.parse(data.textContent);
  // The widget inserts the footer as HTML; ours is plain text, so it goes in as text whatever it holds.
  const footer = document.createElement('span');
  footer.textContent = words.footer ?? '';
  words.footer = footer.innerHTML;
  globalThis.$altcha.i18n.set(data.dataset.language, words);
}
