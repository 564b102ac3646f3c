#!/usr/bin/gjs
// patterns.js: every pattern of @owlmeans/server-socket's README, one module each;
// the same service as examples/c/patterns/ and examples/python/patterns.py.
//
//   head -c 32 /dev/urandom | base64 > secret.txt
//   gjs examples/gjs/patterns.js --secret-file secret.txt --port 8080
//     (or the secret in OWLSOCK_JWT_SECRET; the monitor needs it)
//
//   /ws/stream                      data stream            addStream()
//   /ws/game/SESSION?player=NAME    game session           addGame()
//   /ws/monitor                     monitoring (admin)     addMonitor()
//   /ws/connection                  connection management  addConnection()
//   /ws/errors                      error handling         addErrors()
//
// The messages of each are listed above its code, and in the README's table of patterns.
//
// SPDX-License-Identifier: LGPL-2.1-or-later

imports.gi.versions.Owlsock = '1';
imports.gi.versions.Json = '1.0';
const {GLib, Json, Owlsock} = imports.gi;

function option(name, fallback) {
    const i = ARGV.indexOf(`--${name}`);
    return i >= 0 && i + 1 < ARGV.length ? ARGV[i + 1] : fallback;
}

const service = Owlsock.SocketService.new(null);
const node = obj => Json.from_string(JSON.stringify(obj));
const value = json => (json ? JSON.parse(Json.to_string(json, false)) : null);
const send = (conn, obj) => conn.send(node(obj));
const schema = obj => Owlsock.Schema.new_from_string(JSON.stringify(obj));

// Calls tick() every intervalMs from now until the connection starts closing: the timer
// is removed in `closing`, so it never meets a closed connection.
function every(conn, intervalMs, tick) {
    const timer = GLib.timeout_add(GLib.PRIORITY_DEFAULT, intervalMs, () => {
        tick();
        return GLib.SOURCE_CONTINUE;
    });
    conn.connect('closing', () => GLib.source_remove(timer));
}

// A module with a schema per message type; strict-types refuses any other type
// (a `validation` error, pointer /type, keyword enum).
function moduleWithTypes(props, typeSchemas) {
    const module = new Owlsock.Module({...props, strict_types: true});
    const schemas = {};
    for (const [type, s] of Object.entries(typeSchemas))
        schemas[type] = schema(s);
    module.set_type_schemas(schemas);
    return module;
}

// Data stream: /ws/stream ------------------------------------------------------------
//   -> {"type": "subscribe", "channel": "cpu"}      <- {"type": "subscribed", "channel": "cpu"}
//   <- every --stream-interval ms, for each channel subscribed:
//      {"type": "data-update", "channel": "cpu", "seq": N, "timestamp": MS, "value": 0..999}
//   -> {"type": "unsubscribe", "channel": "cpu"}    <- {"type": "unsubscribed", "channel": "cpu"}
//   -> {"type": "request", "id": "h1", "payload": {"type": "get-history", "channel": "cpu", "limit": 5}}
//   <- {"type": "response", "id": "h1", "payload": {"channel": "cpu", "points": [...]}}
// A channel is a room ("stream:cpu"): the connection's rooms are its subscriptions, and
// closing leaves them all. get-history is a `request`: owlsock answers it as a `response`
// with the request's id (requestId in @owlmeans/server-socket).

const STREAM_PREFIX = 'stream:';
const CHANNEL = {type: 'string', pattern: '^[a-z0-9-]{1,32}$'};
const HISTORY_SCHEMA = schema({           // a request's payload is checked by hand
    type: 'object', required: ['type', 'channel'],
    properties: {type: {const: 'get-history'}, channel: CHANNEL,
        limit: {type: 'integer', minimum: 1, maximum: 100}},
});

// The data source, standing in for a database or a sensor: a function of time, so it
// has a history too.
function streamPoint(channel, seq, interval) {
    const sum = [...channel].reduce((a, c) => a + c.charCodeAt(0), 0);
    return {seq, timestamp: seq * interval, value: (sum * 31 + seq * 17) % 1000};
}

