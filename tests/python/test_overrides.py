#!/usr/bin/python3
# test_overrides.py: the PyGObject overrides (bindings/python/gi/overrides/Owlsock.py)
# from a real server (tests/python/test_overrides_server.py, one per test) and real
# websockets clients; the conversions themselves in process; the overrides found in
# the build tree and installed under gi/overrides
#
#   /usr/bin/python3 tests/python/test_overrides.py      (prints TAP)
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parent))

import gi
gi.require_version('Json', '1.0')
gi.require_version('Owlsock', '1')
from gi.repository import Json, Owlsock

import jwt

import owltest

SERVER = Path(__file__).resolve().parent / 'test_overrides_server.py'
OVERRIDE = Path('gi') / 'overrides' / 'Owlsock.py'


class ServerTestCase(unittest.IsolatedAsyncioTestCase):

    async def asyncSetUp(self):
        self.secret = secrets.token_urlsafe(32)
        self.clients = []
        env = dict(os.environ, OWLSOCK_TEST_JWT_SECRET=self.secret)
        self.server = owltest.Server([owltest.PYTHON, str(SERVER)], env=env)
        self.addAsyncCleanup(self.server.kill)
        await self.server.start()
        # Joins "all" first; must see every broadcast and nothing else go wrong.
        self.bystander = await self.connect('/ws/json')

    async def asyncTearDown(self):
        for client in self.clients:
            await client.close()
        self.server.signal(signal.SIGTERM)
        self.assertEqual(await self.server.wait(), 0, 'exit status of the server')

    async def connect(self, path, **kwargs):
        client = await owltest.Client.connect(self.server.url(path), **kwargs)
        self.clients.append(client)
        return client


class SendTests(ServerTestCase):

    async def test_messages_arrive_as_python_values_and_send_takes_them(self):
        client = await self.connect('/ws/json')
        message = {'type': 'echo', 'i': 3, 'f': 2.0, 'big': 2 ** 63 - 1, 'b': False, 'n': None,
                   's': 'é', 'list': [1, [2.5]], 'obj': {'k': {}}}
        await client.send(message)
        got = await client.expect('echoed')
        self.assertEqual(got['message'], message)
        self.assertIsInstance(got['message']['f'], float, '2.0 stays a float both ways')
        self.assertEqual(got['types'], {'type': 'str', 'i': 'int', 'f': 'float', 'big': 'int',
                                        'b': 'bool', 'n': 'NoneType', 's': 'str', 'list': 'list',
                                        'obj': 'dict'})

    async def test_broadcast_takes_python_values_and_except_conn(self):
        client = await self.connect('/ws/json')
        await client.send({'type': 'shout', 'text': 'hello'})
        self.assertEqual(await self.bystander.expect('shouted'), {'type': 'shouted', 'text': 'hello'})
        await client.ping()     # the sender, left out, got nothing before its pong

    async def test_json_node_passes_through(self):
        client = await self.connect('/ws/json')
        await client.send({'type': 'node'})
        got = await client.expect('node-sent')
        self.assertIsInstance(got['n'], float)
        await client.expect('node-broadcast')
        await self.bystander.expect('node-broadcast')

    async def test_unconvertible_values_raise_in_the_handler(self):
        client = await self.connect('/ws/json')
        expected = {'nan': ('ValueError', 'nan'), 'inf': ('ValueError', "-inf (at ['value'][1])"),
                    'int-key': ('TypeError', 'key 1 of the dict'), 'set': ('TypeError', "set at ['value']['s']"),
                    'huge': ('ValueError', '64 bits')}
        for what, (error, words) in expected.items():
            with self.subTest(what=what):
                await client.send({'type': 'bad', 'what': what})
                got = await client.expect('refused', error=error)
                self.assertIn(words, got['message'])
        # Nothing half-sent: the connection goes on.
        await client.send({'type': 'echo'})
        await client.expect('echoed')

    async def test_events_both_ways(self):
        client = await self.connect('/ws/json')
        await client.send({'type': 'event', 'event': 'ping-me', 'payload': {'a': [1, 2.5]}})
        got = await client.expect('event', event='pong-me')
        self.assertEqual(got['payload'], {'got': {'a': [1, 2.5]}, 'event': 'ping-me'})
        result_id = await client.call('notify')
        tick = await client.expect('event', event='tick')
        self.assertEqual(tick['payload'], {'n': 1, 'f': 1.0, 'big': 2 ** 62, 'none': None})
        self.assertIsInstance(tick['payload']['f'], float)
        self.assertIsNone((await client.expect('result', id=result_id))['payload'])

    async def test_call_and_request_from_the_server(self):
        client = await self.connect('/ws/json')
        await client.send({'type': 'ask', 'q': 'why'})
        answered = set()
        while answered != {'call', 'request'}:
            msg = await client.recv()
            if msg['type'] == 'call':
                self.assertEqual((msg['method'], msg['payload']), ('add', [1, 2]))
                await client.send({'type': 'result', 'id': msg['id'], 'payload': {'sum': 3}})
                answered.add('call')
            else:
                self.assertEqual(msg['type'], 'request')
                self.assertEqual(msg['payload'], {'q': 'why'})
                await client.send({'type': 'response', 'id': msg['id'], 'payload': ['because']})
                answered.add('request')
        got = await client.expect('answers')
        self.assertEqual((got['call'], got['request']), ({'sum': 3}, ['because']))


