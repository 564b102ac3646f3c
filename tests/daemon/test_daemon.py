#!/usr/bin/python3
# test_daemon.py: owlsockd end to end: a private bus, the built daemon, libsoup
# WebSocket clients, handlers on the bus.
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import json
import os
import signal
import socket
import subprocess
import sys

from daemontest import (DaemonTestCase, GLib, OWLSOCKD, PYTHON, SOURCE_ROOT, TOKEN_TOOL, main,
                        run_for, wait_for)

BASIC = '''
[service]
listen=127.0.0.1:0

[module echo]
path=/ws/echo
behaviour=echo

[module chat]
path=/ws/chat/:room
behaviour=room
'''

BUS = BASIC + '''
[module app]
path=/ws/app/:thing
behaviour=bus

[module kept]
path=/ws/kept
behaviour=bus
on-handler-vanish=keep
call-timeout=2

[guard asker]
type=bus

[module guarded]
path=/ws/guarded
behaviour=bus
guards=asker
'''


class EchoAndRoom(DaemonTestCase):
    CONFIG = BASIC

    def test_echo(self):
        client = self.connect('/ws/echo')
        client.send({'type': 'hello', 'n': 1})
        self.assertEqual(client.wait_frames(1), {'type': 'hello', 'n': 1})

    def test_room_relays_stamped_messages_within_the_room(self):
        ann = self.connect('/ws/chat/lobby')
        bob = self.connect('/ws/chat/lobby')
        eve = self.connect('/ws/chat/kitchen')
        self.wait_connections(3)
        ann_id = self.ids(room='lobby')
        ann.send({'type': 'say', 'text': 'hi', 'from': 'forged'})
        got = bob.wait_frames(1)
        self.assertEqual(got['text'], 'hi')
        self.assertIsNone(got['from']['user'])
        self.assertIn(got['from']['connection'], ann_id)
        bob.send({'type': 'say', 'text': 'hello'})
        self.assertEqual(ann.wait_frames(1)['text'], 'hello')
        self.assertEqual(ann.frames[0]['from']['connection'], got['from']['connection'] and
                         ann.frames[0]['from']['connection'])
        run_for(200)
        self.assertEqual(eve.frames, [])
        self.assertEqual(len(ann.frames), 1)   # not its own message back
        self.assertEqual(len(bob.frames), 1)


