#!/usr/bin/python3
# patterns.py: every pattern of @owlmeans/server-socket's README, one module each;
# the same service as examples/c/patterns/ and examples/gjs/patterns.js.
#
#   head -c 32 /dev/urandom | base64 > secret.txt
#   /usr/bin/python3 examples/python/patterns.py --secret-file secret.txt --port 8080
#     (or the secret in OWLSOCK_JWT_SECRET; the monitor needs it)
#
#   /ws/stream                      data stream            stream_*
#   /ws/game/SESSION?player=NAME    game session           game_*
#   /ws/monitor                     monitoring (admin)     monitor_*
#   /ws/connection                  connection management  connection_*
#   /ws/errors                      error handling         errors_*
#
# The messages of each are listed above its code, and in the README's table of patterns.
# It uses the PyGObject overrides (send dicts, read Python values): from the source tree,
# PYTHONPATH=build/bindings/python GI_TYPELIB_PATH=build/introspection LD_LIBRARY_PATH=build/owlsock
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import argparse
import os
import sys
import time

import gi
gi.require_version('Json', '1.0')
gi.require_version('Owlsock', '1')
from gi.repository import GLib, Json, Owlsock

service = Owlsock.SocketService.new(None)


def every(conn, interval_ms, tick):
    """Calls tick() every interval_ms from now until the connection starts closing: the
    timer is removed in `closing`, so it never meets a closed connection."""
    def fire():
        tick()
        return GLib.SOURCE_CONTINUE
    timer = GLib.timeout_add(interval_ms, fire)
    conn.connect('closing', lambda conn, code, reason: GLib.source_remove(timer))


def module_with_types(alias, path, type_schemas, **props):
    """A module with a schema per message type; strict-types refuses any other type
    (a `validation` error, pointer /type, keyword enum)."""
    module = Owlsock.Module(alias=alias, path=path, strict_types=True, **props)
    module.set_type_schemas({t: Owlsock.Schema.new_from_node(s) for t, s in type_schemas.items()})
    return module


# Data stream: /ws/stream -------------------------------------------------------------
#   -> {"type": "subscribe", "channel": "cpu"}      <- {"type": "subscribed", "channel": "cpu"}
#   <- every --stream-interval ms, for each channel subscribed:
#      {"type": "data-update", "channel": "cpu", "seq": N, "timestamp": MS, "value": 0..999}
#   -> {"type": "unsubscribe", "channel": "cpu"}    <- {"type": "unsubscribed", "channel": "cpu"}
#   -> {"type": "request", "id": "h1", "payload": {"type": "get-history", "channel": "cpu", "limit": 5}}
#   <- {"type": "response", "id": "h1", "payload": {"channel": "cpu", "points": [...]}}
# A channel is a room ("stream:cpu"): the connection's rooms are its subscriptions, and
# closing leaves them all. get-history is a `request`: owlsock answers it as a `response`
# with the request's id (requestId in @owlmeans/server-socket).

STREAM_PREFIX = 'stream:'
CHANNEL = {'type': 'string', 'pattern': '^[a-z0-9-]{1,32}$'}
HISTORY_SCHEMA = Owlsock.Schema.new_from_node({   # a request's payload is checked by hand
    'type': 'object', 'required': ['type', 'channel'],
    'properties': {'type': {'const': 'get-history'}, 'channel': CHANNEL,
                   'limit': {'type': 'integer', 'minimum': 1, 'maximum': 100}}})


def stream_point(channel, seq, interval):
    """The data source, standing in for a database or a sensor: a function of time,
    so it has a history too."""
    value = (sum(channel.encode()) * 31 + seq * 17) % 1000
    return {'seq': seq, 'timestamp': seq * interval, 'value': value}


