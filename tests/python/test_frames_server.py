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

import sys

sys.dont_write_bytecode = True

import gi
gi.require_version('Json', '1.0')
gi.require_version('Owlsock', '1')
from gi.repository import Owlsock

import owlserve

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
    service = Owlsock.SocketService.new(None)
    for alias, path, properties in MODULES:
        module = Owlsock.Module.new(alias, path)
        for name, value in properties.items():
            module.set_property(name, value)
        module.connect('connection', on_connection)
        service.add_module(module)
    owlserve.serve(service, 'frame-layer test server')


if __name__ == '__main__':
    main()
