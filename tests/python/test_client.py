#!/usr/bin/python3
# test_client.py: Owlsock.SocketClient through introspection, against owlsock's own
# server in process and against a server owlsock did not write (Python `websockets`,
# permessage-deflate on and off), for framing, masking and deflate.
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import asyncio
import json
import subprocess
import sys
import threading
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree

import gi
gi.require_version('Json', '1.0')
gi.require_version('Owlsock', '1')
from gi.repository import GLib, Owlsock

import websockets

import owltest
from test_api import run_until


class ForeignServer:
    """A `websockets` echo server in a thread of its own; records what it saw."""

    def __init__(self, compression):
        self.compression = compression
        self.extensions = []
        self.received = []
        self._ready = threading.Event()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        assert self._ready.wait(owltest.TIMEOUT), 'the websockets server did not start'

    async def _echo(self, ws, path=None):
        self.extensions.append([type(e).__name__ for e in ws.extensions])
        async for message in ws:
            self.received.append(message)
            await ws.send(self.answer(message))

    @staticmethod
    def answer(message):
        """An echo, but a `call` of `add` is answered with the sum and any other with
        a `forbidden` error, as an owlsock server would."""
        frame = json.loads(message)
        if frame.get('type') != 'call':
            return message
        if frame['method'] == 'add':
            return json.dumps({'type': 'result', 'id': frame['id'], 'payload': sum(frame['payload'])})
        return json.dumps({'type': 'error', 'id': frame['id'], 'payload': 'ForbiddenError|||No',
                           'code': 'forbidden', 'recoverable': False})

    def _run(self):
        asyncio.set_event_loop(self._loop)
        serve = websockets.serve(self._echo, '127.0.0.1', 0, compression=self.compression,
                                 max_size=2 ** 22)
        self._server = self._loop.run_until_complete(serve)
        self.port = self._server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()

    def close(self):
        async def stop():
            self._server.close()
            await self._server.wait_closed()
        asyncio.run_coroutine_threadsafe(stop(), self._loop).result(owltest.TIMEOUT)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(owltest.TIMEOUT)


def watch(client):
    """Lists the states (notify order) and the messages a client sees, as Python values."""
    seen = {'states': [], 'messages': [], 'closed': []}
    client.connect('notify::state', lambda c, _: seen['states'].append(c.get_state().value_nick))
    client.connect_message(lambda c, message: seen['messages'].append(message))
    client.connect('closed', lambda c, code, reason: seen['closed'].append(code))
    return seen


class ForeignServerTests(unittest.TestCase):
    """Frames an implementation owlsock did not write accepts (it refuses unmasked client
    frames with 1002) and sends back, of each length encoding, deflated or not."""

    def echo_through(self, compression):
        server = ForeignServer(compression)
        self.addCleanup(server.close)
        client = Owlsock.SocketClient.new(f'ws://127.0.0.1:{server.port}/anything')
        client.props.ping_timeout = 0
        seen = watch(client)
        client.open()
        run_until(lambda: client.get_state() == Owlsock.SocketClientState.CONNECTED, 'connected')

        sent = [{'type': 'small', 'n': 1},
                {'type': 'medium', 'text': 'm' * 300},        # 16-bit length
                {'type': 'large', 'text': 'é' * 70000},       # 64-bit length, two-byte chars
                {'type': 'larger', 'items': list(range(40000))}]
        for message in sent:
            self.assertTrue(client.send(message))
        run_until(lambda: len(seen['messages']) == len(sent), 'the echoes')
        self.assertEqual(seen['messages'], sent)
        self.assertEqual([json.loads(m) for m in server.received], sent)

        client.close(Owlsock.CLOSE_NORMAL, 'done')
        run_until(lambda: client.get_state() == Owlsock.SocketClientState.CLOSED, 'closed')
        self.assertEqual(seen['closed'], [1000])
        self.assertEqual(seen['states'], ['connecting', 'connected', 'closed'])
        return server

    def test_echo_without_deflate(self):
        server = self.echo_through(None)
        self.assertEqual(server.extensions, [[]])

    def test_echo_with_deflate(self):
        server = self.echo_through('deflate')
        self.assertEqual(server.extensions, [['PerMessageDeflate']])

    def test_deflate_refused_by_the_client_setting(self):
        server = ForeignServer('deflate')
        self.addCleanup(server.close)
        client = Owlsock.SocketClient.new(f'ws://127.0.0.1:{server.port}/')
        client.props.deflate = False
        client.open()
        run_until(lambda: client.get_state() == Owlsock.SocketClientState.CONNECTED, 'connected')
        run_until(lambda: server.extensions, 'the server to see the connection')
        self.assertEqual(server.extensions, [[]])
        client.close(Owlsock.CLOSE_NORMAL, None)
        run_until(lambda: client.get_state() == Owlsock.SocketClientState.CLOSED, 'closed')


