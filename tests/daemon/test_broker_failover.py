#!/usr/bin/python3
# test_broker_failover.py: three owlsockd processes share one port
# (reuse-port) and one Redis; the node holding an OwlSocketClient is killed
# with SIGKILL, the client reconnects through the same address to another
# node, and recovers what was published while it was away, in order and
# once (multinode.py; needs the Redis broker, skips without it).
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import json
import sys
import unittest

import gi
try:
    gi.require_version('Owlsock', '1')
    from gi.repository import Owlsock  # noqa: E402
except (ImportError, ValueError):
    Owlsock = None  # a build without introspection (the sanitizer build)

from daemontest import main, wait_for  # noqa: E402
from multinode import Redis, free_port, node_config, start_nodes  # noqa: E402
from test_broker import Workdir  # noqa: E402

sys.dont_write_bytecode = True


@unittest.skipIf(Owlsock is None, 'OwlSocketClient needs the Owlsock typelib (introspection is off)')
class Failover(Workdir):
    HEARTBEAT = 1

    def setUp(self):
        super().setUp()
        self.redis = Redis(self.dir).start()
        self.addCleanup(self.redis.stop)
        self.port = free_port()
        extra = 'history-size=100\npresence=true\n'
        self.nodes = start_nodes(self, self.dir, [
            (name, node_config(name, self.redis.port, listen=f'127.0.0.1:{self.port}', reuse_port=True,
                               heartbeat=self.HEARTBEAT, broker_extra=extra))
            for name in ('n1', 'n2', 'n3')])
        wait_for(lambda: all(n.stats().get('broker', {}).get('connected') for n in self.nodes),
                 'every node connected to Redis')

    def holder(self, candidates):
        """The node the client is connected to, among `candidates`."""
        holding = [n for n in candidates if n.ids()]
        return holding[0] if len(holding) == 1 else None

    def open_client(self, room, reconnect=True):
        client = Owlsock.SocketClient.new(f'ws://127.0.0.1:{self.port}/ws/chat/{room}')
        # Backoff of 1 s: the test publishes its two messages well before.
        client.props.reconnect = reconnect
        client.props.reconnect_min_delay = 1000
        client.props.reconnect_max_delay = 1000
        self.frames, self.recovered, self.states = [], [], []
        client.connect_message(lambda c, message: self.frames.append(message))
        client.connect('recovered', lambda c, r, ok, missed: self.recovered.append((r, ok, missed)))
        client.connect('notify::state', lambda c, _: self.states.append(c.get_state()))
        self.addCleanup(client.close, Owlsock.CLOSE_NORMAL, None)
        client.open()
        return client

    def joined(self, n):
        wait_for(lambda: len([f for f in self.frames if f.get('event') == 'joined']) >= n, f'joined frame {n}')

    def test_a_killed_nodes_client_recovers_on_another_node(self):
        client = self.open_client('h')
        self.joined(1)
        holder = self.holder(self.nodes)
        self.assertIsNotNone(holder, 'one node holds the client')
        others = [n for n in self.nodes if n is not holder]
        channel = 'owlsock.room.h'
        wait_for(lambda: self.redis.command('PUBSUB', 'NUMSUB', channel)[1] == 1, f'{channel} subscribed')

        # Published from a node without a member of the room: still recorded.
        others[0].broadcast('h', json.dumps({'type': 'news', 'n': 1}))
        wait_for(lambda: any(f.get('n') == 1 for f in self.frames), 'news 1')
        first = next(f for f in self.frames if f.get('n') == 1)
        self.assertEqual(list(first)[0], 'pos')
        epoch, start = first['pos']['epoch'], first['pos']['offset']  # after the presence-join

        holder.kill9()
        wait_for(lambda: Owlsock.SocketClientState.RECONNECTING in self.states, 'the client to notice')
        for n in (2, 3):
            others[n - 2].broadcast('h', json.dumps({'type': 'news', 'n': n}))
        wait_for(lambda: self.recovered, 'the recovered signal')
        wait_for(lambda: [f.get('n') for f in self.frames if f.get('type') == 'news'] == [1, 2, 3],
                 'news 2 and 3 after news 1')
        # The replay: whatever the room published after news 1 until the
        # second join (news 2 and 3, and presence notices), then `joined`.
        rejoin = [i for i, f in enumerate(self.frames) if f.get('event') == 'joined'][1]
        replay = [f for f in self.frames[self.frames.index(first) + 1:rejoin]]
        self.assertEqual(self.recovered, [('h', True, len(replay))], self.frames)
        self.assertEqual([f.get('n') for f in replay if f.get('type') == 'news'], [2, 3])
        self.assertEqual(self.frames[rejoin]['payload']['recovered'], True)
        news = [f for f in self.frames if f.get('type') == 'news']
        self.assertEqual([f['pos']['offset'] for f in news], [start, start + 1, start + 2])
        self.assertEqual({f['pos']['epoch'] for f in news}, {epoch})
        self.assertIsNotNone(self.holder(others), 'another node holds the client now')

        # And live again: once, after the replay.
        others[1].broadcast('h', json.dumps({'type': 'news', 'n': 4}))
        wait_for(lambda: [f.get('n') for f in self.frames if f.get('type') == 'news'] == [1, 2, 3, 4],
                 'news 4 live')

    def test_a_history_too_short_for_the_gap_says_not_recovered(self):
        # Reopened by hand once everything is published: no race with a backoff.
        client = self.open_client('s', reconnect=False)
        self.joined(1)
        holder = self.holder(self.nodes)
        others = [n for n in self.nodes if n is not holder]
        wait_for(lambda: self.redis.command('PUBSUB', 'NUMSUB', 'owlsock.room.s')[1] == 1, 'subscribed')
        others[0].broadcast('s', json.dumps({'type': 'news', 'n': 0}))
        wait_for(lambda: any(f.get('n') == 0 for f in self.frames), 'news 0')
        holder.kill9()
        wait_for(lambda: client.get_state() == Owlsock.SocketClientState.CLOSED, 'the client to close')
        # The stream keeps 100: 150 more push the gap out of it.
        for n in range(1, 151):
            others[n % 2].broadcast('s', json.dumps({'type': 'news', 'n': n}))
        client.open()
        wait_for(lambda: self.recovered, 'the recovered signal')
        self.assertEqual(self.recovered, [('s', False, 0)])
        self.assertEqual(client.get_state(), Owlsock.SocketClientState.CONNECTED)
        self.assertEqual([f.get('n') for f in self.frames if f.get('type') == 'news'], [0])


if __name__ == '__main__':
    unittest.main = main
    main()
