#!/usr/bin/python3
# echo.py: answer every message and event with the same JSON, plus two RPC methods.
#
#   /usr/bin/python3 examples/python/echo.py --port 8080
#   then send {"type": "hello"} to ws://127.0.0.1:8080/ws/echo, or
#   {"type": "call", "id": "1", "method": "sum", "payload": [1, 2]}
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import argparse
import json

import gi
gi.require_version('Json', '1.0')
gi.require_version('Owlsock', '1')
from gi.repository import GLib, Json, Owlsock


def on_message(conn, node):
    conn.send(node)                        # the same JSON straight back


def on_event(conn, event, payload):
    conn.notify_event(event, payload)      # {"type": "event", ...} comes back as an event


def on_call_echo(conn, call):
    call.return_value(call.get_params())   # the argument array, unchanged
    return True                            # True: this handler takes the call


def on_call_sum(conn, call):
    numbers = json.loads(Json.to_string(call.get_params(), False))
    if not all(type(n) in (int, float) for n in numbers):
        call.return_error_literal(Owlsock.Error.INVALID_ARGUMENT, 'sum takes numbers')
        return True

    def answer():                          # answering later is fine: the closure keeps `call`
        call.return_value(Json.from_string(json.dumps(sum(numbers))))
        return GLib.SOURCE_REMOVE
    GLib.timeout_add(10, answer)
    return True


def on_connection(module, conn):
    conn.connect('message', on_message)
    conn.connect('event', on_event)        # every event; 'event::name' for one
    conn.connect('call::echo', on_call_echo)
    conn.connect('call::sum', on_call_sum)


def main():
    parser = argparse.ArgumentParser(description='owlsock echo server')
    parser.add_argument('--host', default='127.0.0.1')
    parser.add_argument('--port', type=int, default=8080, help='0: any free port')
    args = parser.parse_args()

    service = Owlsock.SocketService.new(None)
    module = Owlsock.Module.new('echo', '/ws/echo')
    module.connect('connection', on_connection)
    service.add_module(module)
    service.listen(args.host, args.port)
    print(f'listening on {service.get_port()}', flush=True)
    service.run(None)   # until Ctrl-C or SIGTERM; clients get the shutdown notice and 1001


if __name__ == '__main__':
    main()