class CliTests(unittest.TestCase):
    """owlsock-client: stdin lines out, frames in, `call METHOD ARGS...`."""

    def test_session(self):
        server = ForeignServer(None)
        self.addCleanup(server.close)
        lines = '{"type":"hi"}\ncall add 2 40\ncall deny me\n'
        done = subprocess.run([str(owltest.BUILD_ROOT / 'tools' / 'owlsock-client'),
                               f'ws://127.0.0.1:{server.port}/ws', '--no-reconnect'],
                              input=lines, capture_output=True, text=True, timeout=owltest.TIMEOUT)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(done.stdout.splitlines(), ['< {"type":"hi"}', '= 42', '! forbidden: No'])
        self.assertIn('* connected', done.stderr)
        self.assertIn('* closed 1000 bye', done.stderr)
        self.assertEqual(json.loads(server.received[1])['payload'], [2, 40])
        self.assertEqual(json.loads(server.received[2])['payload'], ['me'])

    def test_refused_upgrade(self):
        done = subprocess.run([str(owltest.BUILD_ROOT / 'tools' / 'owlsock-client'), 'ws://127.0.0.1:1/ws',
                               '--no-reconnect'], input='', capture_output=True, text=True,
                              timeout=owltest.TIMEOUT)
        self.assertEqual(done.returncode, 1)
        self.assertIn('* error: ', done.stderr)
        self.assertIn('* closed', done.stderr)


class OwnServerTests(unittest.TestCase):
    """The client from Python against owlsock's server in this process."""

    def setUp(self):
        self.service = Owlsock.SocketService.new(None)
        module = Owlsock.Module.new('rpc', '/ws/rpc')
        module.connect('connection', self.on_connection)
        self.service.add_module(module)
        self.service.listen('127.0.0.1', 0)
        self.connections = []

    def tearDown(self):
        stopped = []
        self.service.connect('stopped', lambda s: stopped.append(True))
        self.service.stop()
        run_until(lambda: stopped, 'the service to stop')

    def on_connection(self, module, conn):
        self.connections.append(conn)
        conn.connect('call::add', lambda c, call: call.return_value(sum(call.get_params_value())) or True)
        conn.connect('call::deny',
                     lambda c, call: call.return_error_literal(Owlsock.Error.FORBIDDEN, 'No') or True)
        conn.connect_message(lambda c, message: c.send({'type': 'echo', 'got': message}))

    def connected_client(self):
        client = Owlsock.SocketClient.new(f'ws://127.0.0.1:{self.service.get_port()}/ws/rpc')
        seen = watch(client)
        client.open()
        run_until(lambda: client.get_state() == Owlsock.SocketClientState.CONNECTED, 'connected')
        self.addCleanup(client.close, Owlsock.CLOSE_NORMAL, None)
        return client, seen

    def call(self, client, method, params):
        results = []
        client.call_async(method, params, 0, None, lambda c, r: results.append(r))
        run_until(lambda: results, f'the answer to {method}')
        return Owlsock.to_python(client.call_finish(results[0]))

    def test_call_result_and_error(self):
        client, _ = self.connected_client()
        self.assertEqual(self.call(client, 'add', [1, 2, 39]), 42)
        with self.assertRaises(GLib.Error) as caught:
            self.call(client, 'deny', None)
        self.assertTrue(caught.exception.matches(Owlsock.error_quark(), Owlsock.Error.FORBIDDEN))
        self.assertFalse(Owlsock.error_code_is_recoverable(caught.exception.code))

    def test_typed_messages_and_events(self):
        client, seen = self.connected_client()
        echoes, events = [], []
        client.connect_message(lambda c, message: echoes.append(message), type='echo')
        client.connect_event(lambda c, name, payload: events.append((name, payload)), event='tick')
        client.send({'type': 'hello', 'n': 1})
        run_until(lambda: echoes, 'the echo')
        self.assertEqual(echoes, [{'type': 'echo', 'got': {'type': 'hello', 'n': 1}}])
        self.connections[0].notify_event('tick', {'at': 5})
        self.connections[0].notify_event('other', None)
        run_until(lambda: events, 'the event')
        self.assertEqual(events, [('tick', {'at': 5})])
        self.assertEqual(seen['states'], ['connecting', 'connected'])

    def test_server_call_answered_by_the_client(self):
        client, _ = self.connected_client()
        client.connect('call::confirm', lambda c, call: call.return_value({'by': 'python'}) or True)
        answers = []
        self.connections[0].call_async('confirm', None, 0, None, lambda c, r: answers.append(r))
        run_until(lambda: answers, 'the client to answer')
        self.assertEqual(Owlsock.to_python(self.connections[0].call_finish(answers[0])), {'by': 'python'})


if __name__ == '__main__':
    sys.exit(owltest.main())
