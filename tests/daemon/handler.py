#!/usr/bin/python3
# handler.py: a module's handler as its own process, in Python with Gio only:
# it registers for MODULE, answers every Message by sending it back through
# the daemon's Send, and prints "ready" once registered. It exits when its
# stdin closes (the test's way to make it leave the bus).
#
#   handler.py BUS-ADDRESS MODULE
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import sys
from pathlib import Path

from gi.repository import Gio, GLib

NAME, PATH, IFACE = 'org.owlmeans.Owlsock1', '/org/owlmeans/Owlsock1', 'org.owlmeans.Owlsock1'
XML = Path(__file__).resolve().parents[2] / 'data' / 'org.owlmeans.Owlsock1.xml'


def main():
    address, module = sys.argv[1], sys.argv[2]
    info = Gio.DBusNodeInfo.new_for_xml(XML.read_text()).lookup_interface(IFACE + '.Handler')
    conn = Gio.DBusConnection.new_for_address_sync(
        address, Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT |
        Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION, None, None)
    loop = GLib.MainLoop()

    def on_call(conn, sender, path, iface, method, params, invocation):
        if method == 'Message':
            conn_id, text = params.unpack()
            conn.call(NAME, PATH, IFACE, 'Send', GLib.Variant('(ssa{sv})', (conn_id, text, {})),
                      None, Gio.DBusCallFlags.NONE, -1, None, None)
        if method == 'Call':
            invocation.return_value(GLib.Variant('(s)', ('"from-process"',)))
            return
        invocation.return_value(None)

    conn.register_object('/handler', info, on_call, None, None)
    conn.call_sync(NAME, PATH, IFACE, 'RegisterHandler', GLib.Variant('(soa{sv})', (module, '/handler', {})),
                   None, Gio.DBusCallFlags.NONE, 5000, None)
    print('ready', flush=True)
    GLib.io_add_watch(GLib.IOChannel.unix_new(0), GLib.PRIORITY_DEFAULT,
                      GLib.IOCondition.IN | GLib.IOCondition.HUP, lambda *a: loop.quit())
    loop.run()
    return 0


if __name__ == '__main__':
    sys.exit(main())
