// test-client-recover.mjs: the browser client's history positions, in node, through
// the `WebSocket` option with a stand-in that records each URL the client opens and
// lets the test deliver frames and closes. No browser: the rules themselves (what is
// kept, what the reconnect asks for, `recovered`, the 64-room bound, bad positions).
// test-browser.mjs runs the same client in Chromium against a real server.
//
//   node --test --test-reporter=tap tests/browser/test-client-recover.mjs
//
// SPDX-License-Identifier: LGPL-2.1-or-later

import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const sourceRoot = process.env.OWLSOCK_SOURCE_ROOT || path.resolve(here, '../..');
const { OwlsockClient, MAX_POSITIONS, MAX_RECOVER_LENGTH } =
  await import(pathToFileURL(path.join(sourceRoot, 'data', 'web', 'client', 'owlsock-client.js')).href);

const WAIT = 5000;   // the watchdog of every wait

// Each socket the client opens; the test plays the server.
class FakeSocket {
  static opened = [];

  constructor (url, protocols) {
    this.url = url;
    this.protocols = protocols;
    this.sent = [];
    FakeSocket.opened.push(this);
  }

  send (text) { this.sent.push(text); }
  close () {}   // the test decides when a socket closes
  open () { this.onopen(); }
  receive (frame) { this.onmessage({ data: typeof frame === 'string' ? frame : JSON.stringify(frame) }); }
  drop (code = 1012) { this.onclose({ code, reason: 'restart' }); }
}

