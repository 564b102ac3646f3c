#!/usr/bin/python3
# lifecycle_server.py: the timer pattern and run() from Python, for test_lifecycle.py
#
#   /ws/ticks  a {"type":"tick","n":N} every 10 ms from a timer started on connect and
#              stopped in `closing`; {"type":"bye"} makes the server close with 4000
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


service = Owlsock.SocketService.new(None)
module = Owlsock.Module.new('ticks', '/ws/ticks')
module.connect('connection', on_connection)
service.add_module(module)
service.listen('127.0.0.1', 0)
print(f'listening on {service.get_port()}', flush=True)
service.run(None)
print('stopped', flush=True)
sys.exit(0)
