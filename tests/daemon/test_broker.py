#!/usr/bin/python3
# test_broker.py: owlsockd's [broker] group and reuse-port, and rooms across
# owlsockd processes through one Redis (multinode.py).
#
# The tests of several nodes over Redis need the Redis broker; in a build
# without it owlsockd refuses type=redis at start, and they SKIP saying so.
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import json
import subprocess
import tempfile
import time
import unittest
from pathlib import Path

from daemontest import OWLSOCKD, TIMEOUT, Client, DaemonTestCase, GLib, Soup, main, run_for, wait_for
from multinode import NO_REDIS, Node, Redis, free_port, node_config, resp_command, start_nodes

GOOD_BROKER = '''[broker]
type=redis
address=127.0.0.1:6379
prefix=app
heartbeat=2
node=node-a
presence=true
history-size=100
history-ttl=60
'''
MODULE = '[module chat]\npath=/ws/chat/:room\nbehaviour=room\n'


class Workdir(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)
        self.dir = Path(self.tmp.name)
        self.session = Soup.Session.new()
        self.clients = []
        self.addCleanup(self._close_clients)

    def _close_clients(self):
        for client in self.clients:
            if client.ws is not None and client.ws.get_state() == Soup.WebsocketState.OPEN:
                client.ws.close(1000, None)

    def check(self, text):
        path = self.dir / 'owlsockd.conf'
        path.write_text(text)
        return subprocess.run([OWLSOCKD, '--check-config', str(path)], capture_output=True, text=True,
                              timeout=TIMEOUT)

    def client(self, node, path):
        client = Client(self.session, f'ws://127.0.0.1:{node.port}{path}')
        self.clients.append(client)
        return client.wait_open()


class BrokerConfig(Workdir):
    def test_a_full_broker_group_passes(self):
        result = self.check('[service]\nlisten=127.0.0.1:0\nreuse-port=true\n' + GOOD_BROKER + MODULE)
        self.assertEqual(result.returncode, 0, result.stderr)
        result = self.check('[broker]\ntype=redis\naddress=/run/redis/redis.sock\n' + MODULE)
        self.assertEqual(result.returncode, 0, result.stderr)
        result = self.check('[broker]\ntype=local\nnode=x\n' + MODULE)
        self.assertEqual(result.returncode, 0, result.stderr)

    def test_every_bad_value_names_its_key(self):
        cases = [
            ('[broker]\ntype=memcached\n', ':2: [broker] type: "memcached" is not local or redis'),
            ('[broker]\ntype=redis\n', ':2: [broker] type: type=redis needs an address'),
            ('[broker]\naddress=127.0.0.1:6379\n', ':2: [broker] address: only for type=redis'),
            ('[broker]\ntype=redis\naddress=nowhere\n', ':3: [broker] address: "nowhere" is not HOST:PORT'),
            ('[broker]\ntype=redis\naddress=127.0.0.1:0\n', ':3: [broker] address: "127.0.0.1:0" is not'),
            ('[broker]\ntype=redis\naddress=redis://h:1\n', ':3: [broker] address: "redis://h:1" is not'),
            ('[broker]\ntype=redis\naddress=u@h:1\n', ':3: [broker] address: "u@h:1" is not'),
            ('[broker]\nheartbeat=0\n', ':2: [broker] heartbeat: "0" is out of range'),
            ('[broker]\nheartbeat=3601\n', ':2: [broker] heartbeat: "3601" is out of range'),
            ('[broker]\nheartbeat=soon\n', ':2: [broker] heartbeat: "soon" is not a whole number'),
            ('[broker]\nnode=\n', ':2: [broker] node: a value is required'),
            ('[broker]\nprefix=\n', ':2: [broker] prefix: a value is required'),
            ('[broker]\npresence=maybe\n', ':2: [broker] presence: "maybe" is not true or false'),
            ('[broker]\nhistory-size=100001\n', ':2: [broker] history-size: "100001" is out of range'),
            ('[broker]\nhistory-size=-1\n', ':2: [broker] history-size: "-1" may not be negative'),
            ('[broker]\nhistory-ttl=0\n', ':2: [broker] history-ttl: "0" is out of range'),
            ('[broker]\ncolour=blue\n', ':2: [broker] colour: unknown key'),
            ('[service]\nbroker=redis://127.0.0.1:6379\n', ':2: [service] broker: set in [broker]'),
            ('[service]\nnode-name=n\n', ':2: [service] node-name: set in [broker]'),
            ('[service]\nreuse-port=maybe\n', ':2: [service] reuse-port: "maybe" is not true or false'),
        ]
        for text, expected in cases:
            with self.subTest(text=text):
                result = self.check(text + MODULE)
                self.assertEqual(result.returncode, 1, result.stderr)
                self.assertIn(f'owlsockd.conf{expected}', result.stderr)
                self.assertEqual(len(result.stderr.strip().split('\n')), 1, result.stderr)

    def test_redis_without_support_is_refused_at_start(self):
        node = Node(self.dir, 'n1', node_config('n1', redis_port=free_port()))
        self.addCleanup(node.stop)
        code = node.start()
        if code is None:
            self.skipTest('this owlsockd has Redis support')
        self.assertEqual(code, 1)
        self.assertIn(NO_REDIS, node.log())
        self.assertIn('redis://127.0.0.1:', node.log())


