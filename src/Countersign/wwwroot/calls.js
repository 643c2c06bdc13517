// Keeps the call-verification page live: new words at each rotation, the calling banner, presence, and
// the checks, all through the /hubs/calls SignalR hub (its client comes from npm at build, see the csproj).
// The words are shown only while the session is live: after the server's inactivity timeout it sends
// "session_ended", and the page hides them and asks the user to sign in again.
/* global signalR */

const root = document.getElementById('calls');
const text = JSON.parse(document.getElementById('calls-text').textContent);
const status = document.getElementById('live-status');

// The server's clock, not the browser's, decides when a window ends.
let clockOffset = Number(root.dataset.serverNow) - Date.now();
let windowEndsAt = Number(root.dataset.windowEndsAt);
const periodMs = Number(root.dataset.period) * 1000;

// A function replacement: a name containing "$&" must appear as written.
const format = (template, value) => template.replace('{0}', () => String(value));
const pairElements = id => document.querySelectorAll(`.pair[data-pair-id="${id}"]`);

// A WebSocket straight away, without SignalR's negotiate request: behind a load balancer without sticky
// sessions the negotiate and the socket could reach different nodes, and the socket would be refused
// (docs/operations.md, "Deploying N nodes").
const connection = new signalR.HubConnectionBuilder()
  .withUrl('/hubs/calls', { skipNegotiation: true, transport: signalR.HttpTransportType.WebSockets })
  .withAutomaticReconnect()
  .build();

connection.on('words', (pairs, serverNow) => {
  clockOffset = Date.parse(serverNow) - Date.now();
  for (const pair of pairs) {
    windowEndsAt = Date.parse(pair.window_ends_at);
    for (const element of pairElements(pair.pair_id)) {
      element.querySelector('.my-word').textContent = pair.my_word;
      element.querySelector('.their-word').textContent = pair.their_word;
      showPresence(element, pair.counterpart_presence);
      if (element.classList.contains('client-view')) {
        showCalling(element, pair.calling);
      } else {
        showCallToggle(element, pair.calling);
      }
    }
  }
  tick();
});

connection.on('call', notice => {
  for (const element of pairElements(notice.pair_id)) {
    showCalling(element, notice.calling);
  }
});

// The counterpart checked this user's word. A wrong word heard on the other end is the alarm that matters most:
// the advisor's console (or the client's card) shows it at once, in red.
connection.on('check', notice => {
  for (const element of pairElements(notice.pair_id)) {
    const advisorView = element.classList.contains('advisor-view');
    if (notice.matched) {
      showResult(element, 'ok', advisorView ? text.client_heard_it : text.advisor_heard_it);
    } else {
      showResult(element, 'bad', advisorView ? text.client_heard_other : text.advisor_heard_other);
      showAlarm(element);
    }
  }
});

connection.on('presence', notice => {
  for (const element of pairElements(notice.pair_id)) {
    showPresence(element, notice.presence);
  }
});

connection.on('session_ended', endSession);

connection.onreconnecting(() => { status.textContent = text.reconnecting; });
// Reconnecting gave up (or the server refused the session): the words may be stale or no longer ours.
connection.onclose(endSession);
connection.onreconnected(() => { status.textContent = text.live; });

function showPresence(element, presence) {
  const badge = element.querySelector('.presence');
  badge.dataset.presence = presence;
  badge.textContent = text[presence] ?? text.offline;
}

function showCalling(element, calling) {
  const banner = element.querySelector('.banner');
  if (banner.classList.contains('alarm')) return;
  banner.classList.toggle('calling', calling);
  banner.classList.toggle('quiet', !calling);
  banner.textContent = calling ? format(text.calling, element.dataset.counterpart) : text.not_calling;
}

// A wrong word: the card's banner (client) or the console's row (advisor) turns red and stays so until the page
// reloads, so a green "calling" banner never sits above a red warning.
function showAlarm(element) {
  element.classList.add('alarm');
  const banner = element.querySelector('.banner');
  if (banner) {
    banner.classList.remove('calling', 'quiet');
    banner.classList.add('alarm');
    banner.textContent = text.mismatch_banner;
  }
}

