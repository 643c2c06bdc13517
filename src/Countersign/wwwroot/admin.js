// The admin console's one script: a progress indicator while a long read (the audit chain's verification) runs.
// Served from this origin, so the page's CSP (script-src 'self') allows it; the console works without it.
for (const form of document.querySelectorAll('form[data-progress]')) {
  form.addEventListener('submit', () => {
    const indicator = document.getElementById(form.dataset.progress);
    if (indicator) indicator.hidden = false;
    const button = form.querySelector('button[type=submit]');
    if (button) button.disabled = true;
  });
}
