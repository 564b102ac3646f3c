# daemontest.py: what the owlsockd tests share: a private bus (GTestDBus), the
# daemon as a subprocess, libsoup WebSocket clients and a handler on the bus,
# all on one GLib main loop. Every wait has a watchdog; nothing sleeps to
# synchronise.
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import unittest
from pathlib import Path

import gi
gi.require_version('Soup', '3.0')
from gi.repository import Gio, GLib, Soup

SOURCE_ROOT = Path(os.environ.get('OWLSOCK_SOURCE_ROOT', Path(__file__).resolve().parents[2]))
BUILD_ROOT = Path(os.environ.get('OWLSOCK_BUILD_ROOT', SOURCE_ROOT / 'build'))
OWLSOCKD = str(BUILD_ROOT / 'daemon' / 'owlsockd')
TOKEN_TOOL = str(BUILD_ROOT / 'tools' / 'owlsock-token')
PYTHON = '/usr/bin/python3'
NAME = 'org.owlmeans.Owlsock1'
PATH = '/org/owlmeans/Owlsock1'
IFACE = 'org.owlmeans.Owlsock1'
HANDLER_IFACE = 'org.owlmeans.Owlsock1.Handler'
TIMEOUT = 10.0

sys.path.insert(0, str(SOURCE_ROOT / 'tests' / 'python'))
import owltest  # noqa: E402  (TAP output)

_NODE = Gio.DBusNodeInfo.new_for_xml((SOURCE_ROOT / 'data' / 'org.owlmeans.Owlsock1.xml').read_text())
HANDLER_INFO = _NODE.lookup_interface(HANDLER_IFACE)


def wait_for(cond, what='condition', timeout=TIMEOUT):
    """Runs the default main context until cond() holds; fails after timeout."""
    context = GLib.MainContext.default()
    deadline = time.monotonic() + timeout
    tick = GLib.timeout_add(20, lambda: True)
    try:
        while not cond():
            if time.monotonic() > deadline:
                raise AssertionError(f'timed out waiting for {what}')
            context.iteration(True)
    finally:
        GLib.source_remove(tick)


def run_for(ms):
    """Runs the main loop for a while: only to show that something does NOT happen."""
    done = []
    GLib.timeout_add(ms, lambda: done.append(1) and False)
    wait_for(lambda: done, 'run_for', timeout=ms / 1000 + 5)


def remote_error(error):
    return Gio.DBusError.get_remote_error(error)


class Client:
    """A libsoup WebSocket client; texts holds every JSON frame received."""

    def __init__(self, session, url, headers=None, accept_certificate=None):
        self.msg = Soup.Message.new('GET', url)
        if accept_certificate is not None:
            self.msg.connect('accept-certificate', accept_certificate)
        for key, value in (headers or {}).items():
            self.msg.get_request_headers().append(key, value)
        self.ws = None
        self.error = None
        self.frames = []
        self.close_code = None
        session.websocket_connect_async(self.msg, None, None, GLib.PRIORITY_DEFAULT, None,
                                        self._connected, None)

    def _connected(self, session, result, _data):
        try:
            self.ws = session.websocket_connect_finish(result)
        except GLib.Error as error:
            self.error = error
            return
        self.ws.connect('message', self._message)
        self.ws.connect('closed', self._closed)

    def _message(self, ws, kind, data):
        self.frames.append(json.loads(data.get_data().decode()))

    def _closed(self, ws):
        self.close_code = ws.get_close_code()

    def wait_open(self):
        wait_for(lambda: self.ws or self.error, 'the WebSocket handshake')
        if self.error:
            raise AssertionError(f'handshake failed ({self.msg.get_status()}): {self.error.message}')
        return self

    def wait_refused(self):
        wait_for(lambda: self.ws or self.error, 'the WebSocket handshake')
        assert self.ws is None, 'the handshake should have been refused'
        return self.msg.get_status()

    def send(self, obj):
        self.ws.send_text(json.dumps(obj))

    def wait_frames(self, n):
        wait_for(lambda: len(self.frames) >= n, f'{n} frames (have {self.frames})')
        return self.frames[n - 1]

    def wait_closed(self):
        wait_for(lambda: self.close_code is not None, 'the close')
        return self.close_code

    def close(self):
        if self.ws is not None and self.ws.get_state() == Soup.WebsocketState.OPEN:
            self.ws.close(1000, None)
            self.wait_closed()