class CallTests(ServerTestCase):

    async def test_return_value_takes_python_values(self):
        client = await self.connect('/ws/json')
        self.assertEqual(await client.result('sum', 1, 2.5, 3),
                         {'sum': 6.5, 'types': ['int', 'float', 'int']})

    async def test_return_value_takes_a_json_node(self):
        client = await self.connect('/ws/json')
        self.assertEqual(await client.result('node'), [1, 'two'])

    async def test_unconvertible_result_answers_internal(self):
        client = await self.connect('/ws/json')
        for method in ('nan', 'set'):
            with self.subTest(method=method):
                id_ = await client.call(method)
                got = await client.expect('error', id=id_, code='internal')
                self.assertEqual(got['payload'], 'InternalError|||Internal error')
        self.assertEqual((await client.result('sum', 1))['sum'], 1)   # the connection goes on


class ClaimsTests(ServerTestCase):

    def mint(self, key, **headers):
        claims = {'sub': 'alice', 'exp': int(time.time()) + 300, 'org': {'id': 7, 'name': 'Owls'},
                  'roles': ['admin', 'chat']}
        return jwt.encode(claims, key, algorithm='HS256', headers=headers or None)

    async def test_str_secret_and_claims_as_python_values(self):
        client = await self.connect('/ws/claims/7?token=' + self.mint(self.secret))
        got = await client.expect('claims')
        self.assertEqual(got['claims']['org'], {'id': 7, 'name': 'Owls'})
        self.assertEqual(got['claims']['roles'], ['admin', 'chat'])
        self.assertEqual((got['sub'], got['org'], got['roles'], got['missing']),
                         ('alice', {'id': 7, 'name': 'Owls'}, ['admin', 'chat'], 'default'))

    async def test_bytes_secret_with_kid(self):
        key = self.secret.encode()[::-1]
        client = await self.connect('/ws/keyed/7?token=' + self.mint(key, kid='k1'))
        self.assertEqual((await client.expect('claims'))['sub'], 'alice')
        # Signed with the str guard's secret: not this guard's key.
        status = await self.server.handshake_status('/ws/keyed/7?token=' + self.mint(self.secret, kid='k1'))
        self.assertEqual(status, 401)

    async def test_python_gate_reads_a_nested_claim(self):
        status = await self.server.handshake_status('/ws/claims/8?token=' + self.mint(self.secret))
        self.assertEqual(status, 403)
        await self.bystander.ping()