function streamConnection(conn, interval) {
    const currentSeq = () => Math.floor(Date.now() / interval);

    conn.connect('message::subscribe', (c, message) => {  // the type schema checked "channel"
        const {channel} = value(message);
        c.join(STREAM_PREFIX + channel);
        send(c, {type: 'subscribed', channel});
    });
    conn.connect('message::unsubscribe', (c, message) => {
        const {channel} = value(message);
        c.leave(STREAM_PREFIX + channel);
        send(c, {type: 'unsubscribed', channel});
    });
    conn.connect('request', (c, call) => {
        try {
            HISTORY_SCHEMA.validate(call.get_params());
        } catch (e) {                                    // a `validation` error with the id
            call.return_error(e);
            return true;
        }
        const {channel, limit = 10} = value(call.get_params());
        const points = [];
        for (let seq = currentSeq() - limit + 1; points.length < limit; seq++)
            points.push(streamPoint(channel, seq, interval));
        call.return_value(node({channel, points}));
        return true;
    });
    every(conn, interval, () => {                        // started now, stopped in `closing`
        const seq = currentSeq();
        for (const room of conn.dup_rooms().filter(r => r.startsWith(STREAM_PREFIX))) {
            const channel = room.slice(STREAM_PREFIX.length);
            send(conn, {type: 'data-update', channel, ...streamPoint(channel, seq, interval)});
        }
    });
}

function addStream() {
    const channelOnly = {required: ['channel'], properties: {channel: CHANNEL}};
    const module = moduleWithTypes({alias: 'stream', path: '/ws/stream'},
        {subscribe: channelOnly, unsubscribe: channelOnly});
    const interval = Number(option('stream-interval', 1000));
    module.connect('connection', (_module, conn) => streamConnection(conn, interval));
    service.add_module(module);
}

// Game session: /ws/game/:sessionId?player=NAME --------------------------------------
//   <- on connect: {"type": "game-state", "sessionId": S, "state": {"moves": 0, "players": {ID: {...}}}}
//   <- to the others: {"type": "player-joined", "player": {"id": ID, "name": NAME}}
//   -> {"type": "player-move", "move": {"dx": 1, "dy": 0}}       (dx, dy: -1, 0 or 1)
//   <- to the mover: {"type": "move-accepted", "moves": N, "position": {"x": X, "y": Y}}
//   <- to the others: {"type": "game-state", ..., "lastMove": {"player": ID, "dx": 1, "dy": 0}}
//   <- to the others when one goes: {"type": "player-left", "player": {"id": ID, "name": NAME}}
// A session is a room ("game:S"). A move is checked by the schema of its type before the
// handler runs; the state goes to the session except the mover; the notices come from
// `joined` and `left` (which also fires when the connection ends). The session id and the
// player's name are checked before the upgrade (HTTP 400).

const BOARD_SIZE = 10;
const sessions = new Map();  // session id -> {moves, players: {connection id: {name, x, y}}}
const clamp = n => Math.min(Math.max(n, 0), BOARD_SIZE - 1);

function gameConnection(conn) {
    const sessionId = conn.get_request().get_param('sessionId');
    const name = conn.get_request().get_query_param('player');  // required by the query schema
    const room = `game:${sessionId}`;
    if (!sessions.has(sessionId))
        sessions.set(sessionId, {moves: 0, players: {}});
    const session = sessions.get(sessionId);
    const me = session.players[conn.get_id()] = {name, x: 0, y: 0};
    const gameState = extra => ({type: 'game-state', sessionId, state: session, ...extra});
    const tellOthers = type =>
        service.broadcast(room, node({type, player: {id: conn.get_id(), name}}), conn);

    conn.connect('message::player-move', (c, message) => {
        const {dx, dy} = value(message).move;
        me.x = clamp(me.x + dx);
        me.y = clamp(me.y + dy);
        session.moves++;
        send(c, {type: 'move-accepted', moves: session.moves, position: {x: me.x, y: me.y}});
        service.broadcast(room, node(gameState({lastMove: {player: c.get_id(), dx, dy}})),
            c);                                           // all but the mover
    });
    conn.connect('joined', () => tellOthers('player-joined'));
    conn.connect('left', c => {                          // out of the room already
        tellOthers('player-left');
        delete session.players[c.get_id()];
        if (Object.keys(session.players).length === 0)
            sessions.delete(sessionId);
    });
    send(conn, gameState({}));
    conn.join(room);
}