class Handler:
    """A module's handler on a connection of its own (closing it is the
    handler leaving the bus). Calls: 'sum' answers now, 'slow' after
    300 ms, 'deny' fails with a named error, 'oops' with another error."""

    def __init__(self, address, module, path='/handler', accept_token='good'):
        self.conn = Gio.DBusConnection.new_for_address_sync(
            address, Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT |
            Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION, None, None)
        self.events = []
        self.accept_token = accept_token
        self.auth_requests = []
        self.hung = []
        self.reg = self.conn.register_object(path, HANDLER_INFO, self._call, None, None)
        self.module = module
        self.path = path

    def register(self, **options):
        self.conn.call_sync(NAME, PATH, IFACE, 'RegisterHandler',
                            GLib.Variant('(soa{sv})', (self.module, self.path,
                                                       {k: GLib.Variant('b', v) for k, v in options.items()})),
                            None, Gio.DBusCallFlags.NONE, 5000, None)
        return self

    def leave(self):
        self.conn.unregister_object(self.reg)
        self.conn.close_sync(None)

    def _call(self, conn, sender, path, iface, method, params, invocation):
        args = params.unpack()
        if method == 'Call':
            self._answer_call(invocation, *args)
            return
        if method == 'Authenticate':
            request = args[0]
            self.auth_requests.append(request)
            if request.get('query', {}).get('token') == self.accept_token:
                auth = {'user': GLib.Variant('s', 'hana'), 'scopes': GLib.Variant('as', ['chat'])}
                invocation.return_value(GLib.Variant('(ba{sv})', (True, auth)))
            else:
                invocation.return_value(GLib.Variant('(ba{sv})', (False, {})))
            return
        self.events.append((method,) + tuple(args))
        invocation.return_value(None)

    def _answer_call(self, invocation, conn_id, method, params):
        self.events.append(('Call', conn_id, method, params))
        reply = GLib.Variant('(s)', (json.dumps({'method': method, 'params': json.loads(params)}),))
        if method == 'sum':
            invocation.return_value(GLib.Variant('(s)', (json.dumps(sum(json.loads(params))),)))
        elif method == 'slow':
            GLib.timeout_add(300, lambda: invocation.return_value(reply) or False)
        elif method == 'deny':
            invocation.return_dbus_error('org.owlmeans.Owlsock1.Error.Forbidden', 'Not for you')
        elif method == 'hang':
            self.hung.append(invocation)     # never answered (kept alive till the end)
        elif method == 'oops':
            invocation.return_dbus_error('com.example.Oops', 'a detail the client must not see')
        else:
            invocation.return_value(reply)

    def wait_event(self, method, n=1):
        wait_for(lambda: len([e for e in self.events if e[0] == method]) >= n,
                 f'{n} {method} (have {self.events})')
        return [e for e in self.events if e[0] == method][n - 1]


