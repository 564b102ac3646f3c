#!/usr/bin/python3
# chat.py: chat rooms with presence, after the chat example of @owlmeans/server-socket.
#
#   /usr/bin/python3 examples/python/chat.py --port 8080
#   clients connect to ws://127.0.0.1:8080/ws/chat/<room>?name=<name> and send
#   {"type": "chat-message", "content": "hi"}
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import argparse
import json

import gi
gi.require_version('Json', '1.0')
gi.require_version('Owlsock', '1')
from gi.repository import Json, Owlsock

service = Owlsock.SocketService.new(None)


def node(obj):
    return Json.from_string(json.dumps(obj))


def name_of(conn):
    return conn.get_request().get_query_param('name') or 'anonymous'


def on_connection(module, conn):
    room = conn.get_request().get_param('room')
    name = name_of(conn)

    def on_chat_message(conn, message):    # only {"type": "chat-message", ...}
        msg = json.loads(Json.to_string(message, False))
        service.broadcast(room, node({'type': 'room-message', 'room': room,
                                      'sender': name, 'content': msg.get('content')}), conn)

    def on_typing(conn, event, payload):   # {"type": "event", "event": "typing"}
        service.broadcast(room, node({'type': 'event', 'event': 'typing',
                                      'payload': {'sender': name}}), conn)

    def on_members(conn, call):            # {"type": "call", "method": "members"}
        call.return_value(node(sorted(name_of(c) for c in service.list_room_members(room))))
        return True

    def on_joined(conn, joined_room):      # the others hear who came ...
        service.broadcast(joined_room, node({'type': 'presence', 'event': 'join',
                                             'sender': name}), conn)

    def on_left(conn, left_room):          # ... and who went (leave() or the end)
        service.broadcast(left_room, node({'type': 'presence', 'event': 'leave',
                                           'sender': name}), conn)

    conn.connect('message::chat-message', on_chat_message)
    conn.connect('event::typing', on_typing)
    conn.connect('call::members', on_members)
    conn.connect('joined', on_joined)
    conn.connect('left', on_left)
    conn.send(node({'type': 'welcome', 'room': room, 'name': name}))
    conn.join(room)


def main():
    parser = argparse.ArgumentParser(description='owlsock chat server')
    parser.add_argument('--host', default='127.0.0.1')
    parser.add_argument('--port', type=int, default=8080, help='0: any free port')
    args = parser.parse_args()

    module = Owlsock.Module.new('chat', '/ws/chat/:room')
    module.connect('connection', on_connection)
    service.add_module(module)
    service.listen(args.host, args.port)
    print(f'listening on {service.get_port()}', flush=True)
    service.run(None)   # until Ctrl-C or SIGTERM; clients get the shutdown notice and 1001


if __name__ == '__main__':
    main()
