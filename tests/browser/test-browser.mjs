// test-browser.mjs: data/web/client/owlsock-client.js and the demo pages in
// Debian's Chromium (/usr/bin/chromium, headless), driven by playwright-core,
// against tests/browser/server.py (the files of data/web and the demo's
// endpoints). Screenshots of the demo pages go to
// $OWLSOCK_BUILD_ROOT/meson-logs/browser/.
//
//   node --test --test-reporter=tap tests/browser/test-browser.mjs
//
// Without playwright-core (npm ci in tests/browser) the tests are skipped,
// unless CI=true: then they fail.
//
// SPDX-License-Identifier: LGPL-2.1-or-later

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const sourceRoot = process.env.OWLSOCK_SOURCE_ROOT || path.resolve(here, '../..');
const buildRoot = process.env.OWLSOCK_BUILD_ROOT || path.join(sourceRoot, 'build');
const artifacts = path.join(buildRoot, 'meson-logs', 'browser');
const WAIT = 15000;   // the watchdog of every wait

let chromium = null;
try {
  ({ chromium } = await import('playwright-core'));
} catch (e) {
  if (process.env.CI === 'true') throw new Error('playwright-core is missing: npm ci in tests/browser');
}

// Tokens ------------------------------------------------------------------------

const secret = crypto.randomBytes(32).toString('hex');
const b64url = (data) => Buffer.from(data).toString('base64url');

function mint (sub, ttl) {
  const now = Math.floor(Date.now() / 1000);
  const head = b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const body = b64url(JSON.stringify({ sub, iat: now, exp: now + ttl }));
  const sig = crypto.createHmac('sha256', secret).update(`${head}.${body}`).digest('base64url');
  return `${head}.${body}.${sig}`;
}

// The server --------------------------------------------------------------------

class Server {
  async start (port = 0) {
    const args = [path.join(here, 'server.py'), '--port', String(port),
      '--data', path.join(sourceRoot, 'data', 'web')];
    if (port) args.push('--origin', `http://127.0.0.1:${port}`);
    this.proc = spawn('/usr/bin/python3', args, {
      env: { ...process.env, OWLSOCK_TEST_JWT_SECRET: secret },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    this.port = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('server.py did not start')), WAIT);
      let out = '';
      this.proc.stdout.on('data', (chunk) => {
        out += chunk;
        const m = out.match(/listening on (\d+)/);
        if (m) { clearTimeout(timer); resolve(Number(m[1])); }
      });
      this.proc.on('exit', (code) => { clearTimeout(timer); reject(new Error(`server.py exited (${code})`)); });
    });
    return this.port;
  }

  // SIGTERM: the graceful stop (shutdown notice, 1001).
  async stop () {
    if (!this.proc || this.proc.exitCode !== null) return;
    const exited = new Promise((resolve) => this.proc.once('exit', resolve));
    this.proc.kill('SIGTERM');
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), WAIT);
    await exited;
    clearTimeout(timer);
  }
}

// Pages -------------------------------------------------------------------------

const server = new Server();
let browser = null;
let origin = '';   // http://127.0.0.1:PORT: allowed by the chat module

async function chatPage (user, { room = 'lobby', query = '', ttl = 600, tokens = null } = {}) {
  const page = await browser.newPage();
  page.setDefaultTimeout(WAIT);
  page.on('pageerror', (e) => console.log(`# page error (${user}): ${e.message}`));
  if (tokens) await page.exposeFunction('owlsockToken', tokens);
  const hash = tokens ? '' : `#token=${mint(user, ttl)}`;
  await page.goto(`${origin}/demo/chat.html?room=${room}&minDelay=100${query}${hash}`);
  return page;
}

// ann and bob in @room, both connected.
async function pair (room) {
  const pages = [await chatPage('ann', { room }), await chatPage('bob', { room })];
  for (const page of pages) await waitState(page, 'connected');
  return pages;
}

const waitState = (page, state) =>
  page.waitForFunction((s) => document.body.dataset.state === s, state, { timeout: WAIT });


async function say (page, text) {
  await page.fill('#text', text);
  await page.click('#send button');
}

async function waitText (page, text) {
  await page.waitForFunction((t) => [...document.querySelectorAll('#messages li')]
    .some((li) => li.textContent.includes(t)), text, { timeout: WAIT });
}

