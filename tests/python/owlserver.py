# owlserver.py: what the in-tree test servers (tests/python/*_server.py) share
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import signal

from gi.repository import GLib


def serve(service):
    """Listens on a free port of 127.0.0.1, prints 'listening on PORT' for the test, and
    runs until SIGTERM has stopped `service`."""
    service.listen('127.0.0.1', 0)
    print(f'listening on {service.get_port()}', flush=True)

    loop = GLib.MainLoop()
    service.connect('stopped', lambda service: loop.quit())
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGTERM, service.stop)
    loop.run()
