#!/usr/bin/python3
# lifecycle_server.py: the timer pattern and run() from Python, for test_lifecycle.py
#
#   /ws/ticks  a {"type":"tick","n":N} every 10 ms from a timer started on connect and
#              stopped in `closing`; {"type":"bye"} makes the server close with 4000
#   /ws/rooms  {"type":"join"|"leave","room":R} joins or leaves R; `joined` and `left`
#              broadcast {"type":"presence","event":"joined"|"left","room":R,"id":ID} to R
#
# The timer sends with conn.send(), which raises once the connection is closing: a
# timer that outlived `closing` would print a traceback on stderr, which the test
# reads. service.run() serves until SIGINT or SIGTERM, then "stopped" is printed.
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import json
import sys

import gi
gi.require_version('Json', '1.0')
gi.require_version('Owlsock', '1')
from gi.repository import GLib, Json, Owlsock


def on_connection(module, conn):
    ticks = {'n': 0}

    def tick():
        ticks['n'] += 1
        conn.send(Json.from_string(json.dumps({'type': 'tick', 'n': ticks['n']})))
        return GLib.SOURCE_CONTINUE

    timer = GLib.timeout_add(10, tick)                # start on connect ...
    conn.connect('closing', lambda conn, code, reason: GLib.source_remove(timer))  # ... stop here
    conn.connect('message::bye', lambda conn, message: conn.close(4000, 'bye'))


def on_rooms_connection(module, conn):
    def presence(conn, room, event):
        service.broadcast(room, Json.from_string(json.dumps(
            {'type': 'presence', 'event': event, 'room': room, 'id': conn.get_id()})), None)

    def room_of(message):
        return json.loads(Json.to_string(message, False))['room']

    conn.connect('joined', presence, 'joined')
    conn.connect('left', presence, 'left')
    conn.connect('message::join', lambda conn, message: conn.join(room_of(message)))
    conn.connect('message::leave', lambda conn, message: conn.leave(room_of(message)))
    conn.send(Json.from_string(json.dumps({'type': 'welcome', 'id': conn.get_id()})))


service = Owlsock.SocketService.new(None)
module = Owlsock.Module.new('ticks', '/ws/ticks')
module.connect('connection', on_connection)
service.add_module(module)
rooms = Owlsock.Module.new('rooms', '/ws/rooms')
rooms.connect('connection', on_rooms_connection)
service.add_module(rooms)
service.listen('127.0.0.1', 0)
print(f'listening on {service.get_port()}', flush=True)
service.run(None)
print('stopped', flush=True)
sys.exit(0)
