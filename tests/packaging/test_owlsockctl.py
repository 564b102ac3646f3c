#!/usr/bin/python3
# test_owlsockctl.py: every owlsockctl command against the stand-in of
# owlsockd (owlsockd_standin.py) on a private bus (GTestDBus): what it sends,
# what it prints, its exit status, and its errors: owlsockd's refusals,
# JSON refused before the bus, usage errors, no owlsockd on the bus.
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import json
import os
import subprocess
import sys
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree

from gi.repository import Gio

import pkgtest
from pkgtest import BUILD_ROOT, PYTHON, STANDIN, run

OWLSOCKCTL = str(BUILD_ROOT / 'tools' / 'owlsockctl')


class Bus(unittest.TestCase):
    """A private session bus for each test (the TAP runner has no class
    fixtures); owlsockctl is pointed at it."""

    def setUp(self):
        test_bus = Gio.TestDBus.new(Gio.TestDBusFlags.NONE)
        test_bus.up()
        self.addCleanup(test_bus.down)
        self.address = test_bus.get_bus_address()

    def ctl(self, *args, status=0, bus=True, env=None):
        """Runs owlsockctl; checks its exit status; returns the process."""
        argv = [OWLSOCKCTL] + (['--address', self.address] if bus else []) + list(args)
        result = run(argv, env=env)
        self.assertEqual(result.returncode, status,
                         f'{args}: stdout {result.stdout!r} stderr {result.stderr!r}')
        return result


class Commands(Bus):
    def setUp(self):
        super().setUp()
        self.standin = subprocess.Popen([PYTHON, str(STANDIN), '--address', self.address],
                                        stdout=subprocess.PIPE, text=True)
        self.addCleanup(self.standin.stdout.close)
        self.addCleanup(pkgtest.stop, self.standin)
        self.assertEqual(pkgtest.wait_line(self.standin.stdout, 'the stand-in'), 'ready\n')

    def received(self):
        """The next call the stand-in answered, as [method, args...]."""
        call = json.loads(pkgtest.wait_line(self.standin.stdout, 'a call to the stand-in'))
        return [call['method']] + call['args']

    def assert_nothing_sent(self):
        # Ordered by the bus: the next call the stand-in sees is this one.
        self.ctl('rooms')
        self.assertEqual(self.received(), ['ListRooms'])

    def assert_refused(self, args, message, status=1):
        result = self.ctl(*args, status=status)
        self.assertEqual((result.stdout, result.stderr), ('', f'owlsockctl: {message}\n'))

    def test_list(self):
        for options, filter, ids in [
                ([], {}, 'c1 c2 c3'),
                (['--module', 'echo'], {'module': 'echo'}, 'c3'),
                (['--user', 'alice'], {'user': 'alice'}, 'c1'),
                (['--room', 'lobby'], {'room': 'lobby'}, 'c1 c2'),
                (['--module', 'chat', '--user', 'bob'], {'module': 'chat', 'user': 'bob'}, 'c2'),
                (['--user', 'nobody'], {'user': 'nobody'}, '')]:
            with self.subTest(options=options):
                result = self.ctl('list', *options)
                self.assertEqual(result.stdout.split(), ids.split())
                self.assertEqual(self.received(), ['ListConnections', filter])

    def test_describe(self):
        result = self.ctl('describe', 'c1')
        self.assertEqual(result.stdout.splitlines(), [
            'module: chat', 'path: /ws/chat/lobby', 'params: room=lobby',
            'peer: 127.0.0.1:40001', 'user: alice', 'scopes: chat',
            'expires-at: 1893456000', 'rooms: lobby', 'state: open',
            'buffered: 0', 'dropped: 0'])
        self.assertEqual(self.received(), ['DescribeConnection', 'c1'])

    def test_describe_unknown(self):
        self.assert_refused(['describe', 'nope'], 'no open connection has the id “nope”')

    def test_send(self):
        result = self.ctl('send', 'c1', '{"type":"hi"}')
        self.assertEqual((result.stdout, result.stderr), ('', ''))
        self.assertEqual(self.received(), ['Send', 'c1', '{"type":"hi"}', {}])

    def test_send_unknown(self):
        self.assert_refused(['send', 'c9', '{}'], 'no open connection has the id “c9”')

    def test_send_invalid_json(self):
        for text in ['{"type":', 'hi', '', '[1, 2]', '"text"']:
            with self.subTest(text=text):
                result = self.ctl('send', 'c1', text, status=2)
                self.assertTrue(result.stderr.startswith('owlsockctl: invalid JSON: '),
                                result.stderr)
        self.assert_nothing_sent()

    def test_broadcast(self):
        self.ctl('broadcast', 'lobby', '{"type":"news"}', '--exclude', 'c1')
        self.assertEqual(self.received(), ['Broadcast', 'lobby', '{"type":"news"}',
                                           {'exclude': 'c1'}])
        self.ctl('broadcast', 'lobby', '{"type":"news"}')
        self.assertEqual(self.received(), ['Broadcast', 'lobby', '{"type":"news"}', {}])

    def test_broadcast_invalid_json(self):
        result = self.ctl('broadcast', 'lobby', '{oops}', status=2)
        self.assertIn('invalid JSON', result.stderr)
        self.assert_nothing_sent()

    def test_close(self):
        self.ctl('close', 'c3')
        self.assertEqual(self.received(), ['Close', 'c3', 1000, ''])
        self.ctl('close', 'c1', '4000', 'bye')
        self.assertEqual(self.received(), ['Close', 'c1', 4000, 'bye'])
        self.assertEqual(self.ctl('list').stdout, 'c2\n')

    def test_close_refused(self):
        self.assert_refused(['close', 'c1', '2000'],
                            '2000 is not a close code an application may send (1000, 3000-4999)')
        self.assert_refused(['close', 'c9'], 'no open connection has the id “c9”')
        for code in ['abc', '70000', '']:
            with self.subTest(code=code):
                result = self.ctl('close', 'c1', code, status=2)
                self.assertIn('invalid close code', result.stderr)

    def test_join_leave_members(self):
        self.ctl('join', 'c3', 'lobby')
        self.assertEqual(self.received(), ['Join', 'c3', 'lobby'])
        self.ctl('leave', 'c1', 'lobby')
        self.assertEqual(self.received(), ['Leave', 'c1', 'lobby'])
        self.assertEqual(self.ctl('members', 'lobby').stdout, 'c2\nc3\n')
        self.assertEqual(self.received(), ['RoomMembers', 'lobby'])
        self.assert_refused(['join', 'c9', 'lobby'], 'no open connection has the id “c9”')

    def test_members_unknown_room(self):
        self.assert_refused(['members', 'attic'], 'no room is named “attic”')

    def test_rooms(self):
        self.assertEqual(self.ctl('rooms').stdout, 'lobby\n')
        self.ctl('join', 'c3', 'attic')
        self.assertEqual(self.ctl('rooms').stdout, 'attic\nlobby\n')

    def test_stats(self):
        self.assertEqual(self.ctl('stats').stdout,
                         'bytes-out: 4096\nconnections: 3\nmessages-in: 42\n')

    def test_reload(self):
        self.assertEqual(self.ctl('reload').stdout, '')
        self.assertEqual(self.received(), ['Reload'])

    def test_info(self):
        self.assertEqual(self.ctl('info').stdout.splitlines(), [
            'Version: 0.0.0-standin', 'Addresses: ws://127.0.0.1:8080', 'Port: 8080',
            'Connections: 3', 'Modules: chat, echo'])

    def test_session_bus_is_the_default(self):
        env = dict(os.environ, DBUS_SESSION_BUS_ADDRESS=self.address)
        self.assertEqual(self.ctl('rooms', bus=False, env=env).stdout, 'lobby\n')
        self.assertEqual(self.ctl('--session', 'rooms', bus=False, env=env).stdout, 'lobby\n')