function addGame() {
    const move = {type: 'object', required: ['dx', 'dy'], additionalProperties: false,
        properties: {dx: {enum: [-1, 0, 1]}, dy: {enum: [-1, 0, 1]}}};
    const module = moduleWithTypes({
        alias: 'game', path: '/ws/game/:sessionId',
        params_schema: schema({properties: {sessionId: {type: 'string', pattern: '^[A-Za-z0-9-]{1,64}$'}}}),
        query_schema: schema({required: ['player'],
            properties: {player: {type: 'string', minLength: 1, maxLength: 32}}}),
    }, {'player-move': {required: ['move'], properties: {move}}});
    module.connect('connection', (_module, conn) => gameConnection(conn));
    service.add_module(module);
}

// Monitoring: /ws/monitor, tokens with the scope "admin" only --------------------------
//   the token: Authorization: Bearer, ?token= or the subprotocol "owlsock.bearer.TOKEN";
//   none or a bad one: HTTP 401; without "admin": 403
//   <- on connect: {"type": "system-state", "data": {"connections-open": N, ...}}
//   <- {"type": "system-event", "event": "connection-opened", "connection": {"id", "module", "path"}}
//   <- {"type": "system-event", "event": "connection-closed", "connection": {...}, "code": 1000}
// The guard (a JWT) and the gate (the "admin" scope) decide before the upgrade. The events
// come from the service's connection-added and connection-removed signals.

const MONITOR_ROOM = 'monitors';

function pushSystemEvent(conn, event) {
    const frame = {type: 'system-event', event, connection: {
        id: conn.get_id(), module: conn.get_module().get_alias(), path: conn.get_request().get_path(),
    }};
    if (event === 'connection-closed')
        frame.code = conn.get_close_code();
    service.broadcast(MONITOR_ROOM, node(frame), null);
}

function addMonitor() {
    const guard = Owlsock.JwtGuard.new();
    const secretFile = option('secret-file', null);
    const secret = GLib.getenv('OWLSOCK_JWT_SECRET');
    if (secretFile !== null)                    // read as owlsockd reads it: one newline dropped
        guard.load_secret_file(null, secretFile);
    else if (secret !== null)
        guard.add_secret(secret);
    else
        throw new Error('Set OWLSOCK_JWT_SECRET or pass --secret-file');
    service.add_guard('jwt', guard);
    service.add_gate('admin', Owlsock.ScopeGate.new(['admin']));

    const module = new Owlsock.Module({alias: 'monitor', path: '/ws/monitor',
        guards: ['jwt'], gates: ['admin']});
    module.connect('connection', (_module, conn) => {
        send(conn, {type: 'system-state', data: value(Json.gvariant_serialize(service.dup_stats()))});
        conn.join(MONITOR_ROOM);
    });
    // Before the module's `connection` (a new monitor is not in the room yet), and after
    // a connection left its rooms (a monitor that goes is not told of itself).
    service.connect('connection-added', (_svc, conn) => pushSystemEvent(conn, 'connection-opened'));
    service.connect('connection-removed', (_svc, conn) => pushSystemEvent(conn, 'connection-closed'));
    service.add_module(module);
}

