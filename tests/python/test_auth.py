#!/usr/bin/python3
# test_auth.py: a guard and a gate written in Python, beside the JWT guard,
# driven by real websockets clients (tests/python/test_auth_server.py is the
# server; each test starts its own)
#
#   /usr/bin/python3 tests/python/test_auth.py      (prints TAP)
#
# Tokens are minted here with PyJWT, another JWT implementation than owlsock's.
# The server runs with G_MESSAGES_DEBUG=all; when it has exited, no token
# minted by the test (nor its signature), no API key and not the secret may
# appear anywhere in what it wrote on stdout and stderr.
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import asyncio
import json
import os
import secrets
import signal
import sys
import time
import unittest
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parent))

import jwt
import websockets
import websockets.exceptions

import owltest
from owltest import Client, bounded

SERVER = Path(__file__).resolve().parent / 'test_auth_server.py'
KEYS = ['key-alice', 'key-bob', 'key-slow']
SECRET = object()  # mint(): sign with the server's secret


class AuthTestCase(unittest.IsolatedAsyncioTestCase):

    async def asyncSetUp(self):
        self.secret = secrets.token_urlsafe(32)
        self.minted = []
        self.clients = []
        env = dict(os.environ, OWLSOCK_TEST_JWT_SECRET=self.secret, G_MESSAGES_DEBUG='all')
        self.server = owltest.Server([owltest.PYTHON, str(SERVER)], env=env, merge_stderr=True)
        self.addAsyncCleanup(self.server.kill)
        await self.server.start()
        # Connected before anything is refused; it must not notice the refusals.
        self.bystander = await self.connect('/ws/echo', extra_headers={'X-Api-Key': 'key-bob'})

    async def asyncTearDown(self):
        for client in self.clients:
            await client.close()
        self.server.signal(signal.SIGTERM)
        self.assertEqual(await self.server.wait(), 0, 'exit status of the server')
        self.assert_no_secret_in_output()

    def assert_no_secret_in_output(self):
        output = b''.join(self.server.output).decode(errors='replace')
        self.assertIn('Owlsock-DEBUG', output, 'the server logged no debug line at all')
        for token in self.minted:
            self.assertNotIn(token, output, 'a token was logged')
            signature = token.rpartition('.')[2]
            if len(signature) > 8:
                self.assertNotIn(signature, output, "a token's signature was logged")
        for secret in KEYS + [self.secret]:
            self.assertNotIn(secret, output, 'an API key or the JWT secret was logged')

    def mint(self, sub, ttl=300, key=SECRET, algorithm='HS256', **claims):
        """A token from PyJWT, signed with the server's secret unless `key` says otherwise."""
        now = int(time.time())
        payload = dict({'sub': sub, 'iat': now, 'exp': now + ttl}, **claims)
        token = jwt.encode(payload, self.secret if key is SECRET else key, algorithm=algorithm)
        self.minted.append(token)
        return token

    async def connect(self, path, **kwargs):
        client = await Client.connect(self.server.url(path), **kwargs)
        self.clients.append(client)
        return client

    async def whoami(self, client):
        return await client.result('whoami')

    async def assert_echoes(self, client):
        await client.send({'type': 'echo', 'data': 'still here'})
        await client.expect('echo', data='still here')

    async def assert_refused(self, path, headers, status, code, message):
        """Refused by hand (to read the body), then by a websockets client; the bystander
        still works afterwards."""
        got_status, got_headers, body = await self.server.handshake(path, headers)
        self.assertEqual(got_status, status)
        self.assertEqual(json.loads(body), {'code': code, 'message': message})
        if status == 401:
            self.assertTrue(got_headers.get('www-authenticate', '').startswith('Bearer'), got_headers)
        with self.assertRaises(websockets.exceptions.InvalidStatusCode) as refused:
            await self.connect(path, extra_headers=headers)
        self.assertEqual(refused.exception.status_code, status)
        await self.assert_echoes(self.bystander)