class BrokerReload(DaemonTestCase):
    """A reload with other [broker] module defaults replaces the modules;
    one with other broker settings keeps them (a restart applies those)."""

    CONFIG = '[service]\nlisten=127.0.0.1:0\n[broker]\nnode=a\nhistory-size=10\n' + MODULE

    def test_module_defaults_replace_modules_broker_settings_do_not(self):
        chat = self.connect('/ws/chat/lobby')
        self.write_config(self.CONFIG.replace('node=a', 'node=b')
                          .replace('[service]\n', '[service]\nreuse-port=true\n'))
        self.call('Reload')
        second = self.connect('/ws/chat/lobby')
        self.wait_connections(2)
        self.assertIsNone(chat.close_code)
        self.write_config(self.CONFIG.replace('history-size=10', 'history-size=20'))
        self.call('Reload')
        self.assertEqual(chat.wait_closed(), 1001)
        self.assertEqual(second.wait_closed(), 1001)
        self.connect('/ws/chat/lobby')


class ReusePort(Workdir):
    def served_by(self, nodes, path='/ws/echo'):
        """Connects until every node has served a client (64 tries: a chance
        of 3 * (2/3)^64 that one never gets any); returns the tries."""
        for tries in range(1, 65):
            client = self.client(nodes[0], path)
            client.send({'type': 'x', 'n': tries})
            client.wait_frames(1)
            if all(len(node.ids()) > 0 for node in nodes):
                return tries
        self.fail(f'connections per node: {[len(node.ids()) for node in nodes]}')

    def test_three_processes_share_one_port(self):
        first = start_nodes(self, self.dir, [('a', node_config('a', reuse_port=True))])[0]
        listen = f'127.0.0.1:{first.port}'
        others = start_nodes(self, self.dir, [(name, node_config(name, listen=listen, reuse_port=True))
                                              for name in ('b', 'c')])
        nodes = [first] + others
        self.assertEqual({node.port for node in nodes}, {first.port})
        self.served_by(nodes)

    def test_without_reuse_port_the_second_cannot_listen(self):
        first = start_nodes(self, self.dir, [('a', node_config('a', reuse_port=True))])[0]
        second = Node(self.dir, 'b', node_config('b', listen=f'127.0.0.1:{first.port}'))
        self.addCleanup(second.stop)
        self.assertEqual(second.start(), 1)
        self.assertIn('Address already in use', second.log())
        # The first serves on.
        client = self.client(first, '/ws/echo')
        client.send({'type': 'still'})
        self.assertEqual(client.wait_frames(1), {'type': 'still'})

    def test_local_brokers_do_not_share_rooms(self):
        """Without Redis each process has its own rooms: what the Redis tests
        below change."""
        a, b = start_nodes(self, self.dir, [(n, node_config(n)) for n in ('a', 'b')])
        on_a = self.client(a, '/ws/chat/lobby')
        on_b = self.client(b, '/ws/chat/lobby')
        b.broadcast('lobby', json.dumps({'type': 'from-b'}))
        self.assertEqual(on_b.wait_frames(1)['type'], 'from-b')
        run_for(300)
        self.assertEqual(on_a.frames, [])


