#!/usr/bin/python3
# test_tls_server.py: the wss server test_tls.py talks to
#
#   test_tls_server.py CERT KEY     echo at /ws/echo over TLS
# Prints 'listening on PORT'; a message {"type":"reload"} reloads CERT and
# KEY and is answered {"type":"reloaded"}; SIGTERM stops it (exit 0).
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import signal
import sys

sys.dont_write_bytecode = True

import gi
gi.require_version('Json', '1.0')
gi.require_version('Owlsock', '1')
from gi.repository import GLib, Json, Owlsock


def main():
    cert, key = sys.argv[1], sys.argv[2]
    loop = GLib.MainLoop()
    service = Owlsock.SocketService.new(None)
    service.load_tls_files(cert, key)

    def on_message(conn, node):
        if node.get_object().get_string_member_with_default('type', '') == 'reload':
            service.load_tls_files(cert, key)
            conn.send_text('{"type":"reloaded"}')
        else:
            conn.send(node)

    module = Owlsock.Module.new('echo', '/ws/echo')
    module.connect('connection', lambda m, conn: conn.connect('message', on_message))
    service.add_module(module)
    service.listen('127.0.0.1', 0)
    print(f'listening on {service.get_port()}', flush=True)

    def stop():
        service.connect('stopped', lambda s: loop.quit())
        service.stop()
        return GLib.SOURCE_REMOVE

    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGTERM, stop)
    loop.run()


if __name__ == '__main__':
    main()
