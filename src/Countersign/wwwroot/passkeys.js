// Passkeys (WebAuthn) for the sign-in and account pages. The server makes the options and checks the
// results (ASP.NET Core Identity); this script only hands them to the browser and back.
const antiforgery = () => document.querySelector('input[name="__RequestVerificationToken"]')?.value ?? '';

async function post(url, body) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'RequestVerificationToken': antiforgery() },
    body: JSON.stringify(body ?? {}),
  });
  if (!response.ok) {
    let detail = 'The passkey was not accepted.';
    let code = null;
    try { const problem = await response.json(); detail = problem.title ?? detail; code = problem.error ?? null; } catch { /* not JSON */ }
    throw Object.assign(new Error(detail), { fromServer: true, code });
  }
  return response;
}

function show(message) {
  const status = document.getElementById('passkey-status');
  if (status) { status.textContent = message; status.hidden = false; }
}

// The browser's own WebAuthn errors ("The operation either timed out or was not allowed. See: https://www.w3.org/TR/...")
// mean nothing to a user; these say what happened and what to do. The words come from the page (data-* on the status
// element) so they follow its language, with English as the fallback.
const words = {
  NotAllowedError: 'The passkey request was cancelled or timed out. Try again, and confirm on your device when it asks.',
  InvalidStateError: 'This device already holds a passkey for your account.',
  SecurityError: 'Passkeys work only on this site\'s own address (https, or localhost).',
  AbortError: 'The passkey request was cancelled.',
  NotSupportedError: 'This device or browser cannot use this kind of passkey.',
  ConstraintError: 'This device cannot make a passkey with the screen lock this needs. Set up a screen lock or use a security key.',
};

function explain(error) {
  const status = document.getElementById('passkey-status');
  const name = error?.name;
  if (name && words[name]) {
    return status?.dataset[`error${name}`] ?? words[name];
  }
  // Our server answers with a stable code (docs/errors.md) and an English title; the page holds the code's words in its
  // language (data-server-<code>), the title is the fallback. Anything else is unexpected.
  if (error instanceof Error && error.fromServer) {
    const key = error.code ? `server${error.code.split('_').map((w) => w[0].toUpperCase() + w.slice(1)).join('')}` : null;
    return (key && status?.dataset[key]) || error.message;
  }
  return status?.dataset.errorOther ?? 'The passkey did not work. Try again.';
}

async function register(name) {
  const options = await (await post('/account/passkeys/creation-options')).json();
  const credential = await navigator.credentials.create({ publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(options) });
  await post('/account/passkeys', { credential: JSON.stringify(credential), name });
  location.reload();
}

async function signIn(stepToken) {
  const options = await (await post('/login/passkey/options', { step_token: stepToken })).json();
  const credential = await navigator.credentials.get({ publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(options) });
  const returnUrl = new URLSearchParams(location.search).get('ReturnUrl');
  const result = await (await post('/login/passkey', { credential: JSON.stringify(credential), step_token: stepToken, return_url: returnUrl })).json();
  location.href = result.redirect;
}

function supported() {
  return window.PublicKeyCredential && PublicKeyCredential.parseCreationOptionsFromJSON;
}

document.getElementById('passkey-add')?.addEventListener('submit', async (event) => {
  event.preventDefault();
  if (!supported()) { show(document.getElementById('passkey-status')?.dataset.errorUnsupported ?? 'This browser cannot create passkeys.'); return; }

  try { await register(event.target.elements.namedItem('PasskeyName').value); } catch (e) { show(explain(e)); }
});

for (const button of document.querySelectorAll('[data-passkey-signin]')) {
  button.hidden = !supported();
  button.addEventListener('click', async () => {
    try { await signIn(button.dataset.stepToken || null); } catch (e) { show(explain(e)); }
  });
}

// Registering this browser as a device with a passkey (/devices/add): the same assertion as a sign-in, another endpoint.
async function addDevice(rd) {
  const options = await (await post('/devices/add/passkey/options')).json();
  const credential = await navigator.credentials.get({ publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(options) });
  const name = document.getElementById('device-name')?.value || null;
  const result = await (await post('/devices/add/passkey', { credential: JSON.stringify(credential), name, rd })).json();
  location.href = result.redirect;
}

for (const button of document.querySelectorAll('[data-passkey-device]')) {
  button.hidden = !supported();
  button.addEventListener('click', async () => {
    try { await addDevice(button.dataset.rd || null); } catch (e) { show(explain(e)); }
  });
}

// Step-up on /reauth with a passkey: options for the signed-in user, the assertion posted back as a form (the page's
// own anti-forgery token with it); the server refreshes the session's reauth_time and says where to go.
async function reauth() {
  const form = document.getElementById('reauth-passkey-form');
  const send = async (handler, fields) => {
    const response = await fetch(`/reauth?handler=${handler}`, { method: 'POST', body: new URLSearchParams([...new FormData(form), ...fields]) });
    if (!response.ok) {
      let detail = 'The passkey was not accepted.';
      try { detail = (await response.json()).title ?? detail; } catch { /* not JSON */ }
      throw Object.assign(new Error(detail), { fromServer: true });
    }
    return response;
  };
  const options = await (await send('PasskeyOptions', [])).json();
  const credential = await navigator.credentials.get({ publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(options) });
  const result = await (await send('Passkey', [['Credential', JSON.stringify(credential)]])).json();
  location.href = result.redirect;
}

for (const button of document.querySelectorAll('[data-passkey-reauth]')) {
  button.hidden = !supported();
  button.addEventListener('click', async () => {
    try { await reauth(); } catch (e) { show(explain(e)); }
  });
}