function showCallToggle(element, calling) {
  element.dataset.calling = String(calling);
  element.querySelector('.call-toggle').textContent = calling ? text.end_call : text.start_call;
}

function showResult(element, kind, message) {
  const result = element.querySelector('.result');
  result.hidden = false;
  result.className = `result ${kind}`;
  // A warning interrupts the screen reader; a match is only announced politely.
  result.setAttribute('role', kind === 'bad' ? 'alert' : 'status');
  result.textContent = message;
}

let ended = false;
let ticking = 0;
function endSession() {
  if (ended) return;
  ended = true;
  connection.stop();
  for (const word of document.querySelectorAll('.word')) {
    word.textContent = '······';
  }
  for (const control of root.querySelectorAll('button, input')) {
    control.disabled = true;
  }
  // Nothing live stays on screen: no countdown to words that will not come, no "calling" banner.
  clearInterval(ticking);
  for (const stale of root.querySelectorAll('.countdown, .banner')) {
    stale.hidden = true;
  }
  document.getElementById('session-ended').hidden = false;
  status.textContent = '';
}

// Checks: the typed word, or a tap on "they said it" / "they said something else".
root.addEventListener('submit', async event => {
  const form = event.target.closest('form.verify');
  if (!form) return;
  event.preventDefault();
  const element = form.closest('.pair');
  const input = form.elements.namedItem('word');
  await check(element, () => connection.invoke('Verify', element.dataset.pairId, input.value), r => r?.match);
  input.select();
});

root.addEventListener('click', async event => {
  const tap = event.target.closest('button.tap');
  if (tap) {
    const element = tap.closest('.pair');
    const matched = tap.dataset.matched === 'true';
    await check(element, () => connection.invoke('Confirm', element.dataset.pairId, matched), ok => ok && matched);
    return;
  }
  const toggle = event.target.closest('button.call-toggle');
  if (toggle) {
    const element = toggle.closest('.pair');
    const calling = element.dataset.calling !== 'true';
    try {
      if (await connection.invoke(calling ? 'StartCall' : 'EndCall', element.dataset.pairId)) {
        showCallToggle(element, calling);
      }
    } catch {
      showResult(element, 'bad', text.failed);
    }
  }
});

async function check(element, invoke, isMatch) {
  try {
    const outcome = await invoke();
    if (outcome === null || outcome === false) {
      showResult(element, 'bad', text.failed);
    } else if (isMatch(outcome)) {
      showResult(element, 'ok', element.classList.contains('client-view') ? text.match_advisor : text.match_client);
    } else {
      showResult(element, 'bad', text.mismatch);
      showAlarm(element);
    }
  } catch {
    showResult(element, 'bad', text.failed);
  }
}

// Activity keeps the words coming; sent at most every 20 s. The page also hides the words by itself once
// the user has been idle for the server's timeout, rather than wait for the server's next sweep.
let lastActivity = 0;
let lastUserInput = Date.now();
const inactivityMs = Number(root.dataset.inactivitySeconds) * 1000;
setInterval(() => { if (Date.now() - lastUserInput > inactivityMs) endSession(); }, 1000);
for (const kind of ['keydown', 'pointerdown']) {
  document.addEventListener(kind, () => {
    lastUserInput = Date.now();
    if (Date.now() - lastActivity > 20_000 && connection.state === signalR.HubConnectionState.Connected) {
      lastActivity = Date.now();
      connection.invoke('Activity').catch(() => {});
    }
  });
}

// The countdown: seconds and an emptying ring to the next rotation.
function tick() {
  const left = Math.max(0, windowEndsAt - (Date.now() + clockOffset));
  const seconds = Math.ceil(left / 1000);
  for (const countdown of document.querySelectorAll('.countdown')) {
    countdown.querySelector('.seconds').textContent = format(text.new_words_in, seconds);
    countdown.querySelector('.ring').style.strokeDashoffset = String(100 - (100 * left) / periodMs);
  }
}
ticking = setInterval(tick, 250);
tick();

try {
  await connection.start();
  lastActivity = Date.now();
  status.textContent = text.live;
} catch {
  status.textContent = text.reconnecting;
}