// Connection management: /ws/connection ----------------------------------------------
//   <- on connect: {"type": "connection-established", "connectionId": ID, "serverTime": MS}
//   <- every --stats-interval ms: {"type": "server-stats", "activeConnections": N, "serverUptime": S}
//   -> {"type": "ping", "id": "p1"}   <- {"type": "pong", "id": "p1"}    (answered by owlsock)
// The id is owlsock's own and the service keeps the registry (get_n_connections(),
// lookup_connection(), list_connections()). owlsock answers the envelope's `ping` before
// any handler and sends WebSocket pings of its own (ping-interval; 4408 without a pong).

const started = GLib.get_monotonic_time();

function addConnection() {
    const interval = Number(option('stats-interval', 30000));
    const module = Owlsock.Module.new('connection', '/ws/connection');
    module.connect('connection', (_module, conn) => {
        send(conn, {type: 'connection-established', connectionId: conn.get_id(), serverTime: Date.now()});
        every(conn, interval, () => send(conn, {
            type: 'server-stats', activeConnections: service.get_n_connections(),
            serverUptime: (GLib.get_monotonic_time() - started) / 1e6,
        }));
    });
    service.add_module(module);
}

// Error handling: /ws/errors ---------------------------------------------------------
//   -> call lookup ["owl"]     <- result "a bird that hunts at night"
//   -> call lookup ["dragon"]  <- error, code "not-found", recoverable true (ask for another)
//   -> call lookup [42]        <- error, code "invalid-argument", recoverable false
//   -> call crash []           <- error "InternalError|||Internal error", code "internal"
// A known failure is a CallError with the OwlError code that fits; the client gets the
// code, the message and the code's `recoverable` flag. Anything else is answered as
// `internal`, with nothing of it, and logged. (A handler that throws gets `internal`
// from owlsock too, but GJS reports the exception as a critical: catch it.)

const ENTRIES = {owl: 'a bird that hunts at night', sock: 'what keeps a foot warm'};

class CallError extends Error {
    constructor(code, message) {
        super(message);
        this.code = code;
    }
}

// A call handler from a function of the call's arguments that returns the result.
function answering(func) {
    return (_conn, call) => {
        try {
            call.return_value(node(func(...value(call.get_params()) ?? [])));
        } catch (e) {
            if (e instanceof CallError) {
                call.return_error_literal(e.code, e.message);
            } else {
                printerr(`${call.get_method()}: ${e.message}`);   // for the operator ...
                call.return_error_literal(Owlsock.Error.INTERNAL, 'Internal error');  // ... not the client
            }
        }
        return true;
    };
}

function lookup(...args) {
    if (args.length !== 1 || typeof args[0] !== 'string')  // the same call fails again
        throw new CallError(Owlsock.Error.INVALID_ARGUMENT, 'lookup takes one string');
    if (!(args[0] in ENTRIES))                              // carry on, ask for another key
        throw new CallError(Owlsock.Error.NOT_FOUND, `No entry for '${args[0]}'`);
    return ENTRIES[args[0]];
}

function crash() {
    return GLib.file_get_contents('/etc/patterns/secret.conf');  // unexpected: no such file
}

function addErrors() {
    const module = Owlsock.Module.new('errors', '/ws/errors');
    module.connect('connection', (_module, conn) => {
        conn.connect('call::lookup', answering(lookup));
        conn.connect('call::crash', answering(crash));
    });
    service.add_module(module);
}

try {
    if (!(Number(option('stream-interval', 1000)) >= 1 && Number(option('stats-interval', 30000)) >= 1))
        throw new Error('--stream-interval and --stats-interval must be at least 1');
    for (const add of [addStream, addGame, addMonitor, addConnection, addErrors])
        add();
} catch (e) {
    printerr(`patterns.js: ${e.message}`);
    imports.system.exit(1);
}
service.listen(option('host', '127.0.0.1'), Number(option('port', 8080)));
print(`listening on ${service.get_port()}`);
service.run(null);  // until Ctrl-C or SIGTERM; clients get the shutdown notice and 1001