async function waitMembers (page, names) {
  await page.waitForFunction((n) => {
    const shown = [...document.querySelectorAll('#members li')].map((li) => li.textContent);
    return n.every((name) => shown.includes(name));
  }, names, { timeout: WAIT });
}

async function shot (page, name) {
  fs.mkdirSync(artifacts, { recursive: true });
  await page.screenshot({ path: path.join(artifacts, name) });
  assert.ok(fs.statSync(path.join(artifacts, name)).size > 1000, `${name} was written`);
}

// Top-level tests, not a describe() block: meson 1.0's TAP parser does not
// read TAP 14's indented subtests.
const skip = chromium ? false : 'playwright-core is not installed (npm ci in tests/browser)';

before(async () => {
  if (skip) return;
  // Port 0 first, then the same port again with the origin set: the
  // restart test listens on it once more.
  const port = await server.start(0);
  await server.stop();
  await server.start(port);
  origin = `http://127.0.0.1:${port}`;
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

after(async () => {
  if (skip) return;
  await browser?.close();
  await server.stop();
});

test('two pages chat through the server, the sender from the token', { timeout: 60000, skip }, async () => {
  const [ann, bob] = await pair('two');
  await waitMembers(ann, ['ann', 'bob']);
  await say(ann, 'hello from ann');
  await waitText(bob, 'annhello from ann');
  await say(bob, 'hi ann');
  await waitText(ann, 'bobhi ann');
  assert.equal(await ann.textContent('#user'), 'ann');
  await waitMembers(bob, ['ann', 'bob']);
  await shot(bob, 'chat.png');
  await ann.close();
  await bob.close();
});

test('the server restarts on the same port: the pages reconnect and say so', { timeout: 60000, skip }, async () => {
  const [ann, bob] = await pair('restart');

  await server.stop();
  await waitState(ann, 'reconnecting');
  await waitState(bob, 'reconnecting');
  await waitText(ann, 'connection lost');
  assert.equal(await ann.textContent('#state'), 'reconnecting');
  // Made while the server is away: queued, sent on the reconnect, answered then.
  const queued = ann.evaluate(() => window.owlsockClient.call('members'));

  await server.start(server.port);
  await waitState(ann, 'connected');
  await waitState(bob, 'connected');
  await waitText(ann, 'reconnected');
  await waitText(bob, 'reconnected');
  assert.ok((await queued).includes('ann'), 'the queued call was answered after the reconnect');
  await waitMembers(ann, ['ann', 'bob']);
  await say(ann, 'after the restart');
  await waitText(bob, 'annafter the restart');
  await shot(ann, 'chat-reconnected.png');
  await ann.close();
  await bob.close();
});

test('a token about to expire is refreshed through the token function', { timeout: 60000, skip }, async () => {
  const given = [];
  const tokens = () => {
    // The first lives 4 s (auth-expiring comes at 2 s), the next ones 10 min.
    const token = mint('carol', given.length === 0 ? 4 : 600);
    given.push(token);
    return token;
  };
  const page = await chatPage('carol', { room: 'refresh', tokens });
  await page.evaluate(() => {
    window.closes = [];
    window.owlsockClient.on('close', (c) => window.closes.push(c.code));
  });
  await waitState(page, 'connected');
  await page.waitForFunction(() => Number(document.body.dataset.refreshed || 0) >= 1, null, { timeout: WAIT });
  await waitText(page, 'token refreshed for carol');
  // Past the first token's expiry: still the same connection.
  const firstExp = JSON.parse(Buffer.from(given[0].split('.')[1], 'base64url')).exp;
  await page.waitForFunction((exp) => Date.now() / 1000 > exp + 1, firstExp, { timeout: WAIT });
  assert.equal(await page.evaluate(() => window.owlsockClient.state), 'connected');
  assert.deepEqual(await page.evaluate(() => window.closes), []);
  assert.deepEqual(await page.evaluate(() => window.owlsockClient.call('members')), ['carol']);
  assert.equal(given.length, 2);
  await page.close();
});

test('4001 with no new token from the token function is final', { timeout: 60000, skip }, async () => {
  let asked = 0;
  // One short token, then none: the refresh fails, the server closes with 4001.
  const tokens = () => (asked++ === 0 ? mint('dave', 3) : null);
  const page = await chatPage('dave', { room: 'expire', tokens });
  await waitState(page, 'connected');
  await waitState(page, 'closed');
  const info = await page.evaluate(() => ({ state: window.owlsockClient.state }));
  assert.equal(info.state, 'closed');
  assert.ok(asked >= 2, 'the token function was asked again');
  await page.close();
});

test('a call times out; server errors carry code and recoverable', { timeout: 60000, skip }, async () => {
  const page = await chatPage('erin', { room: 'calls' });
  await waitState(page, 'connected');
  const timeout = await page.evaluate(() => {
    const started = performance.now();
    return window.owlsockClient.callWithTimeout(300, 'slow').then(
      () => ({ resolved: true }),
      (e) => ({ name: e.name, code: e.code, recoverable: e.recoverable, ms: performance.now() - started }));
  });
  assert.equal(timeout.name, 'OwlsockError');
  assert.equal(timeout.code, 'timeout');
  assert.equal(timeout.recoverable, true);
  assert.ok(timeout.ms >= 290 && timeout.ms < 5000, `timed out after ${timeout.ms} ms`);
  const unknown = await page.evaluate(() => window.owlsockClient.call('no-such-method').then(
    () => null, (e) => ({ code: e.code, recoverable: e.recoverable })));
  assert.deepEqual(unknown, { code: 'unknown-method', recoverable: true });
  assert.deepEqual(await page.evaluate(() => window.owlsockClient.call('members')), ['erin']);
  assert.equal(await page.evaluate(() => window.owlsockClient.state), 'connected');
  await page.close();
});

test('a refused origin is reported to the page; others keep working', { timeout: 60000, skip }, async () => {
  const ok = await chatPage('frank', { room: 'origin' });
  await waitState(ok, 'connected');
  const page = await browser.newPage();
  page.setDefaultTimeout(WAIT);
  // A page from http://localhost:PORT connecting to 127.0.0.1:PORT: a
  // cross-origin request from an origin the module does not allow.
  await page.goto(`http://localhost:${server.port}/demo/chat.html?room=origin&minDelay=100` +
    `&server=127.0.0.1:${server.port}#token=${mint('gina', 600)}`);
  await page.waitForFunction(() => document.body.dataset.error === 'handshake-failed', null, { timeout: WAIT });
  assert.match(await page.textContent('#error'), /handshake-failed: The server refused the WebSocket handshake/);
  assert.notEqual(await page.evaluate(() => window.owlsockClient.state), 'connected');
  await shot(page, 'chat-refused-origin.png');

  const monitor = await browser.newPage();
  await monitor.goto(`${origin}/demo/monitor.html`);
  const rejected = await monitor.evaluate(() => new Promise((resolve) =>
    window.owlsockClient.on('event:stats', (s) => resolve(s.rejected))));
  assert.ok(rejected.origin >= 1, 'the server counted the refused origin');
  await say(ok, 'still here');
  assert.equal(await ok.evaluate(() => window.owlsockClient.state), 'connected');
  await page.close();
  await monitor.close();
  await ok.close();
});

test('the send queue is bounded while not connected; backoff and final codes', { timeout: 60000, skip }, async () => {
  const page = await chatPage('hana', { room: 'queue' });
  await waitState(page, 'connected');
  const got = await page.evaluate(async () => {
    const m = await import('/client/owlsock-client.js');
    // Port 1: nothing listens, the client stays between connecting and reconnecting.
    const client = new m.OwlsockClient('ws://127.0.0.1:1/ws/none', { maxQueue: 2, minDelay: 50, maxDelay: 100 });
    const errors = [];
    client.connect();
    client.send({ type: 'one' });
    const call = client.call('two').catch((e) => e.code);
    try { client.send({ type: 'three' }); } catch (e) { errors.push([e.code, e.recoverable]); }
    const refused = await client.call('four').catch((e) => e.code);
    client.close();
    try { client.send({ type: 'five' }); } catch (e) { errors.push([e.code, e.recoverable]); }
    return {
      errors, refused, queued: await call, state: client.state,
      delays: [0, 1, 5, 10].map((n) => [m.backoffDelay(n, 500, 20000, () => 0), m.backoffDelay(n, 500, 20000, () => 1)]),
      final: [1000, 1001, 1003, 1006, 1008, 1011, 4000, 4001, 4099, 4100, 4408, 4499, 4500, 4999].filter(m.isFinalCloseCode),
    };
  });
  assert.deepEqual(got.errors, [['queue-full', true], ['closed', false]]);
  assert.equal(got.refused, 'queue-full');
  assert.equal(got.queued, 'closed');
  assert.equal(got.state, 'closed');
  assert.deepEqual(got.delays, [[500, 1000], [500, 1500], [500, 16500], [500, 20000]]);
  assert.deepEqual(got.final, [1000, 1003, 1008, 4500, 4999]);
  // The page's own client was not disturbed.
  assert.deepEqual(await page.evaluate(() => window.owlsockClient.call('members')), ['hana']);
  await page.close();
});

test('a room with history: the client recovers after a drop and after a restart', { timeout: 60000, skip }, async () => {
  const page = await browser.newPage();
  page.setDefaultTimeout(WAIT);
  await page.goto(`${origin}/demo/index.html`);
  await page.evaluate(async (url) => {
    const m = await import('/client/owlsock-client.js');
    const client = new m.OwlsockClient(url, { minDelay: 100, maxDelay: 200 });
    window.history_ = { client, notes: [], recovered: [] };
    client.on('message:note', (frame) => window.history_.notes.push([frame.pos.offset, frame.text]));
    client.on('recovered', (r) => window.history_.recovered.push(r));
    client.connect();
  }, `ws://127.0.0.1:${server.port}/ws/history/news`);
  const state = () => page.evaluate(() => ({
    state: window.history_.client.state,
    notes: window.history_.notes,
    recovered: window.history_.recovered,
    positions: window.history_.client.positions,
  }));
  const call = (method, ...args) => page.evaluate(([m, a]) => window.history_.client.call(m, ...a), [method, args]);
  const waitFor = (fn, arg) => page.waitForFunction(fn, arg, { timeout: WAIT });

  await waitFor(() => window.history_.client.state === 'connected');
  await call('publish', 'one');
  await call('publish', 'two');
  await waitFor(() => window.history_.notes.length === 2);
  const epoch = (await state()).positions.news.epoch;
  assert.deepEqual((await state()).positions, { news: { offset: 2, epoch } });

  // The server drops the room (1012) and three publications go out meanwhile:
  // the reconnect asks from offset 2 and gets them, in order, then `recovered`.
  await call('drop', 3);
  await waitFor(() => window.history_.recovered.length === 1);
  let seen = await state();
  assert.deepEqual(seen.recovered, [{ room: 'news', recovered: true, missed: 3 }]);
  assert.deepEqual(seen.notes, [[1, 'one'], [2, 'two'], [3, 'missed 1'], [4, 'missed 2'], [5, 'missed 3']]);
  assert.deepEqual(seen.positions, { news: { offset: 5, epoch } });

  // A restart loses the history (a new epoch): the client still asks, and is told.
  await server.stop();
  await server.start(server.port);
  await waitFor(() => window.history_.recovered.length === 2);
  seen = await state();
  assert.deepEqual(seen.recovered[1], { room: 'news', recovered: false, missed: 0 });
  assert.notEqual(seen.positions.news.epoch, epoch);
  assert.deepEqual(await call('asked'), [{ news: { offset: 5, epoch } }]);
  assert.equal(seen.notes.length, 5, 'nothing replayed from a lost history');
  await page.close();
});

test('the monitor draws connections and message rates from the stats stream', { timeout: 60000, skip }, async () => {
  const [ann, bob] = await pair('busy');
  const monitor = await browser.newPage();
  monitor.setDefaultTimeout(WAIT);
  await monitor.goto(`${origin}/demo/monitor.html`);
  await waitState(monitor, 'connected');
  for (let i = 0; i < 5; i++) await say(ann, `message ${i}`);
  await monitor.waitForFunction(() => Number(document.body.dataset.samples || 0) >= 4, null, { timeout: WAIT });
  assert.ok(Number(await monitor.textContent('#connections')) >= 3);
  // Something was drawn: the canvas is not blank.
  const inked = await monitor.evaluate(() => {
    const c = document.getElementById('chart');
    const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 3; i < data.length; i += 4) if (data[i] > 0) n++;
    return n;
  });
  assert.ok(inked > 500, `the chart has ${inked} painted pixels`);
  await shot(monitor, 'monitor.png');
  await monitor.close();
  await ann.close();
  await bob.close();
});