def stream_connection(module, conn, interval):
    def current_seq():
        return int(time.time() * 1000) // interval

    def on_subscribe(conn, message):        # the type schema checked "channel" already
        conn.join(STREAM_PREFIX + message['channel'])
        conn.send({'type': 'subscribed', 'channel': message['channel']})

    def on_unsubscribe(conn, message):
        conn.leave(STREAM_PREFIX + message['channel'])
        conn.send({'type': 'unsubscribed', 'channel': message['channel']})

    def on_request(conn, call):
        payload = call.get_params_value()
        try:
            HISTORY_SCHEMA.validate(payload)
        except GLib.Error as e:             # a `validation` error with the request's id
            call.return_error(e)
            return True
        last = current_seq()
        points = [stream_point(payload['channel'], seq, interval)
                  for seq in range(last - payload.get('limit', 10) + 1, last + 1)]
        call.return_value({'channel': payload['channel'], 'points': points})
        return True

    def send_updates():
        seq = current_seq()
        for room in conn.dup_rooms():
            if room.startswith(STREAM_PREFIX):
                channel = room[len(STREAM_PREFIX):]
                conn.send(dict(stream_point(channel, seq, interval),
                               type='data-update', channel=channel))

    conn.connect_message(on_subscribe, type='subscribe')
    conn.connect_message(on_unsubscribe, type='unsubscribe')
    conn.connect('request', on_request)
    every(conn, interval, send_updates)     # started now, stopped in `closing`


def add_stream(args):
    channel_only = {'required': ['channel'], 'properties': {'channel': CHANNEL}}
    module = module_with_types('stream', '/ws/stream',
                               {'subscribe': channel_only, 'unsubscribe': channel_only})
    module.connect('connection', stream_connection, args.stream_interval)
    service.add_module(module)


# Game session: /ws/game/:sessionId?player=NAME -----------------------------------------
#   <- on connect: {"type": "game-state", "sessionId": S, "state": {"moves": 0, "players": {ID: {...}}}}
#   <- to the others: {"type": "player-joined", "player": {"id": ID, "name": NAME}}
#   -> {"type": "player-move", "move": {"dx": 1, "dy": 0}}       (dx, dy: -1, 0 or 1)
#   <- to the mover: {"type": "move-accepted", "moves": N, "position": {"x": X, "y": Y}}
#   <- to the others: {"type": "game-state", ..., "lastMove": {"player": ID, "dx": 1, "dy": 0}}
#   <- to the others when one goes: {"type": "player-left", "player": {"id": ID, "name": NAME}}
# A session is a room ("game:S"). A move is checked by the schema of its type before the
# handler runs; the state goes to the session except the mover; the notices come from
# `joined` and `left` (which also fires when the connection ends). The session id and the
# player's name are checked before the upgrade (HTTP 400).

BOARD_SIZE = 10
sessions = {}   # session id -> {"moves": N, "players": {connection id: {"name", "x", "y"}}}


def game_state(session_id, **extra):
    return dict({'type': 'game-state', 'sessionId': session_id, 'state': sessions[session_id]},
                **extra)


def game_connection(module, conn):
    session_id = conn.get_request().get_param('sessionId')
    name = conn.get_request().get_query_param('player')   # required by the query schema
    room = f'game:{session_id}'
    session = sessions.setdefault(session_id, {'moves': 0, 'players': {}})
    me = session['players'][conn.get_id()] = {'name': name, 'x': 0, 'y': 0}

    def tell_others(type_):
        service.broadcast(room, {'type': type_, 'player': {'id': conn.get_id(), 'name': name}}, conn)

    def on_move(conn, message):
        dx, dy = message['move']['dx'], message['move']['dy']
        me['x'] = min(max(me['x'] + dx, 0), BOARD_SIZE - 1)
        me['y'] = min(max(me['y'] + dy, 0), BOARD_SIZE - 1)
        session['moves'] += 1
        conn.send({'type': 'move-accepted', 'moves': session['moves'],
                   'position': {'x': me['x'], 'y': me['y']}})
        service.broadcast(room, game_state(session_id, lastMove={'player': conn.get_id(),
                                                                 'dx': dx, 'dy': dy}),
                          conn)                      # all but the mover

    def on_left(conn, _room):                        # out of the room already
        tell_others('player-left')
        del session['players'][conn.get_id()]
        if not session['players']:
            del sessions[session_id]

    conn.connect_message(on_move, type='player-move')
    conn.connect('joined', lambda conn, _room: tell_others('player-joined'))
    conn.connect('left', on_left)
    conn.send(game_state(session_id))
    conn.join(room)