class GuardTests(AuthTestCase):

    async def test_api_key_accepted(self):
        """The Python guard accepts a known key from the header or the query, after its
        asynchronous lookup; the connection carries the Auth it built."""
        client = await self.connect('/ws/echo', extra_headers={'X-Api-Key': 'key-alice'})
        await self.assert_echoes(client)
        self.assertEqual(await self.whoami(client),
                         {'userId': 'alice', 'scopes': ['chat', 'room:blue'], 'expiresAt': 0})
        client = await self.connect('/ws/echo?api_key=key-alice')
        self.assertEqual((await self.whoami(client))['userId'], 'alice')

    async def test_failing_call_handler_is_internal(self):
        """A call::METHOD handler that raises, or returns what is not a boolean, gets the
        client `internal` with nothing of the failure; a method nobody handles stays
        `unknown-method`; the connection goes on."""
        client = await self.connect('/ws/echo', extra_headers={'X-Api-Key': 'key-alice'})
        for method in ('boom', 'wrong-type'):
            id_ = await client.call(method)
            msg = await client.expect('error', id=id_, code='internal')
            self.assertEqual(msg['payload'], 'InternalError|||Internal error', msg)
            self.assertNotIn('detail', str(msg))
        id_ = await client.call('nobody-has-this')
        await client.expect('error', id=id_, code='unknown-method')
        self.assertEqual((await self.whoami(client))['userId'], 'alice')

    async def test_message_handler_by_type(self):
        """message::hello gets the messages of type hello only; plain message gets all."""
        client = await self.connect('/ws/echo', extra_headers={'X-Api-Key': 'key-alice'})
        await client.send({'type': 'other'})
        await client.expect('other')
        await client.send({'type': 'hello'})
        await client.expect('hello')
        await client.expect('hello-back')
        await client.ping()

    async def test_unknown_key_refused(self):
        await self.assert_refused('/ws/echo', {'X-Api-Key': 'key-mallory'},
                                  401, 'auth-failed', 'Unknown key')
        await self.assert_refused('/ws/echo?api_key=key-mallory', {},
                                  401, 'auth-failed', 'Unknown key')

    async def test_no_credentials_refused(self):
        await self.assert_refused('/ws/echo', {}, 401, 'auth-failed', 'Credentials required')
        await self.assert_refused('/ws/room/blue', {}, 401, 'auth-failed', 'Credentials required')

    async def test_pyjwt_token_accepted_three_ways(self):
        """An HS256 token from PyJWT, in the query, in Authorization: Bearer and as a
        subprotocol entry; the server selects "owlsock", never the token entry."""
        token = self.mint('carol', scope='chat room:red')
        expected = {'userId': 'carol', 'scopes': ['chat', 'room:red'],
                    'expiresAt': jwt.decode(token, self.secret, algorithms=['HS256'])['exp']}

        client = await self.connect(f'/ws/echo?token={token}')
        self.assertEqual(await self.whoami(client), expected)

        client = await self.connect('/ws/echo', extra_headers={'Authorization': f'Bearer {token}'})
        self.assertEqual(await self.whoami(client), expected)

        client = await self.connect('/ws/echo', subprotocols=['owlsock', f'owlsock.bearer.{token}'])
        self.assertEqual(client.ws.subprotocol, 'owlsock')
        self.assertEqual(await self.whoami(client), expected)
        await self.assert_echoes(client)

    async def test_bad_tokens_refused(self):
        bearer = lambda token: {'Authorization': f'Bearer {token}'}  # noqa: E731
        other_secret = secrets.token_urlsafe(32)
        cases = [
            (self.mint('carol', key=other_secret), 'Bad signature'),
            (self.mint('carol', ttl=-60), 'Token expired'),
            (self.mint('carol', key=None, algorithm='none'), 'Unsupported algorithm'),
            (self.mint('carol', nbf=int(time.time()) + 600), 'Token not yet valid'),
        ]
        for token, message in cases:
            with self.subTest(message=message):
                await self.assert_refused('/ws/echo', bearer(token), 401, 'auth-failed', message)

    async def test_lookup_cancelled_at_handshake_timeout(self):
        """A lookup that takes longer than the handshake timeout: the client gets 503, the
        attempt's cancellable fires (the Python guard answers from its handler), and the
        bystander keeps working."""
        refusal = asyncio.ensure_future(self.server.handshake('/ws/echo', {'X-Api-Key': 'key-slow'}))
        self.addCleanup(refusal.cancel)
        await self.bystander.expect('event', event='guard-waiting')
        status, _headers, body = await bounded(refusal, 'the refusal')
        self.assertEqual(status, 503)
        self.assertEqual(json.loads(body),
                         {'code': 'timeout', 'message': 'Authentication took too long'})
        await self.bystander.expect('event', event='guard-cancelled')
        await self.assert_echoes(self.bystander)


