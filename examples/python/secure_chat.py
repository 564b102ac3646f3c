#!/usr/bin/python3
# secure_chat.py: chat rooms behind a JWT guard, and a monitor for admins;
# the same service as examples/c/secure-chat.c.
#
#   head -c 32 /dev/urandom | base64 > secret.txt
#   /usr/bin/python3 examples/python/secure_chat.py --secret-file secret.txt --port 8080
#     (or the secret in OWLSOCK_JWT_SECRET; at least 32 bytes, else it refuses to start)
#   TOKEN=$(build/tools/owlsock-token --secret-file secret.txt --sub alice --scope "chat admin")
#
# The token goes in "Authorization: Bearer TOKEN", in ?token=TOKEN, or in the
# subprotocol entry "owlsock.bearer.TOKEN"; without a valid one: HTTP 401.
#   ws://127.0.0.1:8080/ws/chat/<room>   {"type": "chat-message", "content": "hi"} goes to the
#       others in the room as a room-message whose sender is the token's subject
#   ws://127.0.0.1:8080/ws/monitor       scope "admin" only (HTTP 403): a call "stats", and an
#       event "stats" every --stats-interval seconds
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import argparse
import json
import os
import sys

import gi
gi.require_version('Json', '1.0')
gi.require_version('Owlsock', '1')
from gi.repository import GLib, Json, Owlsock

MONITOR_ROOM = 'monitor'   # every monitor connection, for the pushed stats

service = Owlsock.SocketService.new(None)


def node(obj):
    return Json.from_string(json.dumps(obj))


def stats_json():
    return Json.gvariant_serialize(service.dup_stats())


def on_chat_connection(module, conn):
    room = conn.get_request().get_param('room')
    user = conn.get_auth().get_user_id()   # who the guard says it is: never a field of a message

    def on_message(conn, message):
        msg = json.loads(Json.to_string(message, False))
        if msg.get('type') == 'chat-message':
            service.broadcast(room, node({'type': 'room-message', 'room': room,
                                          'sender': user, 'content': msg.get('content')}), conn)

    conn.connect('message', on_message)
    conn.join(room)
    conn.send(node({'type': 'welcome', 'room': room, 'userId': user}))


def on_monitor_connection(module, conn):
    def on_stats(conn, call):              # {"type": "call", "method": "stats"}
        call.return_value(stats_json())
        return True

    conn.connect('call::stats', on_stats)
    conn.join(MONITOR_ROOM)


def push_stats():                          # {"type": "event", "event": "stats", "payload": ...}
    frame = Json.Object.new()
    frame.set_string_member('type', 'event')
    frame.set_string_member('event', 'stats')
    frame.set_member('payload', stats_json())
    service.broadcast(MONITOR_ROOM, Json.Node.alloc().init_object(frame), None)
    return GLib.SOURCE_CONTINUE


def add_secret(guard, secret_file):
    """--secret-file (read as owlsockd and owlsock-token read it: one trailing newline
    dropped), or OWLSOCK_JWT_SECRET. The guard refuses a secret under 32 bytes."""
    if secret_file is not None:
        guard.load_secret_file(None, secret_file)
    elif 'OWLSOCK_JWT_SECRET' in os.environ:
        guard.add_secret(os.environb[b'OWLSOCK_JWT_SECRET'])
    else:
        raise ValueError('Set OWLSOCK_JWT_SECRET or pass --secret-file')


# What a chat client may send (filter(body(schema)) in @owlmeans/server-socket); anything else
# is answered with a "validation" error and never reaches the room.
CHAT_MESSAGE_SCHEMA = '''{"type": "object", "required": ["type", "content"],
  "properties": {"type": {"const": "chat-message"},
                 "content": {"type": "string", "minLength": 1, "maxLength": 2000}}}'''


def setup(args):
    guard = Owlsock.JwtGuard.new()
    add_secret(guard, args.secret_file)
    if args.stats_interval < 1:
        raise ValueError('--stats-interval must be at least 1')
    service.add_guard('jwt', guard)
    service.add_gate('admin', Owlsock.ScopeGate.new(['admin']))

    chat = Owlsock.Module(alias='chat', path='/ws/chat/:room', guards=['jwt'],
                          message_schema=Owlsock.Schema.new_from_string(CHAT_MESSAGE_SCHEMA))
    chat.connect('connection', on_chat_connection)
    monitor = Owlsock.Module(alias='monitor', path='/ws/monitor', guards=['jwt'], gates=['admin'])
    monitor.connect('connection', on_monitor_connection)
    service.add_module(chat)
    service.add_module(monitor)
    GLib.timeout_add_seconds(args.stats_interval, push_stats)


def main():
    parser = argparse.ArgumentParser(description='owlsock chat behind a JWT guard')
    parser.add_argument('--host', default='127.0.0.1')
    parser.add_argument('--port', type=int, default=8080, help='0: any free port')
    parser.add_argument('--secret-file', help='the HS256 secret (default: $OWLSOCK_JWT_SECRET); '
                                              'at least 32 bytes')
    parser.add_argument('--stats-interval', type=int, default=5,
                        help='seconds between two stats events to the monitors')
    args = parser.parse_args()

    try:
        setup(args)
    except (GLib.Error, OSError, ValueError) as e:
        sys.exit(f'secure_chat.py: {e.message if isinstance(e, GLib.Error) else e}')
    service.listen(args.host, args.port)
    print(f'listening on {service.get_port()}', flush=True)
    service.run(None)   # until Ctrl-C or SIGTERM; clients get the shutdown notice and 1001


if __name__ == '__main__':
    main()