class RedisFixture(Workdir):
    """The fixture on its own: Redis on a free port, restart on the same
    port, SIGSTOP."""

    def test_redis_starts_restarts_and_pauses(self):
        redis = Redis(self.dir).start()
        self.addCleanup(redis.stop)
        self.assertTrue(redis.ping())
        redis.command('SET', 'k', 'v')
        port = redis.port
        redis.restart()
        self.assertEqual(redis.port, port)
        self.assertIsNone(redis.command('GET', 'k'))      # no persistence
        redis.pause()
        with self.assertRaises(OSError):
            resp_command(redis.port, 'PING', timeout=0.5)
        redis.resume()
        self.assertTrue(redis.ping())

    def test_a_taken_port_gives_another(self):
        first = Redis(self.dir).start()
        self.addCleanup(first.stop)
        with self.assertRaises(AssertionError):
            Redis(self.dir).start(port=first.port)
        second = Redis(self.dir).start()
        self.addCleanup(second.stop)
        self.assertNotEqual(second.port, first.port)


class Cluster(Workdir):
    """Three owlsockd nodes and one Redis (skipped without the Redis broker)."""

    HEARTBEAT = 1
    BROKER_EXTRA = ''

    def setUp(self):
        super().setUp()
        self.redis = Redis(self.dir).start()
        self.addCleanup(self.redis.stop)
        self.nodes = start_nodes(self, self.dir, [
            (name, node_config(name, self.redis.port, heartbeat=self.HEARTBEAT, broker_extra=self.BROKER_EXTRA))
            for name in ('n1', 'n2', 'n3')])

    def members(self, room, n_per_node=1):
        """Clients in `room`, n_per_node on each node, in node order."""
        clients = [self.client(node, f'/ws/chat/{room}') for node in self.nodes for _ in range(n_per_node)]
        # Every node connected to Redis and subscribed to the room: before
        # that, a publication crosses to nobody (at most once, counted).
        wait_for(lambda: all(self.broker_stats(node).get('connected') for node in self.nodes),
                 'every node connected to Redis')
        channel = f'owlsock.room.{room}'
        wait_for(lambda: self.redis.command('PUBSUB', 'NUMSUB', channel)[1] == len(self.nodes),
                 f'{len(self.nodes)} subscribers of {channel}')
        return clients

    def broker_stats(self, node):
        return node.stats().get('broker', {})