class GateTests(AuthTestCase):

    async def test_python_gate_allows_and_denies(self):
        client = await self.connect('/ws/room/blue', extra_headers={'X-Api-Key': 'key-alice'})
        await client.expect('welcome', room='blue', userId='alice')
        await self.assert_refused('/ws/room/red', {'X-Api-Key': 'key-alice'},
                                  403, 'forbidden', 'Not a member of this room')

        token = self.mint('carol', scope='room:red')
        client = await self.connect('/ws/room/red', extra_headers={'Authorization': f'Bearer {token}'})
        await client.expect('welcome', room='red', userId='carol')
        await self.assert_refused('/ws/room/blue', {'Authorization': f'Bearer {token}'},
                                  403, 'forbidden', 'Not a member of this room')


class RefreshTests(AuthTestCase):

    async def refresh(self, client, token, id_):
        await client.send({'type': 'auth', 'id': id_, 'stage': 'authenticate',
                           'payload': {'token': token}})
        return await client.recv()

    async def test_in_band_refresh(self):
        first = self.mint('carol', ttl=300, scope='chat')
        client = await self.connect(f'/ws/echo?token={first}')
        self.assertEqual((await self.whoami(client))['scopes'], ['chat'])

        renewed = self.mint('carol', ttl=3600, scope='chat room:red')
        answer = await self.refresh(client, renewed, 'r1')
        exp = jwt.decode(renewed, self.secret, algorithms=['HS256'])['exp']
        self.assertEqual(answer, {'type': 'auth', 'id': 'r1', 'stage': 'authenticated',
                                  'payload': {'userId': 'carol', 'scopes': ['chat', 'room:red'],
                                              'expiresAt': exp}})
        self.assertEqual(await self.whoami(client),
                         {'userId': 'carol', 'scopes': ['chat', 'room:red'], 'expiresAt': exp})

        # Another user's token: refused, carol stays carol.
        answer = await self.refresh(client, self.mint('dave', ttl=3600), 'r2')
        self.assertEqual([answer.get(k) for k in ('type', 'id', 'code')],
                         ['error', 'r2', 'forbidden'], answer)
        # A bad token: refused with the guard's reason.
        answer = await self.refresh(client, self.mint('carol', ttl=-60), 'r3')
        self.assertEqual([answer.get(k) for k in ('type', 'id', 'code')],
                         ['error', 'r3', 'auth-failed'], answer)
        self.assertTrue(answer['payload'].endswith('|||Token expired'), answer)
        self.assertEqual((await self.whoami(client))['expiresAt'], exp)
        await self.assert_echoes(client)

    async def test_expiry_notice_then_4001(self):
        """A token about to expire: system auth-expiring at once (inside the 60 s notice),
        close 4001 when exp passes; the bystander stays."""
        client = await self.connect('/ws/echo', extra_headers={
            'Authorization': f'Bearer {self.mint("carol", ttl=3)}'})
        notice = await client.expect('system', event='auth-expiring')
        self.assertLessEqual(notice['payload']['expiresIn'], 3)
        code, _reason = await client.closed()
        self.assertEqual(code, 4001)
        await self.assert_echoes(self.bystander)


if __name__ == '__main__':
    sys.exit(owltest.main())