class ConversionTests(unittest.TestCase):
    """Owlsock.to_node / to_python in process."""

    def test_round_trip_keeps_int_and_float(self):
        value = {'i': -2 ** 63, 'f': 1.0, 'tiny': 5e-324, 'a': [None, True, 'x', (1, 2)]}
        back = Owlsock.to_python(Owlsock.to_node(value))
        self.assertEqual(back, dict(value, a=[None, True, 'x', [1, 2]]))
        self.assertIsInstance(back['f'], float)
        self.assertIs(back['a'][1], True)

    def test_node_passes_through_unchanged(self):
        node = Json.from_string('{"a": 1}')
        self.assertIs(Owlsock.to_node(node), node)
        self.assertIsNone(Owlsock.to_python(None))

    def test_refusals_name_where(self):
        cycle = []
        cycle.append(cycle)
        for value, error, words in [({'a': [float('nan')]}, ValueError, "['a'][0]"),
                                    (2 ** 63, ValueError, '64 bits'),
                                    ({('t',): 1}, TypeError, 'key'),
                                    (object(), TypeError, 'cannot convert object'),
                                    (cycle, ValueError, 'contains itself')]:
            with self.subTest(value=repr(value)[:20]):
                with self.assertRaises(error) as caught:
                    Owlsock.to_node(value)
                self.assertIn(words, str(caught.exception))

    def test_auth_claims_from_a_dict(self):
        auth = Owlsock.Auth(user_id='u', claims={'sub': 'u', 'n': [1.5]})
        self.assertEqual(auth.claims, {'sub': 'u', 'n': [1.5]})
        self.assertEqual(auth.get_claim_value('n'), [1.5])
        self.assertIsNone(Owlsock.Auth(user_id='v').claims)

    def test_add_secret_forms(self):
        guard = Owlsock.JwtGuard.new()
        self.assertTrue(guard.add_secret('s' * 32))
        self.assertTrue(guard.add_secret(bytearray(b'b' * 32), kid='k1'))
        self.assertTrue(guard.add_secret(None, b'c' * 32))     # the C argument order
        with self.assertRaises(TypeError):
            guard.add_secret(32)
        with self.assertRaises(gi.repository.GLib.Error):
            guard.add_secret('short')

    def test_schema_takes_python_values(self):
        schema = Owlsock.Schema.new_from_node({'type': 'object', 'required': ['a']})
        self.assertTrue(schema.validate({'a': 1}))
        with self.assertRaises(gi.repository.GLib.Error):
            schema.validate({})


class PlacementTests(unittest.TestCase):

    def test_picked_up_from_the_build_tree(self):
        module = sys.modules['gi.overrides.Owlsock']
        self.assertEqual(Path(module.__file__),
                         owltest.BUILD_ROOT / 'bindings' / 'python' / OVERRIDE)
        self.assertIs(Owlsock.Connection, module.Connection)

    def test_installed_under_gi_overrides(self):
        meson = shutil.which('meson')
        if meson is None:
            self.skipTest('meson is not on PATH')
        with tempfile.TemporaryDirectory() as destdir:
            subprocess.run([meson, 'install', '-C', str(owltest.BUILD_ROOT), '--no-rebuild', '--quiet',
                            '--destdir', destdir, '--tags', 'python-runtime'],
                           check=True, capture_output=True, timeout=60)
            installed = [p for p in Path(destdir).rglob('Owlsock.py')]
            self.assertEqual(len(installed), 1, installed)
            site = installed[0].parents[2]
            self.assertEqual(installed[0], site / OVERRIDE)
            self.assertEqual(installed[0].read_bytes(),
                             (owltest.SOURCE_ROOT / 'bindings' / 'python' / OVERRIDE).read_bytes())
            # From there (and not the build tree), PyGObject loads it.
            env = dict(os.environ, PYTHONPATH=str(site), PYTHONDONTWRITEBYTECODE='1')
            found = subprocess.run([owltest.PYTHON, '-c',
                                    'import gi, sys; gi.require_version("Owlsock", "1"); '
                                    'from gi.repository import Owlsock; '
                                    'print(sys.modules["gi.overrides.Owlsock"].__file__)'],
                                   env=env, check=True, capture_output=True, text=True, timeout=30)
            self.assertEqual(Path(found.stdout.strip()), installed[0])


if __name__ == '__main__':
    sys.exit(owltest.main())