async function until (predicate, what) {
  const started = Date.now();
  while (!predicate()) {
    if (Date.now() - started > WAIT) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

// A client with fast reconnects, connected on its first socket.
async function connected (options = {}) {
  FakeSocket.opened = [];
  const client = new OwlsockClient('ws://example.test/ws/news?lang=en',
    { WebSocket: FakeSocket, minDelay: 1, maxDelay: 2, stableAfter: 1, pingInterval: 0, ...options });
  client.connect();
  await until(() => FakeSocket.opened.length === 1, 'the first socket');
  FakeSocket.opened[0].open();
  return client;
}

// The server drops socket `index`; the client opens the next one.
async function reconnect (index) {
  FakeSocket.opened[index].drop();
  await until(() => FakeSocket.opened.length === index + 2, 'the reconnect');
  FakeSocket.opened[index + 1].open();
  return FakeSocket.opened[index + 1];
}

// The decoded `recover` parameter of a socket's URL, or null.
function recoverOf (socket) {
  const value = new URL(socket.url).searchParams.get('recover');
  return value === null ? null : JSON.parse(value);
}

const pos = (room, offset, epoch, rest = {}) => JSON.stringify({ pos: { room, offset, epoch }, ...rest });
const joined = (payload) => ({ type: 'system', event: 'joined', payload });

test('positions from pos and joined go back on the reconnect; recovered is told', async () => {
  const client = await connected();
  const messages = [], recovered = [], order = [];
  client.on('message', (m) => { messages.push(m); order.push('message'); });
  client.on('recovered', (r) => { recovered.push(r); order.push('recovered'); });
  client.on('system:joined', () => order.push('system:joined'));
  assert.equal(recoverOf(FakeSocket.opened[0]), null, 'the first connect asks nothing');

  const first = FakeSocket.opened[0];
  first.receive(pos('news', 4, 'e1', { type: 'story' }));
  first.receive(pos('news', 3, 'e1', { type: 'story' }));           // older: ignored
  assert.deepEqual(client.positions, { news: { offset: 4, epoch: 'e1' } });
  first.receive(joined({ room: 'sport', epoch: 'e2', offset: 10 }));
  first.receive(pos('météo & co', 1, 'e3', { type: 'event', event: 'tick', payload: 1 }));
  first.receive(pos('news', 2, 'e9', { type: 'story' }));           // a new epoch replaces
  const want = { news: { offset: 2, epoch: 'e9' }, 'météo & co': { offset: 1, epoch: 'e3' },
    sport: { offset: 10, epoch: 'e2' } };
  assert.deepEqual(client.positions, want);
  assert.deepEqual(Object.keys(client.positions), ['news', 'météo & co', 'sport'], 'most recent first');
  assert.deepEqual(messages[0], { pos: { room: 'news', offset: 4, epoch: 'e1' }, type: 'story' });

  const second = await reconnect(0);
  assert.deepEqual(recoverOf(second), want);
  assert.equal(new URL(second.url).searchParams.get('lang'), 'en');

  second.receive(joined({ room: 'news', epoch: 'e9', offset: 5, recovered: true, missed: 3 }));
  second.receive(joined({ room: 'sport', epoch: 'e7', offset: 1, recovered: false, missed: 0 }));
  second.receive(joined({ room: 'other', epoch: 'e', offset: 0 }));
  assert.deepEqual(recovered, [{ room: 'news', recovered: true, missed: 3 },
    { room: 'sport', recovered: false, missed: 0 }]);
  assert.deepEqual(order.slice(-5), ['recovered', 'system:joined', 'recovered', 'system:joined', 'system:joined']);
  assert.deepEqual(client.positions.sport, { offset: 1, epoch: 'e7' });
  client.close();
});

test('65 rooms: the 64 updated last are kept and sent', async () => {
  const client = await connected();
  for (let i = 0; i < 65; i++) FakeSocket.opened[0].receive(pos(`r${i}`, i + 1, 'e', { type: 'story' }));
  assert.equal(MAX_POSITIONS, 64);
  assert.equal(Object.keys(client.positions).length, 64);
  const sent = recoverOf(await reconnect(0));
  assert.equal(Object.keys(sent).length, 64);
  assert.equal(sent.r0, undefined);
  assert.deepEqual(sent.r64, { offset: 65, epoch: 'e' });
  assert.deepEqual(sent.r1, { offset: 2, epoch: 'e' });
  client.close();
});

test('long room names: the rooms updated last that fit in 8 KiB are sent', async () => {
  const client = await connected();
  const name = 'n'.repeat(150);
  for (let i = 0; i < 64; i++) client.setPosition(`${name}${i}`, 'e', i);
  const socket = await reconnect(0);
  const value = new URL(socket.url).searchParams.get('recover');
  assert.ok(encodeURIComponent(value).length <= MAX_RECOVER_LENGTH);
  const rooms = Object.keys(JSON.parse(value));
  assert.ok(rooms.length > 30 && rooms.length < 64, `${rooms.length} rooms sent`);
  assert.deepEqual(rooms, Array.from({ length: rooms.length }, (_, k) => `${name}${63 - k}`));
  client.close();
});

test('positions the server would refuse back are ignored', async () => {
  const client = await connected();
  const recovered = [], messages = [];
  client.on('recovered', (r) => recovered.push(r));
  client.on('message', (m) => messages.push(m));
  const socket = FakeSocket.opened[0];
  const bad = [
    '{"pos":{"room":"r","offset":"1","epoch":"e"}}',
    '{"pos":{"room":"r","offset":1.5,"epoch":"e"}}',
    '{"pos":{"room":"r","offset":-1,"epoch":"e"}}',
    '{"pos":{"room":"r","offset":9007199254740993,"epoch":"e"}}',
    '{"pos":{"room":"r","offset":1e300,"epoch":"e"}}',
    '{"pos":{"room":5,"offset":1,"epoch":"e"}}',
    '{"pos":{"room":"r","offset":1}}',
    `{"pos":{"room":"r","offset":1,"epoch":"${'é'.repeat(33)}"}}`,     // 66 bytes
    '{"pos":["r",1,"e"]}',
    '{"pos":null}',
    '{"type":"story","pos":{"room":"r","offset":1,"epoch":"e"}}',      // not leading: the app's
    JSON.stringify(joined({ room: 'r', epoch: 'e', offset: '1', recovered: true })),
    JSON.stringify(joined(null)),
  ];
  for (const frame of bad) socket.receive(frame);
  assert.deepEqual(client.positions, {});
  assert.deepEqual(recovered, []);
  assert.equal(messages.length, bad.length - 2, 'the application still gets every message');
  socket.receive(joined({ room: 'j', epoch: 'e', offset: 2, recovered: 'yes' }));
  assert.deepEqual(client.positions, { j: { offset: 2, epoch: 'e' } }, 'kept, but no recovered');
  assert.deepEqual(recovered, []);
  assert.equal(client.state, 'connected');
  client.close();
});

test('seeded positions go on the first connect; recover: false asks nothing', async () => {
  FakeSocket.opened = [];
  const seeded = new OwlsockClient('ws://example.test/ws/news', { WebSocket: FakeSocket, pingInterval: 0 });
  seeded.setPosition('news', 'e1', 41);
  seeded.setPosition('gone', 'e1', 1);
  seeded.setPosition('gone', null);
  assert.throws(() => seeded.setPosition('bad', 'e', -1), TypeError);
  seeded.connect();
  await until(() => FakeSocket.opened.length === 1, 'the socket');
  assert.deepEqual(recoverOf(FakeSocket.opened[0]), { news: { offset: 41, epoch: 'e1' } });
  seeded.close();

  const off = await connected({ recover: false });
  FakeSocket.opened[0].receive(pos('news', 7, 'e', { type: 'story' }));
  assert.equal(recoverOf(await reconnect(0)), null);
  assert.deepEqual(off.positions, { news: { offset: 7, epoch: 'e' } }, 'kept all the same');
  off.close();
});
