// owlsock-client.js: the browser client of owlsock's envelope protocol.
//
// One ES module, no dependencies, no build step:
//
//   import { OwlsockClient } from './owlsock-client.js';
//   const client = new OwlsockClient('ws://127.0.0.1:8080/ws/chat/lobby', {
//     token: async () => (await fetch('/token')).text(),
//   });
//   client.on('state', ({ state }) => console.log(state));
//   client.on('message:room-message', (msg) => console.log(msg.sender, msg.content));
//   client.connect();
//   const members = await client.call('members');
//
// The same rules as OwlSocketClient (README, "Browser client"): states
// disconnected, connecting, connected, reconnecting, closed; reconnect
// with exponential backoff and full jitter; final close codes 1000 (either
// side), 1003, 1008, 4500-4999, and 4001 when the token function gives no
// new token; every other close (1001, 1006, 4000-4499, ...) reconnects: the
// same rules as OwlSocketClient's.
//
// Rooms with history: the client keeps each room's position (`pos` leading
// a broadcast, `system` `joined` frames) and asks the server to replay what
// it missed on the next connection (`recover` query parameter), as
// OwlSocketClient does.
//
// SPDX-License-Identifier: LGPL-2.1-or-later

/**
 * @typedef {'disconnected'|'connecting'|'connected'|'reconnecting'|'closed'} OwlsockState
 */

/**
 * A token, or nothing (null, undefined or ''): connect without one.
 * @typedef {() => (string|null|undefined|Promise<string|null|undefined>)} OwlsockTokenFunction
 */

/**
 * @typedef {object} OwlsockOptions
 * @property {OwlsockTokenFunction} [token] asked before each connect and on `auth-expiring`
 * @property {string[]} [protocols=['owlsock']] subprotocols offered (the token entry is added)
 * @property {number} [minDelay=500] first reconnect delay bound, ms
 * @property {number} [maxDelay=20000] largest reconnect delay, ms
 * @property {number} [stableAfter=10000] ms a connection must stay up before the backoff resets
 * @property {number} [callTimeout=10000] default timeout of call() and request(), ms
 * @property {number} [maxQueue=100] frames kept while not connected; more are refused
 * @property {number} [pingInterval=30000] ms between application pings (0: none)
 * @property {number} [pongTimeout=10000] ms to wait for the pong before reconnecting
 * @property {boolean} [reconnect=true] false: any close is final
 * @property {boolean} [recover=true] give the rooms' positions back on each connection
 *   (`recover` query parameter) so the server replays what was missed
 * @property {typeof WebSocket} [WebSocket] the WebSocket implementation (default: the global one)
 */

/**
 * The state change, given to `state` and `state:NAME` handlers.
 * @typedef {object} OwlsockStateChange
 * @property {OwlsockState} state
 * @property {OwlsockState} previous
 * @property {string} [reason] why (a close reason, `handshake-failed`, ...)
 * @property {number} [code] the close code, when a close caused it
 * @property {number} [delay] ms until the next attempt, in `reconnecting`
 */

/**
 * Where a room's history stands for this client: the offset of the last
 * publication seen in the room's epoch.
 * @typedef {object} OwlsockPosition
 * @property {number} offset an integer from 0 to Number.MAX_SAFE_INTEGER
 * @property {string} epoch at most 64 bytes
 */

/**
 * The server's answer to a recovery, given to `recovered` handlers.
 * @typedef {object} OwlsockRecovered
 * @property {string} room
 * @property {boolean} recovered whether the missed publications were replayed
 *   (they came before, each as a message); false when the gap is no longer in
 *   the room's history or its epoch changed
 * @property {number} missed how many were replayed
 */

/** The most rooms whose positions are kept and sent (the server's limit). */
export const MAX_POSITIONS = 64;
/** The longest `recover` parameter, encoded: a request over the server's
 * max-handshake-size (16 KiB by default) is refused, for good. */
