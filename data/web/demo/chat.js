// chat.js: the chat demo's logic over owlsock-client.js.
//
// Speaks the protocol of owlsockd's `room` behaviour: every JSON object
// sent goes to the others in the room with "from": {"user", "connection"}
// set by the server; the `members` call lists the users in the room.

import { OwlsockClient } from '../client/owlsock-client.js';

const params = new URLSearchParams(location.search);
const hash = new URLSearchParams(location.hash.slice(1));
const room = params.get('room') || 'lobby';
const $ = (id) => document.getElementById(id);
let token = hash.get('token') || sessionStorage.getItem('owlsock-token') || '';

$('room').textContent = room;

// The subject of a JWT, for display only: the server decides who sent what.
function subjectOf (jwt) {
  try {
    const part = jwt.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    return JSON.parse(atob(part)).sub || '?';
  } catch (e) {
    return '?';
  }
}

function line (sender, text, notice = false) {
  const li = document.createElement('li');
  if (sender) {
    const b = document.createElement('span');
    b.className = 'sender';
    b.textContent = sender;
    li.append(b);
  }
  const span = document.createElement('span');
  span.textContent = text;
  if (notice) span.className = 'notice';
  li.append(span);
  $('messages').append(li);
  $('messages').scrollTop = $('messages').scrollHeight;
}

// ?server=HOST:PORT: another server than the page's.
const server = params.get('server') || location.host;
const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${server}/ws/chat/${encodeURIComponent(room)}`;
// The token function: asked before each connect and when the server says
// the token expires. A page that can get a fresh token (from its login
// service) returns it here; window.owlsockToken lets a test hand one in.
const client = new OwlsockClient(url, {
  token: async () => {
    const next = window.owlsockToken ? await window.owlsockToken() : token;
    if (next) $('user').textContent = subjectOf(next);
    return next;
  },
  callTimeout: Number(params.get('callTimeout') || 10000),
  minDelay: Number(params.get('minDelay') || 500),
});
window.owlsockClient = client;

client.on('state', ({ state, previous, reason, delay }) => {
  $('state').textContent = state;
  $('state').className = 'state ' + state;
  document.body.dataset.state = state;
  if (state === 'reconnecting' && previous === 'connected') {
    line(null, `connection lost${reason ? ' (' + reason + ')' : ''}: reconnecting`, true);
  } else if (state === 'connected' && client.reconnected) {
    line(null, 'reconnected', true);
  }
  if (state === 'connected') {
    client.reconnected = true;
    $('error').textContent = '';
    refreshMembers();
  }
  if (state === 'reconnecting' && delay !== undefined) {
    $('state').title = `next attempt in ${Math.round(delay)} ms`;
  }
});
client.on('error', (error) => {
  $('error').textContent = `${error.code}: ${error.message}`;
  document.body.dataset.error = error.code;
});
client.on('auth', (identity) => {
  line(null, `token refreshed for ${identity.userId}`, true);
  document.body.dataset.refreshed = String(Number(document.body.dataset.refreshed || 0) + 1);
});
client.on('message', (message) => {
  if (typeof message.content !== 'string') return;
  line(message.from?.user ?? 'anonymous', message.content);
  if (!members.has(message.from?.user)) refreshMembers();
});

let members = new Set();
async function refreshMembers () {
  try {
    members = new Set(await client.call('members'));
  } catch (e) {
    return;
  }
  $('members').replaceChildren(...[...members].sort().map((name) => {
    const li = document.createElement('li');
    li.textContent = name;
    return li;
  }));
}
setInterval(() => { if (client.state === 'connected') refreshMembers(); }, 5000);

$('send').addEventListener('submit', (event) => {
  event.preventDefault();
  const content = $('text').value.trim();
  if (!content) return;
  try {
    client.send({ type: 'chat-message', content });
    line($('user').textContent, content);
    $('text').value = '';
  } catch (e) {
    $('error').textContent = `${e.code}: ${e.message}`;
  }
});
$('join').addEventListener('submit', (event) => {
  event.preventDefault();
  const next = $('newroom').value.trim();
  if (next) location.search = '?room=' + encodeURIComponent(next);
});
$('login').addEventListener('submit', (event) => {
  event.preventDefault();
  token = $('token').value.trim();
  sessionStorage.setItem('owlsock-token', token);
  $('login').hidden = true;
  start();
});

function start () {
  client.connect();
}

if (token || window.owlsockToken) start();
else $('login').hidden = false;
