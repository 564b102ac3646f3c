#!/usr/bin/python3
# test_daemon.py: owlsockd end to end: a private bus, the built daemon, libsoup
# WebSocket clients, handlers on the bus.
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import json
import os
import select
import signal
import socket
import subprocess
import sys

from daemontest import (Client, DaemonTestCase, GLib, Soup, OWLSOCKD, PYTHON, SOURCE_ROOT, TOKEN_TOOL, main,
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
call-timeout=1

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
        # From bob: another connection than the one bob heard from.
        self.assertNotEqual(ann.frames[0]['from']['connection'], got['from']['connection'])
        # A marker to each, sent after both messages: a frame the relay sent wrongly
        # (to the other room, or back to its sender) would arrive before it.
        marker = {'type': 'marker'}
        for member in self.ids(room='lobby') + self.ids(room='kitchen'):
            self.call('Send', 'ssa{sv}', (member, json.dumps(marker), {}))
        for client in (ann, bob, eve):
            wait_for(lambda c=client: marker in c.frames, 'the marker')
        self.assertEqual(eve.frames, [marker])
        self.assertEqual(len(ann.frames), 2)   # not its own message back
        self.assertEqual(len(bob.frames), 2)


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
        # A marker to both, sent after the broadcasts: a delivery to the excluded one
        # would arrive before it.
        for member in lobby:
            self.call('Send', 'ssa{sv}', (member, '{"type":"marker"}', {}))
        wait_for(lambda: {'type': 'marker'} in a.frames and {'type': 'marker'} in b.frames, 'the markers')
        self.assertEqual(len(a.frames) + len(b.frames), 3)   # the excluded one got nothing

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


class Handlers(DaemonTestCase):
    CONFIG = BUS

    def test_handler_sees_opened_message_closed_and_answers_calls(self):
        handler = self.handler('app').register()
        client = self.connect('/ws/app/box?x=1')
        opened = handler.wait_event('Opened')
        cid = opened[1]
        self.assertEqual(opened[2]['module'], 'app')
        self.assertEqual(opened[2]['params'], {'thing': 'box'})
        self.assertEqual(opened[2]['query'], {'x': '1'})
        client.send({'type': 'note', 'n': 1})
        client.send({'type': 'note', 'n': 2})
        handler.wait_event('Message', 2)
        self.assertEqual([json.loads(e[2])['n'] for e in handler.events if e[0] == 'Message'], [1, 2])

        client.send({'type': 'call', 'id': 'f', 'method': 'sum', 'payload': [1, 2, 3]})
        client.send({'type': 'call', 'id': 's', 'method': 'slow', 'payload': []})
        client.send({'type': 'call', 'id': 'd', 'method': 'deny', 'payload': []})
        client.send({'type': 'call', 'id': 'o', 'method': 'oops', 'payload': []})
        client.send({'type': 'request', 'id': 'r', 'payload': {'q': 1}})
        client.wait_frames(5)
        by_id = {f.get('id'): f for f in client.frames}
        self.assertEqual(by_id['f'], {'type': 'result', 'id': 'f', 'payload': 6})
        self.assertEqual(by_id['s']['type'], 'result')
        self.assertEqual(by_id['s']['payload']['method'], 'slow')
        self.assertEqual(by_id['d']['type'], 'error')
        self.assertEqual(by_id['d']['code'], 'forbidden')
        self.assertIn('Not for you', by_id['d']['payload'])
        self.assertEqual(by_id['o']['code'], 'internal')
        self.assertNotIn('detail', json.dumps(by_id['o']))
        self.assertEqual(by_id['r']['type'], 'response')
        # the slow answer came after the fast ones
        self.assertGreater(client.frames.index(by_id['s']), client.frames.index(by_id['f']))

        client.ws.close(4100, 'later')
        closed = handler.wait_event('Closed')
        self.assertEqual(closed[1:], (cid, 4100, 'later'))

    def test_batch_handler_gets_messages_in_order_and_sends_many(self):
        handler = self.handler('app').register(batch=True)
        one = self.connect('/ws/app/one')
        two = self.connect('/ws/app/two')
        handler.wait_event('Opened', 2)
        for n in range(50):
            one.send({'type': 'note', 'n': n})
            two.send({'type': 'note', 'n': n})
        batches = lambda: [e[1] for e in handler.events if e[0] == 'Messages']
        wait_for(lambda: sum(len(b) for b in batches()) == 100, 'the 100 messages')
        self.assertFalse([e for e in handler.events if e[0] == 'Message'])
        self.assertTrue(all(0 < len(b) <= 256 for b in batches()))
        by_connection = {}
        for conn_id, text in (m for b in batches() for m in b):
            by_connection.setdefault(conn_id, []).append(json.loads(text)['n'])
        self.assertEqual(sorted(by_connection.values()), [list(range(50))] * 2)

        # Opened before a connection's first message, Closed after its last.
        one.send({'type': 'note', 'n': 'last'})
        one.ws.close(1000, None)
        handler.wait_event('Closed')
        kinds = [e[0] for e in handler.events]
        self.assertEqual(kinds[:2], ['Opened', 'Opened'])
        self.assertEqual(kinds[-1], 'Closed')
        self.assertEqual(json.loads(batches()[-1][-1][1])['n'], 'last')

        # SendMany: every JSON checked first; a closed connection skipped.
        (two_id,) = self.ids(module='app')
        error, message = self.call_error('SendMany', 'a(ss)a{sv}',
                                         ([(two_id, '{"n":1}'), (two_id, '[1]')], {}))
        self.assertEqual(error, 'org.owlmeans.Owlsock1.Error.InvalidJson')
        self.assertIn('Message 1: ', message)
        (sent,) = self.call('SendMany', 'a(ss)a{sv}',
                            ([(two_id, '{"n":2}'), ('gone', '{"n":3}'), (two_id, '{"n":4}')], {}))
        self.assertEqual(sent, 2)
        self.assertEqual(two.wait_frames(2), {'n': 4})
        self.assertEqual(two.frames, [{'n': 2}, {'n': 4}])   # nothing of the refused call
        self.assertEqual(self.call_error('RegisterHandler', 'soa{sv}',
                                         ('app', '/x', {'batch': GLib.Variant('s', 'yes')}))[0],
                         'org.freedesktop.DBus.Error.InvalidArgs')

    def test_second_handler_and_unregister(self):
        first = self.handler('app').register()
        second = self.handler('app')
        with self.assertRaises(GLib.Error) as caught:
            second.register()
        self.assertEqual(Gio_remote(caught.exception), 'org.owlmeans.Owlsock1.Error.HandlerExists')
        with self.assertRaises(GLib.Error) as caught:
            second.conn.call_sync('org.owlmeans.Owlsock1', '/org/owlmeans/Owlsock1', 'org.owlmeans.Owlsock1',
                                  'UnregisterHandler', GLib.Variant('(s)', ('app',)), None, 0, 5000, None)
        self.assertEqual(Gio_remote(caught.exception), 'org.owlmeans.Owlsock1.Error.NotHandler')
        first.conn.call_sync('org.owlmeans.Owlsock1', '/org/owlmeans/Owlsock1', 'org.owlmeans.Owlsock1',
                             'UnregisterHandler', GLib.Variant('(s)', ('app',)), None, 0, 5000, None)
        second.register()

    def test_no_handler_answers_unavailable(self):
        client = self.connect('/ws/kept')
        client.send({'type': 'note'})
        client.send({'type': 'call', 'id': '1', 'method': 'sum', 'payload': [1]})
        client.wait_frames(2)
        self.assertEqual([f['code'] for f in client.frames], ['unavailable', 'unavailable'])

    def test_vanish_close(self):
        handler = self.handler('app').register()
        client = self.connect('/ws/app/box')
        handler.wait_event('Opened')
        handler.leave()
        self.assertEqual(client.wait_closed(), 1001)

    def test_vanish_keep_until_a_handler_returns(self):
        handler = self.handler('kept').register()
        client = self.connect('/ws/kept')
        handler.wait_event('Opened')
        handler.leave()
        # The daemon learns of the departure from the bus; messages then get `unavailable`.
        def unavailable():
            if not client.frames:
                client.send({'type': 'note'})
                run_for(50)
            return any(f.get('code') == 'unavailable' for f in client.frames)
        wait_for(unavailable, 'an unavailable error')
        self.assertIsNone(client.close_code)
        again = self.handler('kept', path='/again').register()
        self.assertEqual(again.wait_event('Opened')[1], handler.wait_event('Opened')[1])  # told of it
        client.send({'type': 'note', 'n': 'back'})
        message = again.wait_event('Message')
        self.assertEqual(json.loads(message[2])['n'], 'back')

    def test_a_call_the_handler_never_answers_times_out(self):
        handler = self.handler('kept').register()
        client = self.connect('/ws/kept')
        client.send({'type': 'call', 'id': 'h', 'method': 'hang', 'payload': []})
        frame = client.wait_frames(1)
        self.assertEqual((frame['id'], frame['code']), ('h', 'timeout'))

    def test_a_flood_of_calls_gets_errors_and_clients_are_served(self):
        client = self.connect('/ws/echo')
        pending = []
        for i in range(300):
            self.conn.call('org.owlmeans.Owlsock1', '/org/owlmeans/Owlsock1', 'org.owlmeans.Owlsock1', 'Send',
                           GLib.Variant('(ssa{sv})', ('nope-%d' % i, '{', {})), None, 0, 5000, None,
                           lambda c, r, _: pending.append(r), None)
        wait_for(lambda: len(pending) == 300, 'every answer')
        for result in pending:
            with self.assertRaises(GLib.Error):
                self.conn.call_finish(result)
        client.send({'type': 'alive'})
        self.assertEqual(client.wait_frames(1), {'type': 'alive'})

    def test_bus_guard(self):
        refused = self.connect_refused('/ws/guarded?token=good')   # no handler yet
        self.assertEqual(refused, 401)
        handler = self.handler('guarded').register()
        self.assertEqual(self.connect_refused('/ws/guarded?token=bad'), 401)
        client = self.connect('/ws/guarded?token=good')
        opened = handler.wait_event('Opened')
        self.assertEqual(opened[2]['user'], 'hana')
        self.assertEqual(opened[2]['scopes'], ['chat'])
        self.assertEqual(handler.auth_requests[-1]['token'], 'good')
        self.assertEqual(handler.auth_requests[-1]['module'], 'guarded')
        self.assertIsNone(client.close_code)


def Gio_remote(error):
    from daemontest import remote_error
    return remote_error(error)


RELOAD_ADDED = BASIC + """
[module more]
path=/ws/more
behaviour=echo
"""

RELOAD_REMOVED = """
[service]
listen=127.0.0.1:0

[module echo]
path=/ws/echo
behaviour=echo

[module more]
path=/ws/more
behaviour=echo
"""


class Lifecycle(DaemonTestCase):
    CONFIG = BASIC

    def test_reload_adds_and_removes_modules_and_keeps_connections(self):
        echo = self.connect('/ws/echo')
        chat = self.connect('/ws/chat/lobby')
        self.write_config(RELOAD_ADDED)
        self.call('Reload')
        self.assertEqual(sorted(self.prop('Modules')), ['chat', 'echo', 'more'])
        self.connect('/ws/more').send({'type': 'x'})
        self.write_config(RELOAD_REMOVED)
        self.proc.send_signal(signal.SIGHUP)
        self.assertEqual(chat.wait_closed(), 1001)
        wait_for(lambda: sorted(self.prop('Modules')) == ['echo', 'more'], 'the SIGHUP reload')
        echo.send({'type': 'still'})
        self.assertEqual(echo.wait_frames(1), {'type': 'still'})
        self.assertEqual(self.connect_refused('/ws/chat/lobby'), 404)

    def test_reload_applies_service_limits_and_resets_removed_ones(self):
        self.write_config(BASIC.replace('[service]\n', '[service]\nmax-connections=1\n'))
        self.call('Reload')
        first = self.connect('/ws/echo')
        self.wait_connections(1)
        self.assertEqual(self.connect_refused('/ws/echo'), 503)
        self.write_config(BASIC)
        self.call('Reload')
        self.connect('/ws/echo')
        self.wait_connections(2)
        self.assertIsNone(first.close_code)

    def test_reload_drops_the_handler_of_a_removed_module(self):
        self.write_config(BUS)
        self.call('Reload')
        handler = self.handler('app').register()
        client = self.connect('/ws/app/x')
        handler.wait_event('Opened')
        self.write_config(BASIC)
        self.call('Reload')
        self.assertEqual(client.wait_closed(), 1001)
        self.write_config(BUS)
        self.call('Reload')
        self.handler('app').register()     # no HandlerExists: the old registration went with its module

    def test_metrics(self):
        self.write_config(BASIC.replace('[service]\n', '[service]\nmetrics=true\n'))
        self.call('Reload')
        self.connect('/ws/echo')
        msg = Soup.Message.new('GET', self.url('/metrics').replace('ws://', 'http://'))
        body = self.session.send_and_read(msg, None).get_data().decode()
        self.assertEqual(msg.get_status(), 200)
        self.assertIn('connections', body)

    def test_invalid_reload_is_refused_and_the_old_config_stays(self):
        echo = self.connect('/ws/echo')
        self.write_config(BASIC + '\n[module broken]\npath=/ws/b\nbehaviour=teleport\n')
        name, message = self.call_error('Reload')
        self.assertEqual(name, 'org.owlmeans.Owlsock1.Error.InvalidConfig')
        self.assertIn('owlsockd.conf:', message)
        self.assertIn('[module broken] behaviour: unknown behaviour "teleport"', message)
        self.proc.send_signal(signal.SIGHUP)   # logged and refused too
        echo.send({'type': 'still'})
        self.assertEqual(echo.wait_frames(1), {'type': 'still'})
        self.assertEqual(sorted(self.prop('Modules')), ['chat', 'echo'])

    def test_sigterm_stops_gracefully(self):
        clients = [self.connect('/ws/echo'), self.connect('/ws/chat/lobby')]
        self.wait_connections(2)
        self.proc.send_signal(signal.SIGTERM)
        for client in clients:
            self.assertEqual(client.wait_closed(), 1001)
            self.assertEqual(client.frames[0]['type'], 'system')
            self.assertEqual(client.frames[0]['event'], 'shutdown')
        self.assertEqual(self.wait_exit(), 0)

    def test_a_second_daemon_cannot_own_the_name(self):
        first = self.proc
        second = subprocess.run([OWLSOCKD, '--address', self.address, '--config', self.write('second.conf', BASIC)],
                                capture_output=True, text=True, timeout=10)
        self.assertEqual(second.returncode, 1)
        self.assertIn('cannot own the bus name', second.stderr)
        self.assertIsNone(first.poll())


class Adoption(DaemonTestCase):
    def test_sockets_passed_by_systemd(self):
        listeners = []
        for _ in range(2):
            listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            listener.bind(('127.0.0.1', 0))
            listener.listen(16)
            listeners.append(listener)
        ports = [listener.getsockname()[1] for listener in listeners]
        fds = [str(listener.fileno()) for listener in listeners]
        # As systemd does: the sockets from descriptor 3, LISTEN_PID the daemon's own pid.
        wrapper = ('import os, sys; fds = [int(x) for x in sys.argv[1].split(",")]; '
                   '[os.dup2(fd, 3 + i) for i, fd in enumerate(fds)]; '
                   '[os.close(fd) for fd in fds if fd >= 3 + len(fds)]; '
                   'os.environ["LISTEN_PID"] = str(os.getpid()); os.environ["LISTEN_FDS"] = str(len(fds)); '
                   'os.execv(sys.argv[2], sys.argv[2:])')
        config = self.write_config(BASIC.replace('listen=127.0.0.1:0', 'listen=127.0.0.1:1'))
        self.start(config, argv_prefix=[PYTHON, '-c', wrapper, ','.join(fds)],
                   pass_fds=[listener.fileno() for listener in listeners])
        for listener in listeners:
            listener.close()
        self.assertEqual(self.prop('Port'), ports[0])
        self.assertEqual(self.prop('Addresses'), [f'ws://127.0.0.1:{port}' for port in ports])
        for port in ports:
            client = Client(self.session, f'ws://127.0.0.1:{port}/ws/echo')
            self.clients.append(client)
            client.wait_open().send({'type': 'adopted', 'port': port})
            self.assertEqual(client.wait_frames(1), {'type': 'adopted', 'port': port})

    def test_several_listen_addresses(self):
        self.start(self.write_config(BASIC.replace('listen=127.0.0.1:0', 'listen=127.0.0.1:0;localhost:0')))
        addresses = self.prop('Addresses')
        self.assertEqual(len(addresses), 2)
        for address in addresses:
            client = Client(self.session, address + '/ws/echo')
            self.clients.append(client)
            client.wait_open().send({'type': 'hi'})
            self.assertEqual(client.wait_frames(1), {'type': 'hi'})

    def test_exit_on_idle(self):
        config = self.write_config(BASIC.replace('[service]\n', '[service]\nexit-on-idle=1\n'))
        self.start(config)
        client = self.connect('/ws/echo')
        run_for(1500)
        self.assertIsNone(self.proc.poll())    # a connection keeps it
        client.close()
        self.assertEqual(self.wait_exit(timeout=5), 0)


class Tls(DaemonTestCase):
    def test_wss_from_the_configured_files(self):
        cert, key = str(self.dir / 'cert.pem'), str(self.dir / 'key.pem')
        subprocess.run(['openssl', 'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256',
                        '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext',
                        'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert],
                       check=True, capture_output=True)
        self.start(self.write_config(BASIC.replace('[service]\n',
                                                   '[service]\ntls-certificate=cert.pem\ntls-key=key.pem\n')))
        (address,) = self.prop('Addresses')
        self.assertTrue(address.startswith('wss://127.0.0.1:'), address)
        client = Client(self.session, address + '/ws/echo',
                        accept_certificate=lambda *args: True)   # self-signed
        self.clients.append(client)
        client.wait_open().send({'type': 'secret'})
        self.assertEqual(client.wait_frames(1), {'type': 'secret'})

    def test_a_key_that_does_not_load_is_a_config_error(self):
        self.write('cert.pem', 'not a certificate')
        config = self.write_config('[service]\ntls-certificate=cert.pem\ntls-key=cert.pem\n'
                                   '[module e]\npath=/e\nbehaviour=echo\n')
        result = subprocess.run([OWLSOCKD, '--check-config', config], capture_output=True, text=True)
        self.assertEqual(result.returncode, 1)
        self.assertIn('owlsockd.conf:2: [service] tls-certificate: ', result.stderr)


class Config(DaemonTestCase):
    def check(self, text):
        path = self.write_config(text)
        return subprocess.run([OWLSOCKD, '--check-config', path], capture_output=True, text=True, timeout=10)

    def test_the_example_config_passes(self):
        result = subprocess.run([OWLSOCKD, '--check-config', str(SOURCE_ROOT / 'data' / 'owlsockd.conf')],
                                capture_output=True, text=True, timeout=10)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertTrue(result.stdout.strip().endswith('owlsockd.conf: OK'))

    def test_every_error_names_file_line_and_key(self):
        result = self.check('\n'.join([
            '[service]',                               # 1
            'listen=nowhere',                          # 2
            'idle-timeout=soon',                       # 3
            'metrics-token=hunter2',                   # 4
            '[guard g]',                               # 5
            'type=jwt2',                               # 6
            '[guard k]',                               # 7
            'type=jwt',                                # 8
            'secret-file=missing.secret',              # 9
            '[gate x]',                                # 10
            'scopes=a',                                # 11
            'route-param=b',                           # 12
            '[module chat]',                           # 13
            'path=/ws/chat/:room',                     # 14
            'guards=jwt2',                             # 15
            'behaviour=room',                          # 16
            'backpressure=sometimes',                  # 17
            'max-message-size=-7',                     # 18
            'colour=blue',                             # 19
            '[elsewhere]',                             # 20
            '',
        ]))
        self.assertEqual(result.returncode, 1)
        lines = result.stderr.strip().split('\n')
        conf = str(self.dir / 'owlsockd.conf')
        expected = [
            ':2: [service] listen: "nowhere" is not ADDRESS:PORT',
            ':3: [service] idle-timeout: "soon" is not a whole number',
            ':4: [service] metrics-token: secrets are read from files',
            ':6: [guard g] type: unknown guard type "jwt2"',
            ':9: [guard k] secret-file: cannot read "missing.secret"',
            ':10: [gate x] a gate needs scopes or route-param',
            ':15: [module chat] guards: unknown guard "jwt2"',
            ':17: [module chat] backpressure: "sometimes" is not one of',
            ':18: [module chat] max-message-size: "-7" is out of range',
            ':19: [module chat] colour: unknown key',
            ':20: [elsewhere] unknown group',
        ]
        self.assertEqual(result.returncode, 1)
        for text in expected:
            self.assertTrue(any(line.startswith(conf + text) for line in lines), f'{text} not in {lines}')
        self.assertEqual(len(lines), len(expected), lines)
        self.assertNotIn('hunter2', result.stderr)

    def test_paths_are_checked_as_the_service_will(self):
        result = self.check('[module a]\npath=/ws/x\nbehaviour=echo\n'
                            '[module b]\npath=/ws/x\nbehaviour=echo\n'
                            '[module c]\npath=/ws/:\nbehaviour=echo\n')
        self.assertEqual(result.returncode, 1)
        self.assertIn("owlsockd.conf:5: [module b] path: Module 'a' already serves '/ws/x'", result.stderr)
        self.assertIn('owlsockd.conf:8: [module c] path: ', result.stderr)

    def test_malformed_line(self):
        result = self.check('[service]\nlisten=127.0.0.1:0\nthis is not a key\n')
        self.assertEqual(result.returncode, 1)
        self.assertIn('owlsockd.conf:3: not a key=value line', result.stderr)

    def test_an_invalid_config_starts_nothing(self):
        path = self.write_config(BASIC + '\n[module x]\npath=/ws/x\nbehaviour=echo\nguards=nope\n')
        result = subprocess.run([OWLSOCKD, '--address', self.address, '--config', path],
                                capture_output=True, text=True, timeout=10)
        self.assertEqual(result.returncode, 1)
        self.assertIn('[module x] guards: unknown guard "nope"', result.stderr)

    def test_jwt_chat_from_the_example(self):
        secret = self.write('secret', 'a-test-secret-of-at-least-32-bytes-long\n')
        example = (SOURCE_ROOT / 'data' / 'owlsockd.conf').read_text()
        example = example.replace('listen=127.0.0.1:8080', 'listen=127.0.0.1:0')
        example = example.replace('secret-file=owlsockd-secret.example', f'secret-file={secret}')
        self.start(self.write_config(example))
        def token(sub, scope):
            return subprocess.run([TOKEN_TOOL, '--secret-file', secret, '--sub', sub, '--scope', scope,
                                   '--ttl', '600'], capture_output=True, text=True, check=True).stdout.strip()
        self.assertEqual(self.connect_refused('/ws/chat/lobby'), 401)
        self.assertEqual(self.connect_refused('/ws/chat/lobby?token=' + token('eve', 'other')), 403)
        ann = self.connect('/ws/chat/lobby?token=' + token('ann', 'chat'))
        bob = self.connect('/ws/chat/lobby?token=' + token('bob', 'chat'))
        ann.send({'type': 'chat-message', 'content': 'hi'})
        got = bob.wait_frames(1)
        self.assertEqual(got['from']['user'], 'ann')
        self.assertEqual(got['content'], 'hi')


    def test_secret_file_loses_one_trailing_newline(self):
        # Saved by a CRLF editor: the secret is what precedes the "\r\n", as for owlsock-token.
        secret = self.write('secret', 'a-test-secret-of-at-least-32-bytes-long\r\n')
        self.start(self.write_config('[service]\nlisten=127.0.0.1:0\n'
                                     f'[guard users]\ntype=jwt\nsecret-file={secret}\n'
                                     '[module chat]\npath=/ws/chat\nbehaviour=echo\nguards=users\n'))
        def token(key):
            return subprocess.run([TOKEN_TOOL, '--secret', key, '--sub', 'ann', '--ttl', '600'],
                                  capture_output=True, text=True, check=True).stdout.strip()
        self.assertEqual(self.connect_refused('/ws/chat?token=' + token('a-test-secret-of-at-least-32-bytes-long\r')), 401)
        ann = self.connect('/ws/chat?token=' + token('a-test-secret-of-at-least-32-bytes-long'))
        ann.send({'type': 'hello'})
        self.assertEqual(ann.wait_frames(1), {'type': 'hello'})

class HandlerProcess(DaemonTestCase):
    CONFIG = BUS

    def test_a_python_process_handles_a_module_and_leaves(self):
        script = str(SOURCE_ROOT / 'tests' / 'daemon' / 'handler.py')
        proc = subprocess.Popen([PYTHON, script, self.address, 'app'], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, text=True)
        try:
            wait_for(lambda: select.select([proc.stdout], [], [], 0)[0] or proc.poll() is not None,
                     'the handler to register')
            self.assertEqual(proc.stdout.readline().strip(), 'ready')
            client = self.connect('/ws/app/x')
            client.send({'type': 'bounce', 'n': 7})
            self.assertEqual(client.wait_frames(1), {'type': 'bounce', 'n': 7})
            client.send({'type': 'call', 'id': '1', 'method': 'who', 'payload': []})
            self.assertEqual(client.wait_frames(2), {'type': 'result', 'id': '1', 'payload': 'from-process'})
            proc.stdin.close()                      # the handler exits ...
            wait_for(lambda: proc.poll() is not None, 'the handler to exit')
            self.assertEqual(client.wait_closed(), 1001)   # ... and on-handler-vanish=close applies
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            proc.stdout.close()


class Activation(DaemonTestCase):
    """The first call to the name starts owlsockd from a service file."""

    def prepare_bus(self):
        services = self.dir / 'services'
        services.mkdir()
        config = self.write_config(BASIC)
        (services / 'org.owlmeans.Owlsock1.service').write_text(
            f'[D-BUS Service]\nName=org.owlmeans.Owlsock1\nExec={OWLSOCKD} --config {config}\n')
        self.bus.add_service_dir(str(services))

    def test_activation(self):
        port = self.prop('Port')     # starts it
        self.assertGreater(port, 0)
        client = self.connect('/ws/echo')
        client.send({'type': 'activated'})
        self.assertEqual(client.wait_frames(1), {'type': 'activated'})
        self.call('Reload')

    def test_activation_reports_a_broken_config(self):
        self.write_config('[service]\nlisten=127.0.0.1:0\n[module x]\npath=/x\nbehaviour=nope\n')
        name, message = self.call_error('GetStatistics')
        self.assertTrue(name.startswith('org.freedesktop.DBus.Error.Spawn'), (name, message))


if __name__ == '__main__':
    sys.exit(main())