export const MAX_RECOVER_LENGTH = 8192;
/** The longest epoch, in UTF-8 bytes, the server takes back. */
const MAX_EPOCH_BYTES = 64;
// A broadcast of a room with history starts with its position.
const LEADING_POS = /^\s*\{\s*"pos"\s*:/;

/** The codes after which the client never reconnects on its own: 1000 from
 * either side (the server is done with this client, or close() was called),
 * 1003, 1008. */
export const FINAL_CLOSE_CODES = Object.freeze([1000, 1003, 1008]);
/** The application range of final codes, inclusive (as Centrifugo's 4500-4999:
 * 4000-4499 reconnect). */
export const FINAL_APPLICATION_CODES = Object.freeze({ min: 4500, max: 4999 });
/** The close code of an expired token. */
export const TOKEN_EXPIRED = 4001;

/**
 * Whether a close with `code` ends the client for good (4001 aside, which
 * depends on the token function).
 * @param {number} code
 * @returns {boolean}
 */
export function isFinalCloseCode (code) {
  return FINAL_CLOSE_CODES.includes(code) ||
    (code >= FINAL_APPLICATION_CODES.min && code <= FINAL_APPLICATION_CODES.max && code !== TOKEN_EXPIRED);
}

/**
 * The delay before attempt `attempt` (0-based): full jitter over an
 * exponential bound, `min(max, min + random(0, min(max, min * 2^attempt)))`.
 * @param {number} attempt
 * @param {number} min
 * @param {number} max
 * @param {() => number} [random=Math.random]
 * @returns {number} ms
 */
export function backoffDelay (attempt, min, max, random = Math.random) {
  const bound = Math.min(max, min * Math.pow(2, attempt));
  return Math.min(max, min + random() * bound);
}

/**
 * Whether the server would take this position back in `recover`.
 * @param {any} room
 * @param {any} offset
 * @param {any} epoch
 * @returns {boolean}
 */
function isPosition (room, offset, epoch) {
  return typeof room === 'string' && typeof epoch === 'string' &&
    new TextEncoder().encode(epoch).length <= MAX_EPOCH_BYTES &&
    Number.isSafeInteger(offset) && offset >= 0;
}

/** An error from the server (an `error` frame) or from the client itself. */
export class OwlsockError extends Error {
  /**
   * @param {string} code the error code (`timeout`, `unknown-method`, `queue-full`, ...)
   * @param {string} message
   * @param {boolean} recoverable whether retrying or carrying on may work
   * @param {any} [details] the frame's `details`
   */
  constructor (code, message, recoverable, details) {
    super(message);
    this.name = 'OwlsockError';
    /** @type {string} */
    this.code = code;
    /** @type {boolean} */
    this.recoverable = recoverable;
    this.details = details;
  }

  /**
   * From an `error` frame: `payload` is `Type|||message`.
   * @param {any} frame
   * @returns {OwlsockError}
   */
  static fromFrame (frame) {
    const payload = typeof frame.payload === 'string' ? frame.payload : '';
    const at = payload.indexOf('|||');
    const message = at >= 0 ? payload.slice(at + 3) : payload;
    return new OwlsockError(frame.code || 'failed', message || frame.code || 'Error',
      frame.recoverable !== false, frame.details);
  }
}

const DEFAULTS = {
  protocols: ['owlsock'],
  minDelay: 500,
  maxDelay: 20000,
  stableAfter: 10000,
  callTimeout: 10000,
  maxQueue: 100,
  pingInterval: 30000,
  pongTimeout: 10000,
  reconnect: true,
  recover: true,
};

/** A client of one owlsock endpoint. */
export class OwlsockClient {
  /**
   * @param {string} url `ws://` or `wss://`
   * @param {OwlsockOptions} [options]
   */
  constructor (url, options = {}) {
    this.url = url;
    /** @type {Required<Omit<OwlsockOptions, 'token'|'WebSocket'>> & OwlsockOptions} */
    this.options = { ...DEFAULTS, ...options };
    /** @type {OwlsockState} */
    this.state = 'disconnected';
    /** @type {OwlsockError|null} the last failure, shown by pages in an error state */
    this.lastError = null;
    this._handlers = new Map();
    this._methods = new Map();
    this._pending = new Map();
    this._queue = [];
    this._nextId = 1;
    this._attempt = 0;
    this._ws = null;
    this._token = null;
    this._timers = {};
    /** @type {Map<string, OwlsockPosition>} least recently updated first */
    this._positions = new Map();
  }

  // Events -------------------------------------------------------------------

  /**
   * Adds a handler. Names: `state`, `state:NAME`, `message` (every
   * application message), `message:TYPE`, `event:NAME` (payload, frame),
   * `system:NAME` (payload), `auth` (the new identity after a refresh),
   * `error` (OwlsockError), `close` ({code, reason, final}), `open`,
   * `recovered` (OwlsockRecovered: the server's answer to a recovery, per room).
   * @param {string} name
   * @param {(...args: any[]) => void} handler
   * @returns {() => void} removes the handler
   */
  on (name, handler) {
    if (!this._handlers.has(name)) this._handlers.set(name, new Set());
    this._handlers.get(name).add(handler);
    return () => this.off(name, handler);
  }

  /**
   * @param {string} name
   * @param {(...args: any[]) => void} handler
   */
  off (name, handler) {
    this._handlers.get(name)?.delete(handler);
  }

  _emit (name, ...args) {
    for (const handler of [...(this._handlers.get(name) || [])]) {
      try {
        handler(...args);
      } catch (e) {
        setTimeout(() => { throw e; });
      }
    }
  }

  /**
   * Answers the server's `call` of `method` with what `fn` returns (or
   * resolves to); a throw becomes an `error` frame. Unhandled methods get
   * `unknown-method`.
   * @param {string} method
   * @param {(...args: any[]) => any} fn
   */
  handle (method, fn) {
    this._methods.set(method, fn);
  }

  // States -------------------------------------------------------------------

  _setState (state, extra = {}) {
    if (state === this.state) return;
    const change = { state, previous: this.state, ...extra };
    this.state = state;
    this._emit('state', change);
    this._emit('state:' + state, change);
  }

  /** Connects (again); a client that was closed starts over. */
  connect () {
    if (this.state === 'connecting' || this.state === 'connected') return;
    this._clearTimer('retry');
    this._closing = false;
    this._open('connecting');
  }

  /**
   * Closes for good: no reconnect. Queued frames and pending calls are
   * refused with `closed`.
   * @param {number} [code=1000]
   * @param {string} [reason='']
   */
  close (code = 1000, reason = '') {
    this._closing = true;
    this._clearTimer('retry');
    this._stopPing();
    if (this._ws) this._ws.close(code, reason);
    this._finish({ code, reason, final: true });
  }

  async _askToken () {
    if (!this.options.token) return null;
    const token = await this.options.token();
    return token ? String(token) : null;
  }

  async _open (state, extra = {}) {
    this._setState(state, extra);
    let token;
    try {
      token = this._token !== null ? this._token : await this._askToken();
    } catch (e) {
      this._fail('token', 'The token function failed: ' + (e && e.message), true);
      return;
    }
    this._token = null;
    if (this._closing || this.state === 'closed') return;
    const protocols = [...this.options.protocols];
    if (token) protocols.push('owlsock.bearer.' + token);
    const Impl = this.options.WebSocket || globalThis.WebSocket;
    let ws;
    try {
      ws = new Impl(this._attemptUrl(), protocols);
    } catch (e) {
      this._fail('invalid-argument', e.message, false);
      return;
    }
    this._ws = ws;
    ws.onopen = () => this._onOpen(ws);
    ws.onmessage = (event) => this._onFrame(ws, event.data);
    ws.onclose = (event) => this._onClose(ws, event);
  }

  _onOpen (ws) {
    if (ws !== this._ws) return;
    this._opened = true;
    this.lastError = null;
    this._setState('connected');
    this._emit('open');
    this._setTimer('stable', this.options.stableAfter, () => { this._attempt = 0; });
    this._startPing();
    const queue = this._queue;
    this._queue = [];
    for (const entry of queue) {
      ws.send(entry.text);
      const pending = entry.id && this._pending.get(entry.id);
      if (pending) pending.sent = true;
    }
  }

  async _onClose (ws, event) {
    if (ws !== this._ws) return;
    const opened = this._opened;
    this._ws = null;
    this._opened = false;
    this._clearTimer('stable');
    this._stopPing();
    this._rejectSent(new OwlsockError('closed', 'The connection closed before the answer', true));
    if (this._closing) return;

    const code = event.code;
    const reason = event.reason || (opened ? '' : 'handshake-failed');
    if (!opened) {
      // A refused upgrade (401, 403, 429, ...) and a server that is not
      // there look the same to a browser: 1006 before open.
      this.lastError = new OwlsockError('handshake-failed',
        'The server refused the WebSocket handshake or could not be reached', true);
      this._emit('error', this.lastError);
    }
    let final = !this.options.reconnect || isFinalCloseCode(code);
    if (code === TOKEN_EXPIRED && !final) {
      try {
        this._token = await this._askToken();
      } catch (e) {
        this._token = null;
      }
      final = this._token === null;
    }
    this._emit('close', { code, reason, final });
    if (final) {
      this._finish({ code, reason, final });
      return;
    }
    const delay = backoffDelay(this._attempt++, this.options.minDelay, this.options.maxDelay);
    this._setState('reconnecting', { code, reason, delay });
    this._setTimer('retry', delay, () => this._open('reconnecting', { code, reason }));
  }

  _finish (info) {
    const error = new OwlsockError('closed', 'The client is closed', false);
    this._rejectSent(error);
    this._queue = [];
    for (const [id, pending] of this._pending) {
      clearTimeout(pending.timer);
      pending.reject(error);
      this._pending.delete(id);
    }
    this._ws = null;
    this._setState('closed', { code: info.code, reason: info.reason });
  }

  _fail (code, message, recoverable) {
    this.lastError = new OwlsockError(code, message, recoverable);
    this._emit('error', this.lastError);
    this._finish({ code: 1006, reason: code });
  }

  _setTimer (name, ms, fn) {
    this._clearTimer(name);
    this._timers[name] = setTimeout(() => { delete this._timers[name]; fn(); }, ms);
  }

  _clearTimer (name) {
    clearTimeout(this._timers[name]);
    delete this._timers[name];
  }

  // Heartbeat: the browser answers the server's pings itself but cannot
  // see them, so a dead connection is found with the envelope's ping.
  _startPing () {
    if (!this.options.pingInterval) return;
    this._setTimer('ping', this.options.pingInterval, () => {
      this._sendNow({ type: 'ping' });
      this._setTimer('pong', this.options.pongTimeout, () => {
        // A dead connection may take minutes to report its close: go on now.
        const ws = this._ws;
        ws.close(4408, 'No pong');
        this._onClose(ws, { code: 4408, reason: 'No pong' });
      });
    });
  }

  _stopPing () {
    this._clearTimer('ping');
    this._clearTimer('pong');
  }

  // Sending ------------------------------------------------------------------

  _sendNow (frame) {
    if (this.state === 'connected' && this._ws) this._ws.send(JSON.stringify(frame));
  }

  /**
   * Sends one JSON object now, or queues it while (re)connecting.
   * @param {object} message
   * @throws {OwlsockError} `closed` after a final close, `queue-full` when the queue is full
   */
  send (message) {
    this._enqueue(JSON.stringify(message));
  }

  // True when sent now, false when queued.
  _enqueue (text, id) {
    if (this.state === 'closed') throw new OwlsockError('closed', 'The client is closed', false);
    if (this.state === 'connected' && this._ws) {
      this._ws.send(text);
      return true;
    }
    if (this._queue.length >= this.options.maxQueue) {
      throw new OwlsockError('queue-full',
        `The send queue is full (${this.options.maxQueue} frames) while reconnecting`, true);
    }
    this._queue.push({ text, id });
    return false;
  }

  /**
   * Sends `{type: 'event', event: name, payload}`.
   * @param {string} name
   * @param {any} [payload]
   */
  notify (name, payload) {
    this.send(payload === undefined ? { type: 'event', event: name } : { type: 'event', event: name, payload });
  }

  _expect (frame, timeout) {
    const id = String(this._nextId++);
    frame.id = id;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this._pending.delete(id);
        reject(new OwlsockError('timeout', `No answer within ${timeout} ms`, true));
      }, timeout);
      const pending = { resolve, reject, timer, sent: false };
      this._pending.set(id, pending);
      try {
        pending.sent = this._enqueue(JSON.stringify(frame), id);
      } catch (e) {
        clearTimeout(timer);
        this._pending.delete(id);
        reject(e);
      }
    });
  }

  /**
   * Calls `method` on the server with `args` as the payload. Rejects with
   * an OwlsockError carrying the server's `code` and `recoverable`, or
   * `timeout` after `callTimeout` ms.
   * @param {string} method
   * @param {...any} args
   * @returns {Promise<any>} the result's payload
   */
  call (method, ...args) {
    return this.callWithTimeout(this.options.callTimeout, method, ...args);
  }

  /**
   * call() with a timeout of its own.
   * @param {number} timeout ms
   * @param {string} method
   * @param {...any} args
   * @returns {Promise<any>}
   */
  callWithTimeout (timeout, method, ...args) {
    return this._expect({ type: 'call', method, payload: args, timeout }, timeout);
  }

  /**
   * Sends a `request`; resolves with the `response` payload.
   * @param {any} payload
   * @param {number} [timeout]
   * @returns {Promise<any>}
   */
  request (payload, timeout = this.options.callTimeout) {
    return this._expect({ type: 'request', payload }, timeout);
  }

  _rejectSent (error) {
    for (const [id, pending] of this._pending) {
      if (!pending.sent) continue;
      clearTimeout(pending.timer);
      pending.reject(error);
      this._pending.delete(id);
    }
  }

  // History positions ----------------------------------------------------------

  /**
   * The position held for each room with history, most recently updated
   * first: what the next connection gives back in `recover`. A page that
   * outlives its tab keeps it (JSON) and gives it back with setPosition().
   * @type {Object<string, OwlsockPosition>}
   */
  get positions () {
    const out = {};
    for (const [room, pos] of [...this._positions].reverse()) out[room] = { offset: pos.offset, epoch: pos.epoch };
    return out;
  }

  /**
   * Sets the position held for `room` (the first connection asks to recover
   * it too); a null `epoch` forgets the room. 64 rooms are kept: a 65th
   * replaces the least recently updated.
   * @param {string} room
   * @param {string|null} epoch
   * @param {number} [offset=0]
   */
  setPosition (room, epoch, offset = 0) {
    if (epoch === null || epoch === undefined) {
      this._positions.delete(room);
      return;
    }
    if (!isPosition(room, offset, epoch)) throw new TypeError('Not a valid position');
    this._keepPosition(room, epoch, offset);
  }

  _keepPosition (room, epoch, offset) {
    this._positions.delete(room);
    if (this._positions.size >= MAX_POSITIONS) this._positions.delete(this._positions.keys().next().value);
    this._positions.set(room, { offset, epoch });
  }

  // The higher offset within an epoch; another epoch replaces. Returns whether
  // `pos` was a position at all (a server's position that could not be sent
  // back would make every reconnect fail: such are ignored).
  _takePosition (pos) {
    if (pos === null || typeof pos !== 'object' || !isPosition(pos.room, pos.offset, pos.epoch)) return false;
    const known = this._positions.get(pos.room);
    if (!known || known.epoch !== pos.epoch || pos.offset > known.offset) {
      this._keepPosition(pos.room, pos.epoch, pos.offset);
    }
    return true;
  }

  _onJoined (payload) {
    if (payload === null || typeof payload !== 'object' || !this._takePosition(payload)) return;
    if (typeof payload.recovered !== 'boolean') return;
    const missed = Number.isSafeInteger(payload.missed) && payload.missed >= 0 ? payload.missed : 0;
    this._emit('recovered', { room: payload.room, recovered: payload.recovered, missed });
  }

  // The URL with `recover`: the most rooms (updated last first) that fit in
  // MAX_RECOVER_LENGTH encoded; none fits or nothing held: the URL as it is.
  _attemptUrl () {
    if (!this.options.recover) return this.url;
    const entries = Object.entries(this.positions);
    for (let n = entries.length; n > 0; n--) {
      const value = encodeURIComponent(JSON.stringify(Object.fromEntries(entries.slice(0, n))));
      if (value.length <= MAX_RECOVER_LENGTH) {
        return this.url + (this.url.includes('?') ? '&' : '?') + 'recover=' + value;
      }
    }
    return this.url;
  }

  // Receiving ----------------------------------------------------------------

  _settle (frame, ok) {
    const pending = this._pending.get(String(frame.id));
    if (!pending) return false;
    this._pending.delete(String(frame.id));
    clearTimeout(pending.timer);
    if (ok) pending.resolve(frame.payload);
    else pending.reject(OwlsockError.fromFrame(frame));
    return true;
  }

  _onFrame (ws, data) {
    if (ws !== this._ws || typeof data !== 'string') return;
    let frame;
    try {
      frame = JSON.parse(data);
    } catch (e) {
      return;
    }
    if (frame === null || typeof frame !== 'object') return;
    if (LEADING_POS.test(data)) this._takePosition(frame.pos);
    else if (frame.type === 'system' && frame.event === 'joined') this._onJoined(frame.payload);
    switch (frame.type) {
      case 'result':
      case 'response':
        this._settle(frame, true);
        return;
      case 'error':
        if (frame.id === undefined || !this._settle(frame, false)) {
          this._emit('error', OwlsockError.fromFrame(frame));
        }
        return;
      case 'auth':
        if (frame.stage === 'authenticated') {
          this._settle(frame, true);
          this._emit('auth', frame.payload);
        }
        return;
      case 'event':
        this._emit('event:' + frame.event, frame.payload, frame);
        return;
      case 'system':
        this._onSystem(frame);
        return;
      case 'ping':
        this._sendNow({ type: 'pong' });
        return;
      case 'pong':
        this._clearTimer('pong');
        this._startPing();
        return;
      case 'call':
        this._answerCall(frame);
        return;
      default:
        this._emit('message', frame);
        if (typeof frame.type === 'string') this._emit('message:' + frame.type, frame);
    }
  }

  _onSystem (frame) {
    this._emit('system:' + frame.event, frame.payload, frame);
    if (frame.event === 'auth-expiring') this.refreshToken().catch((e) => this._emit('error', e));
  }

  /**
   * Asks the token function for a new token and sends it as the server
   * expects (`{type: 'auth', stage: 'authenticate', payload: {token}}`).
   * Done by itself on `auth-expiring`.
   * @returns {Promise<any>} the new identity (`userId`, `scopes`, `expiresAt`)
   */
  async refreshToken () {
    const token = await this._askToken();
    if (!token) throw new OwlsockError('auth-failed', 'The token function gave no token', false);
    return this._expect({ type: 'auth', stage: 'authenticate', payload: { token } },
      this.options.callTimeout);
  }

  async _answerCall (frame) {
    const fn = this._methods.get(frame.method);
    const reply = (body) => this._sendNow({ id: frame.id, ...body });
    if (!fn) {
      reply({ type: 'error', payload: `UnknownMethodError|||Unknown method '${frame.method}'`,
        code: 'unknown-method', recoverable: true });
      return;
    }
    try {
      const args = Array.isArray(frame.payload) ? frame.payload : [];
      reply({ type: 'result', payload: await fn(...args) });
    } catch (e) {
      const code = (e && e.code) || 'failed';
      reply({ type: 'error', payload: `Error|||${(e && e.message) || code}`, code, recoverable: true });
    }
  }
}
