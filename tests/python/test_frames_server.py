#!/usr/bin/python3
# test_frames_server.py: the server test_frames.py talks to
#
# Echo modules that differ only in their frame-layer settings:
#   /ws/echo     no permessage-deflate
#   /ws/deflate  permessage-deflate
#   /ws/small    permessage-deflate, max-message-size 64 KiB
# Prints 'listening on PORT' once it listens; SIGTERM stops it (exit 0).
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import argparse
import signal
import sys

sys.dont_write_bytecode = True

import gi
gi.require_version('Json', '1.0')
gi.require_version('Owlsock', '1')
from gi.repository import GLib, Owlsock

MODULES = [
    # alias, path, properties
    ('echo', '/ws/echo', {}),
    ('deflate', '/ws/deflate', {'deflate': True}),
    ('small', '/ws/small', {'deflate': True, 'max-message-size': 64 * 1024}),
]


def on_message(conn, node):
    conn.send(node)


def on_connection(module, conn):
    conn.connect('message', on_message)


def main():
    parser = argparse.ArgumentParser(description='frame-layer test server')
    parser.add_argument('--host', default='127.0.0.1')
    parser.add_argument('--port', type=int, default=0)
    args = parser.parse_args()

    service = Owlsock.SocketService.new(None)
    for alias, path, properties in MODULES:
        module = Owlsock.Module.new(alias, path)
        for name, value in properties.items():
            module.set_property(name, value)
        module.connect('connection', on_connection)
        service.add_module(module)
    service.listen(args.host, args.port)
    print(f'listening on {service.get_port()}', flush=True)

    loop = GLib.MainLoop()
    service.connect('stopped', lambda service: loop.quit())
    for signum in (signal.SIGTERM, signal.SIGINT):
        GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signum, service.stop)
    loop.run()


if __name__ == '__main__':
    main()