def add_game(_args):
    move = {'type': 'object', 'required': ['dx', 'dy'], 'additionalProperties': False,
            'properties': {'dx': {'enum': [-1, 0, 1]}, 'dy': {'enum': [-1, 0, 1]}}}
    module = module_with_types(
        'game', '/ws/game/:sessionId',
        {'player-move': {'required': ['move'], 'properties': {'move': move}}},
        params_schema=Owlsock.Schema.new_from_node(
            {'properties': {'sessionId': {'type': 'string', 'pattern': '^[A-Za-z0-9-]{1,64}$'}}}),
        query_schema=Owlsock.Schema.new_from_node(
            {'required': ['player'],
             'properties': {'player': {'type': 'string', 'minLength': 1, 'maxLength': 32}}}))
    module.connect('connection', game_connection)
    service.add_module(module)


# Monitoring: /ws/monitor, tokens with the scope "admin" only ---------------------------
#   the token: Authorization: Bearer, ?token= or the subprotocol "owlsock.bearer.TOKEN";
#   none or a bad one: HTTP 401; without "admin": 403
#   <- on connect: {"type": "system-state", "data": {"connections-open": N, ...}}
#   <- {"type": "system-event", "event": "connection-opened", "connection": {"id", "module", "path"}}
#   <- {"type": "system-event", "event": "connection-closed", "connection": {...}, "code": 1000}
# The guard (a JWT) and the gate (the "admin" scope) decide before the upgrade. The events
# come from the service's connection-added and connection-removed signals.

MONITOR_ROOM = 'monitors'


def monitor_connection(module, conn):
    stats = Owlsock.to_python(Json.gvariant_serialize(service.dup_stats()))
    conn.send({'type': 'system-state', 'data': stats})
    conn.join(MONITOR_ROOM)


def push_system_event(service, conn, event):
    frame = {'type': 'system-event', 'event': event,
             'connection': {'id': conn.get_id(), 'module': conn.get_module().get_alias(),
                            'path': conn.get_request().get_path()}}
    if event == 'connection-closed':
        frame['code'] = conn.get_close_code()
    service.broadcast(MONITOR_ROOM, frame)


def add_monitor(args):
    guard = Owlsock.JwtGuard.new()
    if args.secret_file is not None:        # read as owlsockd reads it: one newline dropped
        guard.load_secret_file(None, args.secret_file)
    elif 'OWLSOCK_JWT_SECRET' in os.environ:
        guard.add_secret(os.environb[b'OWLSOCK_JWT_SECRET'])
    else:
        raise ValueError('Set OWLSOCK_JWT_SECRET or pass --secret-file')
    service.add_guard('jwt', guard)
    service.add_gate('admin', Owlsock.ScopeGate.new(['admin']))
    module = Owlsock.Module(alias='monitor', path='/ws/monitor', guards=['jwt'], gates=['admin'])
    module.connect('connection', monitor_connection)
    # Before the module's `connection` (a new monitor is not in the room yet), and
    # after a connection left its rooms (a monitor that goes is not told of itself).
    service.connect('connection-added', push_system_event, 'connection-opened')
    service.connect('connection-removed', push_system_event, 'connection-closed')
    service.add_module(module)


