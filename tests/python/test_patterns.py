#!/usr/bin/python3
# test_patterns.py: the patterns example (every pattern of @owlmeans/server-socket's
# README), driven by real WebSocket clients
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
# through tests/python/patternclient.py, the one place to switch to OwlSocketClient.
#
# Waiting: a ping round trip is a barrier (the server answers in order, on one queue per
# connection), and "the timer stopped" is shown by another connection receiving several
# more periodic updates meanwhile; no sleeps.
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import asyncio
import json
import os
import re
import secrets
import sys
import time
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import owltest  # noqa: E402
from owltest import ServerTestCase, bounded  # noqa: E402
from patternclient import CallFailed, PatternClient  # noqa: E402
from test_examples import mint  # noqa: E402

STREAM_MS = 50
STATS_MS = 100


class PatternTestCase(ServerTestCase):
    example = 'patterns'
    server_args = ('--stream-interval', str(STREAM_MS), '--stats-interval', str(STATS_MS))
    expected_log = None   # a regex the server's stderr must match; else it must be empty

    async def asyncSetUp(self):
        self.secret = secrets.token_urlsafe(32)
        self.server_env = dict(os.environ, OWLSOCK_JWT_SECRET=self.secret)
        self.server = owltest.Server(self.server_argv(), env=self.server_env, merge_stderr=True)
        self.clients = []
        self.addAsyncCleanup(self.server.kill)
        await self.server.start()

    async def open(self, path, token=None):
        client = await PatternClient.connect(self.server.url(path), token)
        self.clients.append(client.raw)
        return client

    async def asyncTearDown(self):
        await super().asyncTearDown()
        log = b''.join(line for line in self.server.output
                       if not line.startswith(b'listening on ')).decode(errors='replace')
        if self.expected_log is None:
            self.assertEqual(log, '', 'the server wrote to stderr')
        else:
            self.assertRegex(log, self.expected_log)


