// The proof of work on /login: pressing "Sign in" before the widget has finished used to do nothing visible. Now the
// page says it is waiting and sends the form by itself once the widget reports it is verified. Without JavaScript the
// server answers with the same explanation (Pages/Login.cshtml.cs).
const widget = document.getElementById('captcha');
const form = widget?.closest('form');
const wait = document.getElementById('captcha-wait');
let verified = false;
let pending = false;

widget?.addEventListener('statechange', (event) => {
  verified = event.detail?.state === 'verified';
  if (verified && pending) {
    pending = false;
    form.requestSubmit();
  }
});

form?.addEventListener('submit', (event) => {
  if (verified) { return; }
  event.preventDefault();
  pending = true;
  if (wait) { wait.hidden = false; }
});
