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
    try { detail = (await response.json()).title ?? detail; } catch { /* not JSON */ }
    throw new Error(detail);
  }
  return response;
}

function show(message) {
  const status = document.getElementById('passkey-status');
  if (status) { status.textContent = message; status.hidden = false; }
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
  if (!supported()) { show('This browser cannot create passkeys.'); return; }
  try { await register(event.target.elements.namedItem('PasskeyName').value); } catch (e) { show(e.message); }
});

for (const button of document.querySelectorAll('[data-passkey-signin]')) {
  button.hidden = !supported();
  button.addEventListener('click', async () => {
    try { await signIn(button.dataset.stepToken || null); } catch (e) { show(e.message); }
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
    try { await addDevice(button.dataset.rd || null); } catch (e) { show(e.message); }
  });
}