class StreamTests(PatternTestCase):
    async def subscribed(self, client, channel):
        await client.send({'type': 'subscribe', 'channel': channel})
        await client.expect('subscribed', channel=channel)

    async def updates(self, client, n):
        """The next `n` frames, which must all be data updates."""
        frames = [await client.expect('data-update') for _ in range(n)]
        for frame in frames:
            self.assertIsInstance(frame['seq'], int, frame)
            self.assertEqual(frame['timestamp'], frame['seq'] * STREAM_MS, frame)
            self.assertIn(frame['value'], range(1000), frame)
        return frames

    async def test_subscribe_streams_each_channel_until_unsubscribe(self):
        alice = await self.open('/ws/stream')
        bob = await self.open('/ws/stream')
        await self.subscribed(alice, 'cpu')
        cpu = await self.updates(alice, 3)
        self.assertEqual({f['channel'] for f in cpu}, {'cpu'})
        self.assertEqual([f['seq'] for f in cpu], sorted({f['seq'] for f in cpu}), 'seq rises')

        await self.subscribed(alice, 'mem')
        both = await self.updates(alice, 6)
        self.assertEqual({f['channel'] for f in both}, {'cpu', 'mem'})

        await alice.send({'type': 'unsubscribe', 'channel': 'cpu'})
        while (msg := await alice.recv())['type'] == 'data-update':   # sent before it
            pass
        self.assertEqual(msg, {'type': 'unsubscribed', 'channel': 'cpu'})
        after = await self.updates(alice, 4)
        self.assertEqual({f['channel'] for f in after}, {'mem'})
        await bob.assert_quiet()   # subscribed to nothing: nothing streamed to it

    async def test_history_answered_with_the_request_id(self):
        client = await self.open('/ws/stream')
        await self.subscribed(client, 'cpu')
        cpu_id = await client.send_request({'type': 'get-history', 'channel': 'cpu', 'limit': 3})
        mem_id = await client.send_request({'type': 'get-history', 'channel': 'mem'})
        mem = await client.response(mem_id)            # both in flight, answered by id
        cpu = await client.response(cpu_id)
        self.assertEqual((cpu['type'], cpu['id'], cpu['payload']['channel']), ('response', cpu_id, 'cpu'))
        self.assertEqual((mem['type'], mem['id'], mem['payload']['channel']), ('response', mem_id, 'mem'))
        self.assertEqual(len(cpu['payload']['points']), 3)
        self.assertEqual(len(mem['payload']['points']), 10)   # the default limit
        seqs = [p['seq'] for p in mem['payload']['points']]
        self.assertEqual(seqs, list(range(seqs[0], seqs[0] + 10)), 'consecutive, oldest first')
        # The history agrees with the stream: the same data source.
        update = await client.expect('data-update', channel='cpu')
        history = (await client.response(await client.send_request(
            {'type': 'get-history', 'channel': 'cpu', 'limit': 100})))['payload']['points']
        self.assertIn({k: update[k] for k in ('seq', 'timestamp', 'value')}, history)

    async def test_bad_history_request_answered_with_its_id(self):
        client = await self.open('/ws/stream')
        for payload in ({'type': 'get-history', 'channel': 'CPU'},
                        {'type': 'get-history', 'channel': 'cpu', 'limit': 1000},
                        {'type': 'get-history'},
                        {'type': 'get-future', 'channel': 'cpu'},
                        'get-history'):
            with self.subTest(payload=payload):
                id_ = await client.send_request(payload)
                with self.assertRaises(CallFailed) as failed:
                    await client.response(id_)
                self.assertEqual((failed.exception.frame['id'], failed.exception.code,
                                  failed.exception.recoverable), (id_, 'validation', True))
        ok = await client.response(await client.send_request({'type': 'get-history', 'channel': 'ok'}))
        self.assertEqual(ok['payload']['channel'], 'ok')

    async def test_bad_subscriptions_refused_stream_goes_on(self):
        alice = await self.open('/ws/stream')
        bob = await self.open('/ws/stream')
        await self.subscribed(bob, 'cpu')
        for message, details in (
                ({'type': 'subscribe'}, {'type': 'subscribe', 'pointer': '', 'keyword': 'required'}),
                ({'type': 'subscribe', 'channel': 'no spaces'},
                 {'type': 'subscribe', 'pointer': '/channel', 'keyword': 'pattern'}),
                ({'type': 'unsubscribe', 'channel': 7},
                 {'type': 'unsubscribe', 'pointer': '/channel', 'keyword': 'type'}),
                ({'type': 'publish', 'channel': 'cpu'}, {'pointer': '/type', 'keyword': 'enum'})):
            with self.subTest(message=message):
                await alice.send(message)
                error = await alice.expect('error', code='validation', recoverable=True)
                self.assertEqual(error['details'], details)
        await alice.assert_quiet()                 # no subscription came of them
        await self.updates(bob, 2)                 # the other client kept streaming
        await self.subscribed(alice, 'disk')
        await alice.expect('data-update', channel='disk')

    async def test_timers_stop_at_close(self):
        """Timers of connections that closed (either way, or vanished) never fire on them:
        a send to a closing connection would be an error on stderr (checked at teardown)."""
        watcher = await self.open('/ws/stream')
        await self.subscribed(watcher, 'watch')
        stream = [await self.open('/ws/stream') for _ in range(3)]
        stats = [await self.open('/ws/connection') for _ in range(3)]
        for client in stream:
            await self.subscribed(client, 'cpu')
            await client.expect('data-update', channel='cpu')
        for client in stats:
            await client.expect('connection-established')
            await client.expect('server-stats')
        await stream[0].close()
        await stats[0].close()
        stream[1].abort()                          # no close frame: 1006
        stats[1].abort()
        await stream[2].send({'type': 'subscribe', 'channel': 'mem'})
        await stream[2].raw.ws.close(4000, 'bye')
        await stats[2].raw.ws.close(4000, 'bye')
        # Meanwhile another connection gets its updates: more than two periods of each timer.
        await self.updates(watcher, 2 * STATS_MS // STREAM_MS + 3)


class GameTests(PatternTestCase):
    async def join(self, name, session='s1'):
        """Joins `session` as `name`; returns (client, its connection id)."""
        client = await self.open(f'/ws/game/{session}?player={name}')
        state = await client.expect('game-state', sessionId=session)
        ids = [id_ for id_, player in state['state']['players'].items() if player['name'] == name]
        self.assertEqual(len(ids), 1, state)
        self.assertEqual(state['state']['players'][ids[0]], {'name': name, 'x': 0, 'y': 0})
        return client, ids[0]

    async def test_state_goes_to_the_session_except_the_mover(self):
        ann, ann_id = await self.join('ann')
        bob, _ = await self.join('bob')
        carol, _ = await self.join('carol')
        for client, names in ((ann, ['bob', 'carol']), (bob, ['carol'])):
            for name in names:
                msg = await client.expect('player-joined')
                self.assertEqual(msg['player']['name'], name)
        dave, _ = await self.join('dave', session='s2')

        await ann.send({'type': 'player-move', 'move': {'dx': 1, 'dy': 1}})
        await ann.expect('move-accepted', moves=1, position={'x': 1, 'y': 1})
        for client in (bob, carol):
            state = await client.expect('game-state', sessionId='s1',
                                        lastMove={'player': ann_id, 'dx': 1, 'dy': 1})
            self.assertEqual(state['state']['moves'], 1)
            self.assertEqual(state['state']['players'][ann_id], {'name': 'ann', 'x': 1, 'y': 1})
            self.assertEqual(len(state['state']['players']), 3)
        await ann.assert_quiet()     # the mover does not get its own state broadcast
        await dave.assert_quiet()    # nor does another session

        await ann.send({'type': 'player-move', 'move': {'dx': -1, 'dy': 0}})
        await ann.send({'type': 'player-move', 'move': {'dx': -1, 'dy': 0}})   # the board's edge
        await ann.expect('move-accepted', moves=2, position={'x': 0, 'y': 1})
        await ann.expect('move-accepted', moves=3, position={'x': 0, 'y': 1})
        await bob.expect('game-state', lastMove={'player': ann_id, 'dx': -1, 'dy': 0})

    async def test_join_and_leave_notices(self):
        ann, _ = await self.join('ann')
        bob, bob_id = await self.join('bob')
        await ann.expect('player-joined', player={'id': bob_id, 'name': 'bob'})
        await bob.assert_quiet()     # not told of itself
        carol, carol_id = await self.join('carol')
        for client in (ann, bob):
            await client.expect('player-joined', player={'id': carol_id, 'name': 'carol'})

        await bob.close()
        for client in (ann, carol):
            await client.expect('player-left', player={'id': bob_id, 'name': 'bob'})
        carol.abort()                # gone without a close frame: left all the same
        await ann.expect('player-left', player={'id': carol_id, 'name': 'carol'})

        dave, _ = await self.join('dave')
        await ann.expect('player-joined')
        await dave.send({'type': 'player-move', 'move': {'dx': 1, 'dy': 0}})
        state = await ann.expect('game-state')
        self.assertEqual(sorted(p['name'] for p in state['state']['players'].values()),
                         ['ann', 'dave'])

    async def test_bad_moves_refused_game_goes_on(self):
        ann, ann_id = await self.join('ann')
        bob, _ = await self.join('bob')
        await ann.expect('player-joined')
        for message, details in (
                ({'type': 'player-move', 'move': {'dx': 2, 'dy': 0}},
                 {'type': 'player-move', 'pointer': '/move/dx', 'keyword': 'enum'}),
                ({'type': 'player-move'}, {'type': 'player-move', 'pointer': '', 'keyword': 'required'}),
                ({'type': 'player-move', 'move': {'dx': 0, 'dy': 0, 'teleport': True}},
                 {'type': 'player-move', 'pointer': '/move/teleport', 'keyword': 'additionalProperties'}),
                ({'type': 'player-jump'}, {'pointer': '/type', 'keyword': 'enum'})):
            with self.subTest(message=message):
                await ann.send(message)
                error = await ann.expect('error', code='validation', recoverable=True)
                self.assertEqual(error['details'], details)
        await bob.assert_quiet()     # none of them reached the session
        await ann.send({'type': 'player-move', 'move': {'dx': 0, 'dy': 1}})
        await ann.expect('move-accepted', moves=1, position={'x': 0, 'y': 1})
        await bob.expect('game-state', lastMove={'player': ann_id, 'dx': 0, 'dy': 1})

    async def test_session_and_player_checked_before_upgrade(self):
        ann, _ = await self.join('ann')
        for path in ('/ws/game/s1', '/ws/game/s1?player=', f'/ws/game/s1?player={"x" * 33}',
                     '/ws/game/a%20b?player=bob'):
            with self.subTest(path=path):
                status, _headers, body = await self.server.handshake(path)
                self.assertEqual(status, 400)
                self.assertEqual(json.loads(body)['code'], 'validation')
        await ann.assert_quiet()     # nobody joined
        bob, bob_id = await self.join('bob')
        await ann.expect('player-joined', player={'id': bob_id, 'name': 'bob'})


class MonitorTests(PatternTestCase):
    async def monitor(self, user='root'):
        client = await self.open('/ws/monitor', mint(self.secret, user, 'admin'))
        return client, (await client.expect('system-state'))['data']

    async def test_admin_gets_state_then_events(self):
        game = await self.open('/ws/game/s1?player=ann')
        monitor, state = await self.monitor()
        self.assertEqual(state['connections-open'], 2, state)     # the game and itself
        self.assertEqual(state['connections-accepted'], 2, state)

        stream = await self.open('/ws/stream')
        opened = await monitor.expect('system-event', event='connection-opened')
        self.assertEqual({k: opened['connection'][k] for k in ('module', 'path')},
                         {'module': 'stream', 'path': '/ws/stream'})
        await stream.close()
        await monitor.expect('system-event', event='connection-closed', code=1000,
                             connection=opened['connection'])
        await game.raw.ws.close(4000, 'done')
        closed = await monitor.expect('system-event', event='connection-closed', code=4000)
        self.assertEqual(closed['connection']['path'], '/ws/game/s1')

        other, _ = await self.monitor('admin2')
        opened = await monitor.expect('system-event', event='connection-opened')
        self.assertEqual(opened['connection']['module'], 'monitor')
        await other.assert_quiet()   # not told of itself
        await other.close()
        await monitor.expect('system-event', event='connection-closed', code=1000)

    async def test_non_admin_refused(self):
        monitor, _ = await self.monitor()
        for headers, status, code, message in (
                ({'Authorization': f'Bearer {mint(self.secret, "ann", "chat")}'}, 403,
                 'forbidden', 'A required scope is missing'),
                ({}, 401, 'auth-failed', 'Credentials required'),
                ({'Authorization': f'Bearer {mint(secrets.token_urlsafe(32), "eve", "admin")}'}, 401,
                 'auth-failed', 'Bad signature'),
                ({'Authorization': f'Bearer {mint(self.secret, "old", "admin", ttl=-60)}'}, 401,
                 'auth-failed', 'Token expired')):
            with self.subTest(status=status, message=message):
                got, _headers, body = await self.server.handshake('/ws/monitor', headers)
                self.assertEqual(got, status)
                self.assertEqual(json.loads(body), {'code': code, 'message': message})
        await monitor.assert_quiet()   # a refused upgrade never opened a connection
        await self.open('/ws/connection')
        opened = await monitor.expect('system-event', event='connection-opened')
        self.assertEqual(opened['connection']['module'], 'connection')


class ConnectionTests(PatternTestCase):
    async def test_established_with_id_and_server_time(self):
        monitor = await self.open('/ws/monitor', mint(self.secret, 'root', 'admin'))
        await monitor.expect('system-state')
        before = int(time.time() * 1000)
        first = await self.open('/ws/connection')
        second = await self.open('/ws/connection')
        one = await first.expect('connection-established')
        two = await second.expect('connection-established')
        after = int(time.time() * 1000)
        self.assertNotEqual(one['connectionId'], two['connectionId'])
        for msg in (one, two):
            self.assertLessEqual(before - 1000, msg['serverTime'], msg)
            self.assertLessEqual(msg['serverTime'], after + 1000, msg)
        # The id is owlsock's own: the monitor names the same one.
        for msg in (one, two):
            opened = await monitor.expect('system-event', event='connection-opened')
            self.assertEqual(opened['connection']['id'], msg['connectionId'])

    async def test_server_stats_periodic(self):
        first = await self.open('/ws/connection')
        await first.expect('connection-established')
        stats = [await first.expect('server-stats') for _ in range(2)]
        self.assertEqual([s['activeConnections'] for s in stats], [1, 1])
        self.assertLess(stats[0]['serverUptime'], stats[1]['serverUptime'])
        second = await self.open('/ws/connection')
        await second.expect('connection-established')
        for _ in range(10):   # those sent before the second one opened still say 1
            if (await first.expect('server-stats'))['activeConnections'] == 2:
                break
        else:
            self.fail('the stats never counted the second connection')
        self.assertEqual((await second.expect('server-stats'))['activeConnections'], 2)

    async def test_ping_answered_by_owlsock(self):
        client = await self.open('/ws/connection')
        await client.expect('connection-established')
        self.assertEqual(await client.ping('p1'), {'type': 'pong', 'id': 'p1'})
        self.assertEqual(await client.ping(), {'type': 'pong'})
        await client.expect('server-stats')   # the stream of stats goes on


class ErrorTests(PatternTestCase):
    async def failed(self, client, method, *args):
        with self.assertRaises(CallFailed) as failed:
            await client.call(method, *args)
        return failed.exception

    async def test_errors_carry_code_and_recoverable(self):
        client = await self.open('/ws/errors')
        self.assertEqual(await client.call('lookup', 'owl'), 'a bird that hunts at night')
        error = await self.failed(client, 'lookup', 'dragon')
        self.assertEqual((error.code, error.recoverable, error.payload),
                         ('not-found', True, "NotFoundError|||No entry for 'dragon'"))
        for args in ((42,), (), ('owl', 'sock')):
            error = await self.failed(client, 'lookup', *args)
            self.assertEqual((error.code, error.recoverable, error.payload),
                             ('invalid-argument', False, 'InvalidArgumentError|||lookup takes one string'))
        error = await self.failed(client, 'no-such-method')
        self.assertEqual((error.code, error.recoverable), ('unknown-method', True))
        self.assertEqual(await client.call('lookup', 'sock'), 'what keeps a foot warm')


class ErrorCrashTests(PatternTestCase):
    expected_log = r'secret\.conf'   # the operator sees what failed; the client does not

    async def test_unknown_failure_is_internal(self):
        client = await self.open('/ws/errors')
        other = await self.open('/ws/errors')
        error = await self.failed(client)
        self.assertEqual((error.code, error.recoverable, error.payload),
                         ('internal', False, 'InternalError|||Internal error'))
        self.assertNotIn('secret', json.dumps(error.frame))
        self.assertEqual(await client.call('lookup', 'owl'), 'a bird that hunts at night')
        self.assertEqual(await other.call('lookup', 'sock'), 'what keeps a foot warm')

    async def failed(self, client):
        with self.assertRaises(CallFailed) as failed:
            await client.call('crash')
        return failed.exception


class StopTests(PatternTestCase):
    async def test_sigterm_closes_every_pattern_with_1001(self):
        stream = await self.open('/ws/stream')
        await stream.send({'type': 'subscribe', 'channel': 'cpu'})
        await stream.expect('subscribed')
        clients = [stream, await self.open('/ws/game/s1?player=ann'),
                   await self.open('/ws/monitor', mint(self.secret, 'root', 'admin')),
                   await self.open('/ws/connection'), await self.open('/ws/errors')]
        self.server.signal()
        for client in clients:
            code, _reason = await client.closed()
            self.assertEqual(code, 1001)
        self.assertEqual(await self.server.wait(), 0)


class StartTests(unittest.IsolatedAsyncioTestCase):
    async def test_refuses_to_start_without_a_secret(self):
        env = {k: v for k, v in os.environ.items() if k != 'OWLSOCK_JWT_SECRET'}
        for extra, what in (({}, 'OWLSOCK_JWT_SECRET'), ({'OWLSOCK_JWT_SECRET': 'x' * 31}, '32 bytes')):
            with self.subTest(what=what):
                proc = await asyncio.create_subprocess_exec(
                    *owltest.server_command('patterns'), env=dict(env, **extra),
                    stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
                    stderr=asyncio.subprocess.PIPE)
                stdout, stderr = await bounded(proc.communicate(), 'the server to give up')
                self.assertNotEqual(proc.returncode, 0)
                self.assertEqual(stdout, b'')
                self.assertRegex(stderr.decode(), re.escape(what))


if __name__ == '__main__':
    sys.exit(owltest.main())