class DaemonTestCase(unittest.TestCase):
    """A private bus and an owlsockd on it per test."""

    CONFIG = ''

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = Path(self.tmp.name)
        self.bus = Gio.TestDBus.new(Gio.TestDBusFlags.NONE)
        self.prepare_bus()
        self.bus.up()
        self.address = self.bus.get_bus_address()
        self.conn = Gio.DBusConnection.new_for_address_sync(
            self.address, Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT |
            Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION, None, None)
        self.session = Soup.Session.new()
        self.clients = []
        self.handlers = []
        self.proc = None
        self.signals = []
        self.sub = self.conn.signal_subscribe(NAME, IFACE, None, PATH, None, Gio.DBusSignalFlags.NONE,
                                              self._signal, None)
        if self.CONFIG:
            self.start()

    def _outcome_failed(self):
        outcome = getattr(self, '_outcome', None)
        result = getattr(outcome, 'result', None)
        return bool(result and (result.failures or result.errors))

    def prepare_bus(self):
        """Before the bus starts: add service dirs here."""

    def _signal(self, conn, sender, path, iface, name, params, _data):
        self.signals.append((name,) + tuple(params.unpack()))

    def tearDown(self):
        for client in self.clients:
            if client.ws is not None and client.ws.get_state() == Soup.WebsocketState.OPEN:
                client.ws.close(1000, None)
        for handler in self.handlers:
            if not handler.conn.is_closed():
                handler.conn.close_sync(None)
        if self.proc is not None and self.proc.poll() is None:
            # Stopped as a service manager would: a crash or (under ASan) a
            # leak at exit fails the test.
            self.proc.send_signal(signal.SIGTERM)
            try:
                code = self.proc.wait(timeout=TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                code = 'no exit after SIGTERM'
            if not self._outcome_failed():
                self.assertEqual(code, 0, 'owlsockd did not stop cleanly')
        self.conn.signal_unsubscribe(self.sub)
        self.conn.close_sync(None)
        self.bus.down()
        self.tmp.cleanup()

    # The daemon

    def write(self, name, text):
        path = self.dir / name
        path.write_text(text)
        return str(path)

    def write_config(self, text):
        return self.write('owlsockd.conf', text)

    def start(self, config=None, argv_prefix=(), pass_fds=(), env=None, wait=True):
        config = config or self.write_config(self.CONFIG)
        self.proc = subprocess.Popen(list(argv_prefix) + [OWLSOCKD, '--address', self.address,
                                                          '--config', config],
                                     pass_fds=pass_fds, env=env)
        if wait:
            self.wait_name()
        return self.proc

    def wait_name(self):
        def owned():
            if self.proc.poll() is not None:
                raise AssertionError(f'owlsockd exited with {self.proc.returncode}')
            reply = self.conn.call_sync('org.freedesktop.DBus', '/org/freedesktop/DBus',
                                        'org.freedesktop.DBus', 'NameHasOwner',
                                        GLib.Variant('(s)', (NAME,)), None,
                                        Gio.DBusCallFlags.NONE, 5000, None)
            return reply.unpack()[0]
        wait_for(owned, 'owlsockd on the bus')

    def wait_exit(self, timeout=TIMEOUT):
        wait_for(lambda: self.proc.poll() is not None, 'owlsockd to exit', timeout)
        return self.proc.returncode

    def call(self, method, signature=None, args=(), reply=None):
        params = GLib.Variant(f'({signature})', tuple(args)) if signature else None
        result = self.conn.call_sync(NAME, PATH, IFACE, method, params,
                                     GLib.VariantType.new(reply) if reply else None,
                                     Gio.DBusCallFlags.NONE, 5000, None)
        return result.unpack() if result is not None else ()

    def call_error(self, method, signature=None, args=()):
        with self.assertRaises(GLib.Error) as caught:
            self.call(method, signature, args)
        return remote_error(caught.exception), caught.exception.message

    def prop(self, name):
        return self.call_props('Get', '(ss)', (IFACE, name))[0]

    def call_props(self, method, signature, args):
        reply = self.conn.call_sync(NAME, PATH, 'org.freedesktop.DBus.Properties', method,
                                    GLib.Variant(signature, args), None,
                                    Gio.DBusCallFlags.NONE, 5000, None)
        return reply.unpack()

    # Clients

    def url(self, path):
        return f'ws://127.0.0.1:{self.prop("Port")}{path}'

    def connect(self, path, headers=None):
        client = Client(self.session, self.url(path), headers)
        self.clients.append(client)
        return client.wait_open()

    def connect_refused(self, path, headers=None):
        client = Client(self.session, self.url(path), headers)
        self.clients.append(client)
        return client.wait_refused()

    def handler(self, module, **kwargs):
        handler = Handler(self.address, module, **kwargs)
        self.handlers.append(handler)
        return handler

    def ids(self, **filters):
        return self.call('ListConnections', 'a{sv}',
                         ({k: GLib.Variant('s', v) for k, v in filters.items()},))[0]

    def wait_connections(self, n):
        wait_for(lambda: len(self.ids()) == n, f'{n} connections')


def main():
    return owltest.main('__main__')
