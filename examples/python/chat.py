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
import signal

import gi
gi.require_version('Json', '1.0')
gi.require_version('Owlsock', '1')
from gi.repository import GLib, Json, Owlsock

service = Owlsock.SocketService.new(None)


def node(obj):
    return Json.from_string(json.dumps(obj))


def name_of(conn):
    return conn.get_request().get_query_param('name') or 'anonymous'


def on_connection(module, conn):
    room = conn.get_request().get_param('room')
    name = name_of(conn)

    def on_message(conn, message):
        msg = json.loads(Json.to_string(message, False))
        if msg.get('type') == 'chat-message':
            service.broadcast(room, node({'type': 'room-message', 'room': room,
                                          'sender': name, 'content': msg.get('content')}), conn)

    def on_typing(conn, event, payload):   # {"type": "event", "event": "typing"}
        service.broadcast(room, node({'type': 'event', 'event': 'typing',
                                      'payload': {'sender': name}}), conn)

    def on_members(conn, call):            # {"type": "call", "method": "members"}
        call.return_value(node(sorted(name_of(c) for c in service.list_room_members(room))))
        return True

    def on_closed(conn, code, reason):     # by now conn has left its rooms
        service.broadcast(room, node({'type': 'presence', 'event': 'leave', 'sender': name}), None)

    conn.connect('message', on_message)
    conn.connect('event::typing', on_typing)
    conn.connect('call::members', on_members)
    conn.connect('closed', on_closed)
    conn.join(room)
    conn.send(node({'type': 'welcome', 'room': room, 'name': name}))
    service.broadcast(room, node({'type': 'presence', 'event': 'join', 'sender': name}), conn)


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

    loop = GLib.MainLoop()
    service.connect('stopped', lambda service: loop.quit())
    for signum in (signal.SIGTERM, signal.SIGINT):   # clients get close code 1001
        GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signum, service.stop)
    loop.run()


if __name__ == '__main__':
    main()
