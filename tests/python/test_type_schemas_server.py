#!/usr/bin/python3
# test_type_schemas_server.py: the Python server test_type_schemas.py talks to
#
# Two echo modules whose per-type schemas are set from a dict after add_module():
#   /ws/typed   subscribe and publish have schemas; other types pass
#   /ws/strict  the same with strict-types: other types are refused
# Prints 'listening on PORT' once it listens; SIGTERM stops it (exit 0).
# tests/gjs/test-type-schemas-server.js is the same server in GJS.
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import sys

sys.dont_write_bytecode = True

import gi
gi.require_version('Json', '1.0')
gi.require_version('Owlsock', '1')
from gi.repository import Owlsock

import owlserve

SCHEMAS = {
    'subscribe': '{"required": ["room"],'
                 ' "properties": {"room": {"type": "string", "maxLength": 8}}}',
    'publish': '{"required": ["room", "text"], "properties": {"room": {"type": "string"}}}',
}


def on_connection(module, conn):
    conn.connect('message', lambda conn, message: conn.send(message))


def main():
    service = Owlsock.SocketService.new(None)
    for alias, strict in (('typed', False), ('strict', True)):
        module = Owlsock.Module.new(alias, f'/ws/{alias}')
        module.connect('connection', on_connection)
        service.add_module(module)
        # After add_module: applies from the next upgrade on.
        module.set_type_schemas({t: Owlsock.Schema.new_from_string(s) for t, s in SCHEMAS.items()})
        module.props.strict_types = strict
    owlserve.serve(service, 'per-type schema test server')


if __name__ == '__main__':
    main()