class Usage(Bus):
    """Usage errors exit with 2 before anything is sent; no stand-in runs."""

    def test_usage_errors(self):
        for args in [[], ['frobnicate'], ['send', 'c1'], ['send', 'c1', '{}', 'extra'],
                     ['list', '--bogus'], ['describe'], ['close'], ['members'],
                     ['close', 'c1', '1000', 'bye', 'extra'],
                     ['send', 'c1', '{'], ['broadcast', 'lobby', '[]']]:  # JSON, no owlsockd
            with self.subTest(args=args):
                result = self.ctl(*args, status=2)
                self.assertTrue(result.stderr.startswith('owlsockctl: '), result.stderr)
                self.assertEqual(result.stdout, '')

    def test_one_bus(self):
        result = self.ctl('--session', '--system', 'rooms', status=2, bus=False)
        self.assertIn('choose one bus', result.stderr)

    def test_help(self):
        result = self.ctl('--help', bus=False)
        for command in ['list', 'describe ID', 'send ID JSON', 'broadcast ROOM JSON',
                        'close ID [CODE [REASON]]', 'join ID ROOM', 'leave ID ROOM',
                        'rooms', 'members ROOM', 'stats', 'reload', 'info']:
            self.assertIn(f'\n  {command} ', result.stdout)
        result = self.ctl('broadcast', '--help')
        self.assertIn('owlsockctl [OPTION…] broadcast ROOM JSON', result.stdout)
        self.assertIn('--exclude=ID', result.stdout)

    def test_no_owlsockd(self):
        # Nothing owns the name and no service file can start it.
        result = self.ctl('list', status=1)
        self.assertEqual(result.stderr,
                         f'owlsockctl: owlsockd is not running on the bus at {self.address} '
                         'and could not be started there (The name org.owlmeans.Owlsock1 '
                         'was not provided by any .service files)\n')

    def test_no_bus(self):
        result = self.ctl('--address', 'unix:path=/nonexistent/bus', 'list', status=1, bus=False)
        self.assertTrue(result.stderr.startswith(
            'owlsockctl: cannot connect to the bus at unix:path=/nonexistent/bus: '),
            result.stderr)


if __name__ == '__main__':
    sys.exit(pkgtest.main())
