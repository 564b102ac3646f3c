#!/usr/bin/python3
# test_patterns.py: the patterns example (every pattern of @owlmeans/server-socket's
# README), driven by OwlSocketClient from Python, and in part by Python `websockets` too
#
#   /usr/bin/python3 tests/python/test_patterns.py --runtime python   # examples/python/patterns.py
#   /usr/bin/python3 tests/python/test_patterns.py --runtime gjs      # examples/gjs/patterns.js
#   /usr/bin/python3 tests/python/test_patterns.py --runtime c        # build/examples/patterns
#
# The same test bodies run against the three. Each test starts its own server (stream
# updates every 50 ms, server stats every 100 ms, the monitor's secret in
# OWLSOCK_JWT_SECRET) and ends by sending it SIGTERM, which must stop it with status 0
# and nothing on stderr: no warning, critical or traceback, so a timer that outlived its
# connection, or any other error, fails the test that caused it. The client calls go
# through tests/python/patternclient.py: Owlsock.SocketClient (owlpatternclient.py) for
# every test, and ForeignClientTests runs the stream and game basics again with Python
# `websockets` (a client owlsock did not write), and the envelope ping, whose pong only it
# sees. `--client websockets` runs every test with `websockets` (the C build without
# introspection: the ASan build, has no typelib for Owlsock.SocketClient).
#
# The tests are synchronous: the client waits by iterating GLib's main context (PyGObject
# 3.42 has no asyncio integration), the server's output is read by a thread of its own
# (tests/python/patternserver.py), and every wait is bounded.
#
# Waiting: a round trip is a barrier (the server answers in order, on one queue per
# connection), and "the timer stopped" is shown by another connection receiving several
# more periodic updates meanwhile; no sleeps.
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import os
import re
import secrets
import subprocess
import sys
import time
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import owltest  # noqa: E402
from patternclient import CallFailed, WebsocketsPatternClient  # noqa: E402
from patternserver import PatternServer  # noqa: E402
from test_examples import mint  # noqa: E402

STREAM_MS = 50
STATS_MS = 100


def pattern_client():
    """The client class of the tests: OwlPatternClient, unless `--client websockets`."""
    if CLIENT == 'websockets':
        return WebsocketsPatternClient
    from owlpatternclient import OwlPatternClient   # needs the typelib
    return OwlPatternClient


CLIENT = 'owlsock'   # set from the command line


class PatternTestCase(unittest.TestCase):
    """Starts the patterns example for each test; at the end every client is closed and the
    server must exit with status 0 on SIGTERM, with nothing on stderr."""

    server_args = ('--stream-interval', str(STREAM_MS), '--stats-interval', str(STATS_MS))
    expected_log = None   # a regex the server's stderr must match; else it must be empty
    client_class = None   # the PatternClient implementation; None: pattern_client()

    def setUp(self):
        self.secret = secrets.token_urlsafe(32)
        env = dict(os.environ, OWLSOCK_JWT_SECRET=self.secret)
        self.server = PatternServer(owltest.server_command('patterns', args=self.server_args), env)
        self.client = self.client_class or pattern_client()
        self.clients = []
        self.addCleanup(self.server.kill)
        self.server.start()

    def open(self, path, token=None):
        client = self.client.connect(self.server.url(path), token)
        self.clients.append(client)
        return client

    def refusal(self, path, token=None):
        """(HTTP status, code, message) of the refused upgrade for `path`."""
        return self.client.refusal(self.server.url(path), token)

    def tearDown(self):
        for client in self.clients:
            client.finish()
        if self.server.running():
            self.server.signal()
        self.assertEqual(self.server.wait(), 0, 'exit status')
        log = b''.join(line for line in self.server.output
                       if not line.startswith(b'listening on ')).decode(errors='replace')
        if self.expected_log is None:
            self.assertEqual(log, '', 'the server wrote to stderr')
        else:
            self.assertRegex(log, self.expected_log)


