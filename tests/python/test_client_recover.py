#!/usr/bin/python3
# test_client_recover.py: Owlsock.SocketClient keeps the history positions of rooms and
# asks to recover them, from Python, against a Python `websockets` server that speaks
# the wire of rooms with history by hand (broadcasts led by `pos`, `system` `joined`
# frames) and records the path of each upgrade request.
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import asyncio
import json
import sys
import threading
import unittest
import urllib.parse

sys.dont_write_bytecode = True  # no __pycache__ in the source tree

import gi
gi.require_version('Json', '1.0')
gi.require_version('Owlsock', '1')
from gi.repository import GLib, Owlsock

import websockets

import owltest
from test_api import run_until


def wake_main_context():
    """What this server's thread does is no event of the main context: run_until()
    looks again when woken."""
    GLib.MainContext.default().wakeup()


class HistoryServer:
    """A `websockets` server in a thread of its own: records each request path, sends
    what the test gives it to the latest connection, and drops it on demand."""

    def __init__(self):
        self.paths = []
        self._ws = None
        self._ready = threading.Event()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        assert self._ready.wait(owltest.TIMEOUT), 'the websockets server did not start'

    async def _handle(self, ws, path):
        self._ws = ws
        self.paths.append(path)
        wake_main_context()
        try:
            async for _ in ws:
                pass
        except websockets.ConnectionClosed:
            pass  # drop(): the close code is not 1000

    def _run(self):
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(websockets.serve(self._handle, '127.0.0.1', 0))
        self.port = self._server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()

    def _do(self, coroutine):
        # The client answers on this thread's main context: keep it turning.
        future = asyncio.run_coroutine_threadsafe(coroutine, self._loop)
        future.add_done_callback(lambda _: wake_main_context())
        run_until(future.done, 'the websockets server')
        future.result()

    def send(self, *frames):
        async def send():
            for frame in frames:
                await self._ws.send(frame if isinstance(frame, str) else json.dumps(frame))
        self._do(send())

    def drop(self):
        """Closes the latest connection with 1012 (service restart: the client comes back)."""
        self._do(self._ws.close(1012, 'restart'))

    def recover(self, index):
        """The decoded `recover` parameter of request `index`, as Python values, or None."""
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.paths[index]).query)
        return json.loads(query['recover'][0]) if 'recover' in query else None

    def close(self):
        async def stop():
            self._server.close()
            await self._server.wait_closed()
        self._do(stop())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(owltest.TIMEOUT)


def pos(room, offset, epoch, **rest):
    """A broadcast of a room with history: `pos` first, as the server splices it."""
    return json.dumps({'pos': {'room': room, 'offset': offset, 'epoch': epoch}, **rest})


def joined(room, epoch, offset, **rest):
    return {'type': 'system', 'event': 'joined', 'payload': {'room': room, 'epoch': epoch, 'offset': offset, **rest}}


class RecoverTests(unittest.TestCase):

    def setUp(self):
        self.server = HistoryServer()
        self.addCleanup(self.server.close)
        self.client = Owlsock.SocketClient.new(f'ws://127.0.0.1:{self.server.port}/ws/news?lang=en')
        self.client.props.ping_timeout = 0
        self.client.props.reconnect_min_delay = 10
        self.client.props.reconnect_max_delay = 40
        self.messages = []
        self.recovered = []
        self.client.connect_message(lambda c, message: self.messages.append(message))
        self.client.connect('recovered', lambda c, room, ok, missed: self.recovered.append((room, ok, missed)))
        self.addCleanup(self.close_client)

    def close_client(self):
        self.client.close(Owlsock.CLOSE_NORMAL, None)
        run_until(lambda: self.client.get_state() == Owlsock.SocketClientState.CLOSED, 'the client to close')

    def connected(self, n_requests):
        run_until(lambda: len(self.server.paths) == n_requests and
                  self.client.get_state() == Owlsock.SocketClientState.CONNECTED, f'connection {n_requests}')

    def receive(self, *frames):
        before = len(self.messages)
        self.server.send(*frames)
        run_until(lambda: len(self.messages) == before + len(frames), 'the frames')

    def positions(self):
        return Owlsock.to_python(self.client.dup_positions())

    def test_positions_go_back_on_reconnect_and_recovered_is_told(self):
        self.assertTrue(self.client.props.recover)
        self.client.open()
        self.connected(1)
        self.assertIsNone(self.server.recover(0))
        self.receive(pos('news', 4, 'ep1', type='story', n=1),
                     pos('news', 3, 'ep1', type='story', n=0),    # older: ignored
                     joined('sport', 'ep2', 10),
                     pos('météo & co', 1, 'ep3', type='story'))
        self.assertEqual(self.messages[0], {'pos': {'room': 'news', 'offset': 4, 'epoch': 'ep1'},
                                            'type': 'story', 'n': 1})
        want = {'news': {'offset': 4, 'epoch': 'ep1'}, 'sport': {'offset': 10, 'epoch': 'ep2'},
                'météo & co': {'offset': 1, 'epoch': 'ep3'}}
        self.assertEqual(self.positions(), want)

        self.server.drop()
        self.connected(2)
        self.assertEqual(self.server.recover(1), want)
        self.assertTrue(self.server.paths[1].startswith('/ws/news?lang=en&recover='))

        self.receive(pos('news', 5, 'ep1', type='story', n=2),
                     joined('news', 'ep1', 5, recovered=True, missed=1),
                     joined('sport', 'ep9', 2, recovered=False, missed=0))
        self.assertEqual(self.recovered, [('news', True, 1), ('sport', False, 0)])
        self.assertEqual(self.positions()['sport'], {'offset': 2, 'epoch': 'ep9'})

    def test_seeded_positions_and_recover_off(self):
        self.client.set_position('news', 'ep1', 41)
        self.client.open()
        self.connected(1)
        self.assertEqual(self.server.recover(0), {'news': {'offset': 41, 'epoch': 'ep1'}})

        self.client.props.recover = False
        self.receive(pos('news', 42, 'ep1', type='story'))
        self.server.drop()
        self.connected(2)
        self.assertIsNone(self.server.recover(1))
        self.assertEqual(self.positions(), {'news': {'offset': 42, 'epoch': 'ep1'}})

    def test_malformed_positions_are_ignored(self):
        self.client.open()
        self.connected(1)
        bad = ['{"pos":{"room":"r","offset":"1","epoch":"e"}}',
               '{"pos":{"room":"r","offset":2.5,"epoch":"e"}}',
               '{"pos":{"room":"r","offset":18014398509481984,"epoch":"e"}}',
               '{"pos":{"room":["r"],"offset":1,"epoch":"e"}}',
               '{"pos":{"room":"r","offset":1}}',
               json.dumps(joined('r', 'e', -1, recovered=True, missed=1))]
        self.receive(*bad)
        self.assertEqual(self.positions(), {})
        # A position without a usable `recovered`: kept, but no signal.
        self.receive(json.dumps(joined('r', 'e', 1, recovered='yes')))
        self.assertEqual(self.positions(), {'r': {'offset': 1, 'epoch': 'e'}})
        self.assertEqual(self.recovered, [])
        self.assertEqual(self.client.get_state(), Owlsock.SocketClientState.CONNECTED)


if __name__ == '__main__':
    sys.exit(owltest.main())