class BusMethods(DaemonTestCase):
    CONFIG = BASIC

    def test_properties(self):
        self.assertEqual(self.prop('Version'), '0.1.0')
        port = self.prop('Port')
        self.assertGreater(port, 0)
        self.assertEqual(self.prop('Addresses'), [f'ws://127.0.0.1:{port}'])
        self.assertEqual(sorted(self.prop('Modules')), ['chat', 'echo'])
        self.assertEqual(self.prop('Connections'), 0)
        self.connect('/ws/echo')
        wait_for(lambda: self.prop('Connections') == 1, 'Connections = 1')

    def test_send_broadcast_join_leave_close(self):
        a = self.connect('/ws/chat/lobby')
        b = self.connect('/ws/chat/lobby')
        e = self.connect('/ws/echo')
        self.wait_connections(3)
        (echo_id,) = self.ids(module='echo')
        lobby = self.ids(room='lobby')
        self.assertEqual(len(lobby), 2)
        self.assertEqual(sorted(self.call('RoomMembers', 's', ('lobby',))[0]), sorted(lobby))
        self.assertIn('lobby', self.call('ListRooms')[0])

        self.call('Send', 'ssa{sv}', (echo_id, '{"type":"hi"}', {}))
        self.assertEqual(e.wait_frames(1), {'type': 'hi'})

        self.call('Broadcast', 'ssa{sv}', ('lobby', '{"type":"news"}', {'exclude': GLib.Variant('s', lobby[0])}))
        self.call('Broadcast', 'ssa{sv}', ('nobody-here', '{"type":"news"}', {}))
        wait_for(lambda: len(a.frames) + len(b.frames) == 1, 'one broadcast delivery')
        run_for(100)
        self.assertEqual(len(a.frames) + len(b.frames), 1)   # the excluded one got nothing

        self.call('Join', 'ss', (echo_id, 'lobby'))
        self.assertIn(echo_id, self.ids(room='lobby'))
        self.call('Broadcast', 'ssa{sv}', ('lobby', '{"type":"all"}', {}))
        self.assertEqual(e.wait_frames(2), {'type': 'all'})
        self.call('Leave', 'ss', (echo_id, 'lobby'))
        self.assertNotIn(echo_id, self.ids(room='lobby'))

        info = self.call('DescribeConnection', 's', (echo_id,))[0]
        self.assertEqual(info['module'], 'echo')
        self.assertEqual(info['path'], '/ws/echo')
        self.assertEqual(info['state'], 'open')
        self.assertEqual(info['peer'], '127.0.0.1')

        stats = self.call('GetStatistics')[0]
        self.assertEqual(stats['connections-open'], 3)

        self.call('Close', 'sqs', (echo_id, 4000, 'bye'))
        self.assertEqual(e.wait_closed(), 4000)

    def test_bad_input_is_refused_and_clients_are_still_served(self):
        client = self.connect('/ws/echo')
        self.wait_connections(1)
        (cid,) = self.ids()
        E = 'org.owlmeans.Owlsock1.Error.'
        cases = [
            ('Send', 'ssa{sv}', (cid, '{not json', {}), E + 'InvalidJson'),
            ('Send', 'ssa{sv}', (cid, '[1,2]', {}), E + 'InvalidJson'),
            ('Send', 'ssa{sv}', ('nope', '{}', {}), E + 'UnknownConnection'),
            ('Send', 'ssa{sv}', (cid, '{}', {'bogus': GLib.Variant('s', 'x')}),
             'org.freedesktop.DBus.Error.InvalidArgs'),
            ('Send', 'ssa{sv}', (cid, '{"a":"' + 'x' * (1 << 20) + '"}', {}), E + 'TooLarge'),
            ('Broadcast', 'ssa{sv}', ('r', 'null', {}), E + 'InvalidJson'),
            ('Broadcast', 'ssa{sv}', ('r', '{}', {'exclude': GLib.Variant('s', 'nope')}),
             E + 'UnknownConnection'),
            ('Broadcast', 'ssa{sv}', ('r', '{}', {'exclude': GLib.Variant('i', 1)}),
             'org.freedesktop.DBus.Error.InvalidArgs'),
            ('Close', 'sqs', (cid, 1001, ''), E + 'InvalidCloseCode'),
            ('Close', 'sqs', (cid, 5000, ''), E + 'InvalidCloseCode'),
            ('Close', 'sqs', (cid, 4000, 'x' * 124), 'org.freedesktop.DBus.Error.InvalidArgs'),
            ('Close', 'sqs', ('nope', 1000, ''), E + 'UnknownConnection'),
            ('Join', 'ss', ('nope', 'r'), E + 'UnknownConnection'),
            ('Join', 'ss', (cid, ''), 'org.freedesktop.DBus.Error.InvalidArgs'),
            ('Leave', 'ss', ('nope', 'r'), E + 'UnknownConnection'),
            ('DescribeConnection', 's', ('nope',), E + 'UnknownConnection'),
            ('RoomMembers', 's', ('no-such-room',), E + 'UnknownRoom'),
            ('ListConnections', 'a{sv}', ({'colour': GLib.Variant('s', 'red')},),
             'org.freedesktop.DBus.Error.InvalidArgs'),
            ('RegisterHandler', 'soa{sv}', ('nope', '/h', {}), E + 'UnknownModule'),
            ('RegisterHandler', 'soa{sv}', ('echo', '/h', {}), E + 'UnknownModule'),
            ('UnregisterHandler', 's', ('echo',), E + 'NotHandler'),
        ]
        for method, sig, args, expected in cases:
            with self.subTest(method=method, args=str(args)[:60]):
                name, message = self.call_error(method, sig, args)
                self.assertEqual(name, expected, message)
        # Invalid UTF-8 cannot even be sent as a D-Bus string: the bus refuses it.
        client.send({'type': 'still-there'})
        self.assertEqual(client.wait_frames(1), {'type': 'still-there'})
        self.assertEqual(self.ids(), [cid])

    def test_signals(self):
        client = self.connect('/ws/chat/lobby')
        wait_for(lambda: any(s[0] == 'ConnectionOpened' for s in self.signals), 'ConnectionOpened')
        opened = [s for s in self.signals if s[0] == 'ConnectionOpened'][0]
        self.assertEqual(opened[2], 'chat')
        self.assertEqual(opened[3]['params'], {'room': 'lobby'})
        client.ws.close(4321, 'done')
        wait_for(lambda: any(s[0] == 'ConnectionClosed' for s in self.signals), 'ConnectionClosed')
        closed = [s for s in self.signals if s[0] == 'ConnectionClosed'][0]
        self.assertEqual(closed[1:], (opened[1], 'chat', 4321, 'done'))


if __name__ == '__main__':
    sys.exit(main())
