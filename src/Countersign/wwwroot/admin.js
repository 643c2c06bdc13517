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

// A secret shown once (a service token, a client secret): a copy button beside it. Hidden without JavaScript; the
// secret is on the page either way, to select by hand.
for (const button of document.querySelectorAll('button[data-copy]')) {
  const tools = button.parentElement;
  if (tools) tools.hidden = false;
  button.addEventListener('click', async () => {
    const status = tools?.querySelector('[role=status]');
    try {
      await navigator.clipboard.writeText(document.getElementById(button.dataset.copy)?.textContent.trim() ?? '');
      if (status) status.textContent = button.dataset.copied ?? 'Copied.';
    } catch {
      if (status) status.textContent = button.dataset.failed ?? 'The browser did not allow copying.';
    }
  });
}