class StreamTests(PatternTestCase):
    def subscribed(self, client, channel):
        client.send({'type': 'subscribe', 'channel': channel})
        client.expect('subscribed', channel=channel)

    def updates(self, client, n):
        """The next `n` frames, which must all be data updates."""
        frames = [client.expect('data-update') for _ in range(n)]
        for frame in frames:
            self.assertIsInstance(frame['seq'], int, frame)
            self.assertEqual(frame['timestamp'], frame['seq'] * STREAM_MS, frame)
            self.assertIn(frame['value'], range(1000), frame)
        return frames

    def test_subscribe_streams_each_channel_until_unsubscribe(self):
        alice = self.open('/ws/stream')
        bob = self.open('/ws/stream')
        self.subscribed(alice, 'cpu')
        cpu = self.updates(alice, 3)
        self.assertEqual({f['channel'] for f in cpu}, {'cpu'})
        self.assertEqual([f['seq'] for f in cpu], sorted({f['seq'] for f in cpu}), 'seq rises')

        self.subscribed(alice, 'mem')
        both = self.updates(alice, 6)
        self.assertEqual({f['channel'] for f in both}, {'cpu', 'mem'})

        alice.send({'type': 'unsubscribe', 'channel': 'cpu'})
        while (msg := alice.recv())['type'] == 'data-update':   # sent before it
            pass
        self.assertEqual(msg, {'type': 'unsubscribed', 'channel': 'cpu'})
        after = self.updates(alice, 4)
        self.assertEqual({f['channel'] for f in after}, {'mem'})
        bob.assert_quiet()   # subscribed to nothing: nothing streamed to it

    def test_history_answered_with_the_request_id(self):
        client = self.open('/ws/stream')
        self.subscribed(client, 'cpu')
        cpu_id = client.send_request({'type': 'get-history', 'channel': 'cpu', 'limit': 3})
        mem_id = client.send_request({'type': 'get-history', 'channel': 'mem'})
        mem = client.response(mem_id)            # both in flight, answered by id
        cpu = client.response(cpu_id)
        self.assertEqual((cpu['channel'], mem['channel']), ('cpu', 'mem'))
        self.assertEqual(len(cpu['points']), 3)
        self.assertEqual(len(mem['points']), 10)   # the default limit
        seqs = [p['seq'] for p in mem['points']]
        self.assertEqual(seqs, list(range(seqs[0], seqs[0] + 10)), 'consecutive, oldest first')
        # The history agrees with the stream: the same data source.
        update = client.expect('data-update', channel='cpu')
        history = (client.response(client.send_request(
            {'type': 'get-history', 'channel': 'cpu', 'limit': 100})))['points']
        self.assertIn({k: update[k] for k in ('seq', 'timestamp', 'value')}, history)

    def test_bad_history_request_answered_with_its_id(self):
        client = self.open('/ws/stream')
        for payload in ({'type': 'get-history', 'channel': 'CPU'},
                        {'type': 'get-history', 'channel': 'cpu', 'limit': 1000},
                        {'type': 'get-history'},
                        {'type': 'get-future', 'channel': 'cpu'},
                        'get-history'):
            with self.subTest(payload=payload):
                id_ = client.send_request(payload)
                with self.assertRaises(CallFailed) as failed:
                    client.response(id_)
                self.assertEqual((failed.exception.code, failed.exception.recoverable),
                                 ('validation', True))
        ok = client.response(client.send_request({'type': 'get-history', 'channel': 'ok'}))
        self.assertEqual(ok['channel'], 'ok')

    def test_bad_subscriptions_refused_stream_goes_on(self):
        alice = self.open('/ws/stream')
        bob = self.open('/ws/stream')
        self.subscribed(bob, 'cpu')
        for message, details in (
                ({'type': 'subscribe'}, {'type': 'subscribe', 'pointer': '', 'keyword': 'required'}),
                ({'type': 'subscribe', 'channel': 'no spaces'},
                 {'type': 'subscribe', 'pointer': '/channel', 'keyword': 'pattern'}),
                ({'type': 'unsubscribe', 'channel': 7},
                 {'type': 'unsubscribe', 'pointer': '/channel', 'keyword': 'type'}),
                ({'type': 'publish', 'channel': 'cpu'}, {'pointer': '/type', 'keyword': 'enum'})):
            with self.subTest(message=message):
                alice.send(message)
                error = alice.expect('error', code='validation', recoverable=True)
                self.assertEqual(error['details'], details)
        alice.assert_quiet()                 # no subscription came of them
        self.updates(bob, 2)                 # the other client kept streaming
        self.subscribed(alice, 'disk')
        alice.expect('data-update', channel='disk')

    def test_timers_stop_at_close(self):
        """Timers of connections that closed (either way, or vanished) never fire on them:
        a send to a closing connection would be an error on stderr (checked at teardown)."""
        watcher = self.open('/ws/stream')
        self.subscribed(watcher, 'watch')
        stream = [self.open('/ws/stream') for _ in range(3)]
        stats = [self.open('/ws/connection') for _ in range(3)]
        for client in stream:
            self.subscribed(client, 'cpu')
            client.expect('data-update', channel='cpu')
        for client in stats:
            client.expect('connection-established')
            client.expect('server-stats')
        stream[0].close()
        stats[0].close()
        stream[1].abort()                          # no close frame: 1006
        stats[1].abort()
        stream[2].send({'type': 'subscribe', 'channel': 'mem'})
        stream[2].close(4000, 'bye')
        stats[2].close(4000, 'bye')
        # Meanwhile another connection gets its updates: more than two periods of each timer.
        self.updates(watcher, 2 * STATS_MS // STREAM_MS + 3)


class GameTests(PatternTestCase):
    def join(self, name, session='s1'):
        """Joins `session` as `name`; returns (client, its connection id)."""
        client = self.open(f'/ws/game/{session}?player={name}')
        state = client.expect('game-state', sessionId=session)
        ids = [id_ for id_, player in state['state']['players'].items() if player['name'] == name]
        self.assertEqual(len(ids), 1, state)
        self.assertEqual(state['state']['players'][ids[0]], {'name': name, 'x': 0, 'y': 0})
        return client, ids[0]

    def test_state_goes_to_the_session_except_the_mover(self):
        ann, ann_id = self.join('ann')
        bob, _ = self.join('bob')
        carol, _ = self.join('carol')
        for client, names in ((ann, ['bob', 'carol']), (bob, ['carol'])):
            for name in names:
                msg = client.expect('player-joined')
                self.assertEqual(msg['player']['name'], name)
        dave, _ = self.join('dave', session='s2')

        ann.send({'type': 'player-move', 'move': {'dx': 1, 'dy': 1}})
        ann.expect('move-accepted', moves=1, position={'x': 1, 'y': 1})
        for client in (bob, carol):
            state = client.expect('game-state', sessionId='s1',
                                        lastMove={'player': ann_id, 'dx': 1, 'dy': 1})
            self.assertEqual(state['state']['moves'], 1)
            self.assertEqual(state['state']['players'][ann_id], {'name': 'ann', 'x': 1, 'y': 1})
            self.assertEqual(len(state['state']['players']), 3)
        ann.assert_quiet()     # the mover does not get its own state broadcast
        dave.assert_quiet()    # nor does another session

        ann.send({'type': 'player-move', 'move': {'dx': -1, 'dy': 0}})
        ann.send({'type': 'player-move', 'move': {'dx': -1, 'dy': 0}})   # the board's edge
        ann.expect('move-accepted', moves=2, position={'x': 0, 'y': 1})
        ann.expect('move-accepted', moves=3, position={'x': 0, 'y': 1})
        bob.expect('game-state', lastMove={'player': ann_id, 'dx': -1, 'dy': 0})

    def test_join_and_leave_notices(self):
        ann, _ = self.join('ann')
        bob, bob_id = self.join('bob')
        ann.expect('player-joined', player={'id': bob_id, 'name': 'bob'})
        bob.assert_quiet()     # not told of itself
        carol, carol_id = self.join('carol')
        for client in (ann, bob):
            client.expect('player-joined', player={'id': carol_id, 'name': 'carol'})

        bob.close()
        for client in (ann, carol):
            client.expect('player-left', player={'id': bob_id, 'name': 'bob'})
        carol.abort()                # gone without a close frame: left all the same
        ann.expect('player-left', player={'id': carol_id, 'name': 'carol'})

        dave, _ = self.join('dave')
        ann.expect('player-joined')
        dave.send({'type': 'player-move', 'move': {'dx': 1, 'dy': 0}})
        state = ann.expect('game-state')
        self.assertEqual(sorted(p['name'] for p in state['state']['players'].values()),
                         ['ann', 'dave'])

    def test_bad_moves_refused_game_goes_on(self):
        ann, ann_id = self.join('ann')
        bob, _ = self.join('bob')
        ann.expect('player-joined')
        for message, details in (
                ({'type': 'player-move', 'move': {'dx': 2, 'dy': 0}},
                 {'type': 'player-move', 'pointer': '/move/dx', 'keyword': 'enum'}),
                ({'type': 'player-move'}, {'type': 'player-move', 'pointer': '', 'keyword': 'required'}),
                ({'type': 'player-move', 'move': {'dx': 0, 'dy': 0, 'teleport': True}},
                 {'type': 'player-move', 'pointer': '/move/teleport', 'keyword': 'additionalProperties'}),
                ({'type': 'player-jump'}, {'pointer': '/type', 'keyword': 'enum'})):
            with self.subTest(message=message):
                ann.send(message)
                error = ann.expect('error', code='validation', recoverable=True)
                self.assertEqual(error['details'], details)
        bob.assert_quiet()     # none of them reached the session
        ann.send({'type': 'player-move', 'move': {'dx': 0, 'dy': 1}})
        ann.expect('move-accepted', moves=1, position={'x': 0, 'y': 1})
        bob.expect('game-state', lastMove={'player': ann_id, 'dx': 0, 'dy': 1})

    def test_session_and_player_checked_before_upgrade(self):
        ann, _ = self.join('ann')
        for path in ('/ws/game/s1', '/ws/game/s1?player=', f'/ws/game/s1?player={"x" * 33}',
                     '/ws/game/a%20b?player=bob'):
            with self.subTest(path=path):
                status, code, _message = self.refusal(path)
                self.assertEqual((status, code), (400, 'validation'))
        ann.assert_quiet()     # nobody joined
        bob, bob_id = self.join('bob')
        ann.expect('player-joined', player={'id': bob_id, 'name': 'bob'})


class MonitorTests(PatternTestCase):
    def monitor(self, user='root'):
        client = self.open('/ws/monitor', mint(self.secret, user, 'admin'))
        return client, (client.expect('system-state'))['data']

    def test_admin_gets_state_then_events(self):
        game = self.open('/ws/game/s1?player=ann')
        monitor, state = self.monitor()
        self.assertEqual(state['connections-open'], 2, state)     # the game and itself
        self.assertEqual(state['connections-accepted'], 2, state)

        stream = self.open('/ws/stream')
        opened = monitor.expect('system-event', event='connection-opened')
        self.assertEqual({k: opened['connection'][k] for k in ('module', 'path')},
                         {'module': 'stream', 'path': '/ws/stream'})
        stream.close()
        monitor.expect('system-event', event='connection-closed', code=1000,
                             connection=opened['connection'])
        game.close(4000, 'done')
        closed = monitor.expect('system-event', event='connection-closed', code=4000)
        self.assertEqual(closed['connection']['path'], '/ws/game/s1')

        other, _ = self.monitor('admin2')
        opened = monitor.expect('system-event', event='connection-opened')
        self.assertEqual(opened['connection']['module'], 'monitor')
        other.assert_quiet()   # not told of itself
        other.close()
        monitor.expect('system-event', event='connection-closed', code=1000)

    def test_non_admin_refused(self):
        monitor, _ = self.monitor()
        for token, status, code, message in (
                (mint(self.secret, 'ann', 'chat'), 403, 'forbidden', 'A required scope is missing'),
                (None, 401, 'auth-failed', 'Credentials required'),
                (mint(secrets.token_urlsafe(32), 'eve', 'admin'), 401, 'auth-failed', 'Bad signature'),
                (mint(self.secret, 'old', 'admin', ttl=-60), 401, 'auth-failed', 'Token expired')):
            with self.subTest(status=status, message=message):
                self.assertEqual(self.refusal('/ws/monitor', token), (status, code, message))
        monitor.assert_quiet()   # a refused upgrade never opened a connection
        self.open('/ws/connection')
        opened = monitor.expect('system-event', event='connection-opened')
        self.assertEqual(opened['connection']['module'], 'connection')


class ConnectionTests(PatternTestCase):
    def test_established_with_id_and_server_time(self):
        monitor = self.open('/ws/monitor', mint(self.secret, 'root', 'admin'))
        monitor.expect('system-state')
        before = int(time.time() * 1000)
        first = self.open('/ws/connection')
        second = self.open('/ws/connection')
        one = first.expect('connection-established')
        two = second.expect('connection-established')
        after = int(time.time() * 1000)
        self.assertNotEqual(one['connectionId'], two['connectionId'])
        for msg in (one, two):
            self.assertLessEqual(before - 1000, msg['serverTime'], msg)
            self.assertLessEqual(msg['serverTime'], after + 1000, msg)
        # The id is owlsock's own: the monitor names the same one.
        for msg in (one, two):
            opened = monitor.expect('system-event', event='connection-opened')
            self.assertEqual(opened['connection']['id'], msg['connectionId'])

    def test_server_stats_periodic(self):
        first = self.open('/ws/connection')
        first.expect('connection-established')
        stats = [first.expect('server-stats') for _ in range(2)]
        self.assertEqual([s['activeConnections'] for s in stats], [1, 1])
        self.assertLess(stats[0]['serverUptime'], stats[1]['serverUptime'])
        second = self.open('/ws/connection')
        second.expect('connection-established')
        for _ in range(10):   # those sent before the second one opened still say 1
            if (first.expect('server-stats'))['activeConnections'] == 2:
                break
        else:
            self.fail('the stats never counted the second connection')
        self.assertEqual((second.expect('server-stats'))['activeConnections'], 2)


class ErrorTests(PatternTestCase):
    def failed(self, client, method, *args):
        with self.assertRaises(CallFailed) as failed:
            client.call(method, *args)
        return failed.exception

    def test_errors_carry_code_and_recoverable(self):
        client = self.open('/ws/errors')
        self.assertEqual(client.call('lookup', 'owl'), 'a bird that hunts at night')
        error = self.failed(client, 'lookup', 'dragon')
        self.assertEqual((error.code, error.recoverable, error.message),
                         ('not-found', True, "No entry for 'dragon'"))
        for args in ((42,), (), ('owl', 'sock')):
            error = self.failed(client, 'lookup', *args)
            self.assertEqual((error.code, error.recoverable, error.message),
                             ('invalid-argument', False, 'lookup takes one string'))
        error = self.failed(client, 'no-such-method')
        self.assertEqual((error.code, error.recoverable), ('unknown-method', True))
        self.assertEqual(client.call('lookup', 'sock'), 'what keeps a foot warm')


class ErrorCrashTests(PatternTestCase):
    expected_log = r'secret\.conf'   # the operator sees what failed; the client does not

    def test_unknown_failure_is_internal(self):
        client = self.open('/ws/errors')
        other = self.open('/ws/errors')
        error = self.failed(client)
        self.assertEqual((error.code, error.recoverable, error.message),
                         ('internal', False, 'Internal error'))
        self.assertEqual(client.call('lookup', 'owl'), 'a bird that hunts at night')
        self.assertEqual(other.call('lookup', 'sock'), 'what keeps a foot warm')

    def failed(self, client):
        with self.assertRaises(CallFailed) as failed:
            client.call('crash')
        return failed.exception


class StopTests(PatternTestCase):
    def test_sigterm_closes_every_pattern_with_1001(self):
        stream = self.open('/ws/stream')
        stream.send({'type': 'subscribe', 'channel': 'cpu'})
        stream.expect('subscribed')
        clients = [stream, self.open('/ws/game/s1?player=ann'),
                   self.open('/ws/monitor', mint(self.secret, 'root', 'admin')),
                   self.open('/ws/connection'), self.open('/ws/errors')]
        self.server.signal()
        for client in clients:
            code, _reason = client.closed()
            self.assertEqual(code, 1001)
        self.assertEqual(self.server.wait(), 0)


class ForeignClientTests(PatternTestCase):
    """The stream and game basics again with Python `websockets`, a client owlsock did not
    write, and the envelope ping, whose pong OwlSocketClient answers for itself."""

    client_class = WebsocketsPatternClient
    subscribed = StreamTests.subscribed
    updates = StreamTests.updates
    join = GameTests.join
    test_stream_with_websockets = StreamTests.test_subscribe_streams_each_channel_until_unsubscribe
    test_game_with_websockets = GameTests.test_state_goes_to_the_session_except_the_mover

    def test_ping_answered_by_owlsock(self):
        client = self.open('/ws/connection')
        client.expect('connection-established')
        self.assertEqual(client.ping('p1'), {'type': 'pong', 'id': 'p1'})
        self.assertEqual(client.ping(), {'type': 'pong'})
        client.expect('server-stats')   # the stream of stats goes on


class StartTests(unittest.TestCase):
    def test_refuses_to_start_without_a_secret(self):
        env = {k: v for k, v in os.environ.items() if k != 'OWLSOCK_JWT_SECRET'}
        for extra, what in (({}, 'OWLSOCK_JWT_SECRET'), ({'OWLSOCK_JWT_SECRET': 'x' * 31}, '32 bytes')):
            with self.subTest(what=what):
                done = subprocess.run(owltest.server_command('patterns'), env=dict(env, **extra),
                                      stdin=subprocess.DEVNULL, capture_output=True,
                                      timeout=owltest.TIMEOUT)
                self.assertNotEqual(done.returncode, 0)
                self.assertEqual(done.stdout, b'')
                self.assertRegex(done.stderr.decode(), re.escape(what))


if __name__ == '__main__':
    # --client websockets|owlsock: which PatternClient the tests use (owlsock by default);
    # the other arguments are owltest.main()'s.
    if '--client' in sys.argv:
        at = sys.argv.index('--client')
        CLIENT = sys.argv[at + 1]
        del sys.argv[at:at + 2]
        assert CLIENT in ('owlsock', 'websockets'), f'--client {CLIENT}: owlsock or websockets'
    sys.exit(owltest.main())