# Connection management: /ws/connection -------------------------------------------------
#   <- on connect: {"type": "connection-established", "connectionId": ID, "serverTime": MS}
#   <- every --stats-interval ms: {"type": "server-stats", "activeConnections": N, "serverUptime": S}
#   -> {"type": "ping", "id": "p1"}   <- {"type": "pong", "id": "p1"}    (answered by owlsock)
# The id is owlsock's own and the service keeps the registry (get_n_connections(),
# lookup_connection(), list_connections()). owlsock answers the envelope's `ping` before
# any handler and sends WebSocket pings of its own (ping-interval; 4408 without a pong).

started = time.monotonic()


def connection_connection(module, conn, interval):
    conn.send({'type': 'connection-established', 'connectionId': conn.get_id(),
               'serverTime': int(time.time() * 1000)})
    every(conn, interval, lambda: conn.send({
        'type': 'server-stats', 'activeConnections': service.get_n_connections(),
        'serverUptime': time.monotonic() - started}))


def add_connection(args):
    module = Owlsock.Module.new('connection', '/ws/connection')
    module.connect('connection', connection_connection, args.stats_interval)
    service.add_module(module)


# Error handling: /ws/errors -------------------------------------------------------------
#   -> call lookup ["owl"]     <- result "a bird that hunts at night"
#   -> call lookup ["dragon"]  <- error, code "not-found", recoverable true (ask for another)
#   -> call lookup [42]        <- error, code "invalid-argument", recoverable false
#   -> call crash []           <- error "InternalError|||Internal error", code "internal"
# A known failure answers with the OwlError code that fits; the client gets the code,
# the message and the code's `recoverable` flag. An exception the handler did not expect
# needs nothing: owlsock answers `internal` with nothing of it, and PyGObject prints the
# traceback on stderr for the operator.

ENTRIES = {'owl': 'a bird that hunts at night', 'sock': 'what keeps a foot warm'}


def on_lookup(conn, call):
    params = call.get_params_value()
    if not (isinstance(params, list) and len(params) == 1 and isinstance(params[0], str)):
        # not recoverable: the same call fails the same way again
        call.return_error_literal(Owlsock.Error.INVALID_ARGUMENT, 'lookup takes one string')
    elif params[0] in ENTRIES:
        call.return_value(ENTRIES[params[0]])
    else:                                   # recoverable: carry on, ask for another key
        call.return_error_literal(Owlsock.Error.NOT_FOUND, f"No entry for '{params[0]}'")
    return True


def on_crash(conn, call):
    with open('/etc/patterns/secret.conf') as config:   # something unexpected: no such file
        call.return_value(config.read())
    return True


def errors_connection(module, conn):
    conn.connect('call::lookup', on_lookup)
    conn.connect('call::crash', on_crash)


def add_errors(_args):
    module = Owlsock.Module.new('errors', '/ws/errors')
    module.connect('connection', errors_connection)
    service.add_module(module)


def main():
    parser = argparse.ArgumentParser(description='every pattern of @owlmeans/server-socket')
    parser.add_argument('--host', default='127.0.0.1')
    parser.add_argument('--port', type=int, default=8080, help='0: any free port')
    parser.add_argument('--secret-file', help="the monitor's HS256 secret "
                                              '(default: $OWLSOCK_JWT_SECRET); at least 32 bytes')
    parser.add_argument('--stream-interval', type=int, default=1000,
                        help='milliseconds between two data updates of the stream')
    parser.add_argument('--stats-interval', type=int, default=30000,
                        help='milliseconds between two server-stats of /ws/connection')
    args = parser.parse_args()

    try:
        if args.stream_interval < 1 or args.stats_interval < 1:
            raise ValueError('--stream-interval and --stats-interval must be at least 1')
        for add in (add_stream, add_game, add_monitor, add_connection, add_errors):
            add(args)
    except (GLib.Error, OSError, ValueError) as e:
        sys.exit(f'patterns.py: {e.message if isinstance(e, GLib.Error) else e}')
    service.listen(args.host, args.port)
    print(f'listening on {service.get_port()}', flush=True)
    service.run(None)   # until Ctrl-C or SIGTERM; clients get the shutdown notice and 1001


if __name__ == '__main__':
    main()
