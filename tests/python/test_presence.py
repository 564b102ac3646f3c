#!/usr/bin/python3
# test_presence.py: presence from Python, in process: OwlModule:presence,
# Connection.set_presence_info() with a dict, SocketService.presence_async() and
# presence_finish() answering a list of dicts; the entry of a client that closes goes
#
#   /usr/bin/python3 tests/python/test_presence.py      (prints TAP)
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import sys
import unittest
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parent))

import gi
gi.require_version('Json', '1.0')
gi.require_version('Owlsock', '1')
from gi.repository import GLib, Owlsock

import owltest
from test_api import run_until


class PresenceTests(unittest.TestCase):

    def setUp(self):
        self.service = Owlsock.SocketService.new(None)
        module = Owlsock.Module.new('p', '/ws/p/:room')
        module.props.presence = True
        self.assertTrue(module.props.presence)
        self.assertEqual(module.props.history_size, 0)
        self.assertEqual(module.props.history_ttl, 300)
        module.connect('connection', self.on_connection)
        self.service.add_module(module)
        self.service.listen('127.0.0.1', 0)
        self.clients = []

    def tearDown(self):
        for client in self.clients:
            client.close(Owlsock.CLOSE_NORMAL, None)
        self.service.stop()

    def on_connection(self, module, conn):
        request = conn.get_request()
        name = request.get_query_param('name')
        if name:
            conn.set_presence_info({'name': name})
        conn.join(request.get_param('room'))

    def connect(self, query):
        client = Owlsock.SocketClient.new(f'ws://127.0.0.1:{self.service.get_port()}/ws/p/lobby{query}')
        client.props.reconnect = False
        client.open()
        run_until(lambda: client.get_state().value_nick == 'connected', 'the handshake')
        self.clients.append(client)
        return client

    def members(self):
        return len(self.service.list_room_members('lobby'))

    def presence(self, room='lobby'):
        results = []
        self.service.presence_async(room, None, lambda service, result: results.append(result))
        run_until(lambda: results, 'the presence answer')
        return self.service.presence_finish(results[0])

    def test_presence_is_a_list_of_dicts(self):
        self.connect('?name=ann')
        leaving = self.connect('')
        run_until(lambda: self.members() == 2, 'two members')
        entries = sorted(self.presence(), key=lambda entry: entry.get('info', {}).get('name', ''))
        self.assertIsInstance(entries, list)
        self.assertEqual(len(entries), 2)
        ids = {conn.get_id() for conn in self.service.list_room_members('lobby')}
        self.assertEqual({entry['id'] for entry in entries}, ids)
        self.assertEqual([entry['user'] for entry in entries], [None, None])
        self.assertNotIn('info', entries[0], 'no info was set')
        self.assertEqual(entries[1]['info'], {'name': 'ann'})
        self.assertTrue(all(isinstance(entry['node'], str) and entry['node'] for entry in entries))

        # A client that closes leaves presence.
        leaving.close(Owlsock.CLOSE_NORMAL, None)
        self.clients.remove(leaving)
        run_until(lambda: self.members() == 1, 'one member')
        entries = self.presence()
        self.assertEqual([entry['info'] for entry in entries], [{'name': 'ann'}])
        self.assertEqual(self.presence('nowhere'), [])


if __name__ == '__main__':
    sys.exit(owltest.main())