class AcrossNodes(Cluster):
    def test_broadcast_from_each_node_reaches_every_member_once_in_order(self):
        clients = self.members('r')
        count = 20
        for index, client in enumerate(clients):
            for n in range(count):
                client.send({'type': 'm', 'src': index, 'n': n})
        for index, node in enumerate(self.nodes):
            node.broadcast('r', json.dumps({'type': 'bus', 'src': f'bus{index}'}))
        for index, client in enumerate(clients):
            # The room relays to the others: 2 senders x count, plus 3 bus broadcasts.
            client.wait_frames(2 * count + 3)
            run_for(200)
            relayed = [f for f in client.frames if f['type'] == 'm']
            self.assertEqual(len(client.frames), 2 * count + 3, client.frames)
            for src in range(len(clients)):
                seq = [f['n'] for f in relayed if f['src'] == src]
                self.assertEqual(seq, [] if src == index else list(range(count)), f'client {index} from {src}')
            self.assertEqual(sorted(f['src'] for f in client.frames if f['type'] == 'bus'), ['bus0', 'bus1', 'bus2'])

    def test_a_node_killed_with_sigkill_leaves_the_others_working(self):
        clients = self.members('k')
        self.nodes[2].kill9()
        self.nodes[0].broadcast('k', json.dumps({'type': 'after'}))
        self.assertEqual(clients[1].wait_frames(1)['type'], 'after')
        self.assertEqual(clients[0].wait_frames(1)['type'], 'after')

    def test_redis_restarted_subscriptions_come_back_and_nothing_spins(self):
        clients = self.members('x')
        self.redis.stop()
        cpu = [node.cpu_seconds() for node in self.nodes]
        self.nodes[0].broadcast('x', json.dumps({'type': 'while-away'}))
        # Local delivery goes on; the cross-node ones are counted as failed.
        self.assertEqual(clients[0].wait_frames(1)['type'], 'while-away')
        run_for(2000)
        for node, before in zip(self.nodes, cpu):
            self.assertLess(node.cpu_seconds() - before, 0.5, f'{node.name} spins while Redis is away')
        wait_for(lambda: self.broker_stats(self.nodes[0]).get('failed', 0) > 0, 'failed deliveries counted')
        self.redis.start(self.redis.port)

        def delivered():
            self.nodes[0].broadcast('x', json.dumps({'type': 'back'}))
            run_for(100)
            return any(f['type'] == 'back' for f in clients[2].frames)
        wait_for(delivered, 'n3 hears n1 again after the restart', timeout=4 * TIMEOUT)
        wait_for(lambda: all(self.broker_stats(n).get('reconnects', 0) >= 1 for n in self.nodes),
                 'reconnects counted')

    def test_a_paused_redis_is_noticed_by_the_liveness_probe(self):
        self.members('p')
        wait_for(lambda: self.broker_stats(self.nodes[0]).get('connected') is True, 'connected')
        self.redis.pause()
        wait_for(lambda: self.broker_stats(self.nodes[0]).get('connected') is False,
                 'the probe to notice', timeout=4 * self.HEARTBEAT + TIMEOUT)
        self.redis.resume()
        wait_for(lambda: self.broker_stats(self.nodes[0]).get('connected') is True, 'connected again',
                 timeout=2 * TIMEOUT)


class PresenceAcrossNodes(Cluster):
    BROKER_EXTRA = 'presence=true\n'

    def presence_events(self, client, event):
        return [f['payload'] for f in client.frames if f.get('type') == 'system' and f.get('event') == event]

    def test_presence_is_the_union_and_a_dead_node_leaves_within_two_heartbeats(self):
        first = self.client(self.nodes[0], '/ws/chat/pr')
        self.client(self.nodes[1], '/ws/chat/pr')
        self.client(self.nodes[2], '/ws/chat/pr')
        wait_for(lambda: {p['node'] for p in self.presence_events(first, 'presence-join')} >= {'n2', 'n3'},
                 'presence-join from n2 and n3')
        prefix = 'owlsock'
        key = f'{prefix}.presence-data.pr'
        self.assertEqual({json.loads(v)['node'] for v in self.redis.command('HVALS', key)}, {'n1', 'n2', 'n3'})
        # The bus API answers the union from any node.
        for node in self.nodes:
            members = json.loads(node.call('GetPresence', 'sa{sv}', ('pr', {}))[0])
            self.assertEqual(sorted(m['node'] for m in members), ['n1', 'n2', 'n3'])
            self.assertEqual({tuple(sorted(m)) for m in members}, {('id', 'node', 'user')}, members)
        self.assertEqual(json.loads(self.nodes[0].call('GetPresence', 'sa{sv}', ('nobody', {}))[0]), [])
        for args, error in ((('', {}), 'InvalidArgs'), (('pr', {'x': GLib.Variant('s', '')}), 'InvalidArgs')):
            with self.assertRaisesRegex(GLib.Error, error):
                self.nodes[0].call('GetPresence', 'sa{sv}', args)
        self.nodes[2].kill9()
        killed = time.monotonic()

        def n3_gone():
            members = json.loads(self.nodes[0].call('GetPresence', 'sa{sv}', ('pr', {}))[0])
            return sorted(m['node'] for m in members) == ['n1', 'n2']
        wait_for(n3_gone, "n3's members to expire", timeout=2 * self.HEARTBEAT + TIMEOUT)
        self.assertLess(time.monotonic() - killed, 2 * self.HEARTBEAT + 1.5)


if __name__ == '__main__':
    GLib.set_prgname('test_broker')
    main()
