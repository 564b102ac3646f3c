#!/usr/bin/python3
# test_examples.py: the echo, chat and secure-chat examples, driven by real WebSocket clients
#
#   /usr/bin/python3 tests/python/test_examples.py --runtime python   # examples/python/*.py
#   /usr/bin/python3 tests/python/test_examples.py --runtime gjs      # examples/gjs/*.js
#   /usr/bin/python3 tests/python/test_examples.py --runtime c        # build/examples/*
#
# The same test bodies run against both; each test starts its own server on a
# free port and ends by sending it SIGTERM, which must stop it with status 0.
#
# secure-chat (C and Python only) takes HS256 tokens minted here with PyJWT.
#
# Ordering note: the server handles one connection's frames in order and sends on
# one queue per connection, so a ping round trip is a barrier: whatever the server
# was going to send a client before the ping arrives before the pong. Tests use it
# to show that something was *not* sent, without sleeping.
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import asyncio
import json
import os
import secrets
import shutil
import signal
import sys
import tempfile
import time
import unittest
from pathlib import Path

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import jwt  # noqa: E402
import owltest  # noqa: E402
from owltest import ServerTestCase, bounded  # noqa: E402


class StopTests:
    """SIGTERM -> service.run() stops the service: every client sees close code 1001, then the process exits 0."""

    async def test_sigterm_closes_clients_with_1001(self):
        clients = [await self.open_client('first'), await self.open_client('second')]
        self.server.signal()
        for client in clients:
            code, _reason = await client.closed()
            self.assertEqual(code, 1001)
        self.assertEqual(await self.server.wait(), 0)


class EchoTests(StopTests, ServerTestCase):
    example = 'echo'

    async def open_client(self, _name=None):
        return await self.connect('/ws/echo')

    async def test_echo_returns_the_same_json(self):
        client = await self.open_client()
        messages = [
            {'type': 'hello', 'n': 1, 'nested': {'list': [1, 2.5, 'x', None, True, False]}},
            {'content': 'no type, still a message: h\u00e9llo \u2713 \U0001f989'},
            {'type': 'big', 'data': 'x' * 10000},
            {'type': 'empty', 'payload': {}},
        ]
        for message in messages:
            await client.send(message)
        for message in messages:
            self.assertEqual(await client.recv(), message)

    async def test_events_come_back_as_events(self):
        client = await self.open_client()
        await client.send({'type': 'event', 'event': 'tick', 'payload': {'n': 1, 'at': [0.5]}})
        await client.expect('event', event='tick', payload={'n': 1, 'at': [0.5]})
        await client.send({'type': 'event', 'event': 'bare'})
        msg = await client.expect('event', event='bare')
        self.assertIsNone(msg.get('payload'), msg)

    async def test_ping_answered_with_pong_and_not_delivered_as_message(self):
        client = await self.open_client()
        await client.send({'type': 'ping'})
        await client.expect('pong')
        await client.send({'type': 'after-ping'})
        await client.expect('after-ping')  # had the ping reached `message`, its echo came first

    async def test_call_returns_result(self):
        client = await self.open_client()
        self.assertEqual(await client.result('echo', 1, 'two', {'three': [3]}),
                         [1, 'two', {'three': [3]}])
        self.assertEqual(await client.result('echo'), [])
        self.assertEqual(await client.result('sum', 1, 2), 3)         # answered from a timeout
        self.assertEqual(await client.result('sum', 1.5, 2), 3.5)

    async def test_calls_in_flight_answered_by_id(self):
        client = await self.open_client()
        ids = {await client.call('sum', 40, 2): 42,                   # answered later
               await client.call('echo', 'now'): ['now']}             # answered at once
        answers = {}
        for _ in ids:
            msg = await client.recv()
            self.assertEqual(msg['type'], 'result', msg)
            answers[msg['id']] = msg['payload']
        self.assertEqual(answers, ids)

    async def test_call_error_from_handler(self):
        client = await self.open_client()
        id_ = await client.call('sum', 1, 'two')
        msg = await client.expect('error', id=id_, code='invalid-argument')
        error_type, _, text = msg['payload'].partition('|||')
        self.assertTrue(error_type, msg)
        self.assertEqual(text, 'sum takes numbers', msg)
        self.assertEqual(await client.result('sum', 2, 2), 4)         # and the connection goes on

    async def test_unknown_method_answered_with_error(self):
        client = await self.open_client()
        id_ = await client.call('no-such-method', 1)
        msg = await client.expect('error', id=id_, code='unknown-method', recoverable=True)
        self.assertTrue(msg['payload'].startswith('UnknownMethodError|||'), msg)
        await client.ping()

    async def test_malformed_text_answered_with_error_then_connection_works(self):
        client = await self.open_client()
        for text in ['this is not json', '{"type": "half', '[1, 2, 3]', '"just a string"']:
            await client.send_text(text)
            msg = await client.expect('error', code='malformed')
            self.assertIsNone(msg.get('id'), msg)
        await client.send({'type': 'still-here'})
        await client.expect('still-here')
        self.assertEqual(await client.result('echo', 'ok'), ['ok'])

    async def test_unknown_paths_rejected_with_404(self):
        self.assertEqual(await self.server.handshake_status('/ws/echo'), 101)
        for path in ['/ws/nope', '/ws/echo/extra', '/ws', '/']:
            with self.subTest(path=path):
                self.assertEqual(await self.server.handshake_status(path), 404)


class ChatTests(StopTests, ServerTestCase):
    example = 'chat'

    async def open_client(self, name, room='lobby'):
        """Joins `room` as `name` and reads the welcome."""
        client = await self.connect(f'/ws/chat/{room}?name={name}')
        await client.expect('welcome', room=room, name=name)
        return client

    async def test_room_broadcast_reaches_the_room_except_sender(self):
        alice = await self.open_client('alice')
        bob = await self.open_client('bob')
        await alice.expect('presence', event='join', sender='bob')
        carol = await self.open_client('carol')
        for client in (alice, bob):
            await client.expect('presence', event='join', sender='carol')
        dave = await self.open_client('dave', room='kitchen')

        await alice.send({'type': 'chat-message', 'content': 'hello, lobby \u2615'})
        for client in (bob, carol):
            await client.expect('room-message', room='lobby', sender='alice',
                                content='hello, lobby \u2615')
        await alice.ping()  # not to the sender, and dave's join stayed in the kitchen
        await dave.ping()   # not to another room

        await bob.send({'type': 'chat-message', 'content': 'hi alice'})
        await alice.expect('room-message', sender='bob', content='hi alice')
        await carol.expect('room-message', sender='bob', content='hi alice')
        await bob.ping()

    async def test_presence_leave_on_close(self):
        alice = await self.open_client('alice')
        bob = await self.open_client('bob')
        await alice.expect('presence', event='join', sender='bob')
        self.assertEqual(await alice.result('members'), ['alice', 'bob'])

        await bob.close()
        await alice.expect('presence', event='leave', sender='bob')
        self.assertEqual(await alice.result('members'), ['alice'])

    async def test_presence_leave_when_peer_vanishes(self):
        alice = await self.open_client('alice')
        bob = await self.open_client('bob')
        await alice.expect('presence', event='join', sender='bob')

        bob.ws.transport.abort()  # TCP gone, no close frame
        await alice.expect('presence', event='leave', sender='bob')
        self.assertEqual(await alice.result('members'), ['alice'])

    async def test_params_and_query_are_decoded(self):
        client = await self.connect('/ws/chat/caf%C3%A9?name=J%C3%BCrgen%20K%26co&x=1')
        await client.expect('welcome', room='caf\u00e9', name='J\u00fcrgen K&co')
        client = await self.connect('/ws/chat/lobby?name=ann+lee')   # form encoding: + is a space
        await client.expect('welcome', room='lobby', name='ann lee')
        client = await self.connect('/ws/chat/lobby')
        await client.expect('welcome', room='lobby', name='anonymous')

    async def test_names_that_are_not_text_refused(self):
        """A room or name that does not decode to UTF-8 text is refused before the handler
        runs (400, naming it), so no member's client gets an invalid text frame and closes."""
        alice = await self.open_client('alice')
        for path, what in [('/ws/chat/lobby?name=%ff%fe', "Query parameter 'name'"),
                           ('/ws/chat/lobby?name=a%00b', "Query parameter 'name'"),
                           ('/ws/chat/%ff%fe?name=bob', "Route parameter 'room'")]:
            with self.subTest(path=path):
                status, _, body = await self.server.handshake(path)
                self.assertEqual(status, 400)
                self.assertEqual(json.loads(body),
                                 {'code': 'malformed', 'message': f'{what} is not valid UTF-8 text'})
        bob = await self.open_client('bob')
        await alice.expect('presence', event='join', sender='bob')
        await alice.send({'type': 'chat-message', 'content': 'still here'})
        await bob.expect('room-message', sender='alice', content='still here')

    async def test_typing_event_reaches_the_room(self):
        alice = await self.open_client('alice')
        bob = await self.open_client('bob')
        await alice.expect('presence', event='join', sender='bob')

        await alice.send({'type': 'event', 'event': 'typing', 'payload': True})
        await bob.expect('event', event='typing', payload={'sender': 'alice'})
        await alice.ping()

    async def test_unknown_paths_rejected_with_404(self):
        self.assertEqual(await self.server.handshake_status('/ws/chat/lobby'), 101)
        for path in ['/ws/chat', '/ws/chat/a/b', '/ws/chatroom/a']:
            with self.subTest(path=path):
                self.assertEqual(await self.server.handshake_status(path), 404)


def mint(secret, sub, scope='chat', ttl=300):
    now = int(time.time())
    claims = {'sub': sub, 'scope': scope, 'iat': now, 'exp': now + ttl}
    return jwt.encode(claims, secret, algorithm='HS256')


def bearer(token):
    return {'Authorization': f'Bearer {token}'}


def skip_unless_c_or_python(test):
    if owltest.RUNTIME not in ('c', 'python'):
        test.skipTest('secure-chat has C and Python versions only')


class SecureChatTests(StopTests, ServerTestCase):
    """The chat and the monitor behind the JWT guard; the secret in OWLSOCK_JWT_SECRET."""

    example = 'secure-chat'
    server_args = ('--stats-interval', '1')

    async def asyncSetUp(self):
        skip_unless_c_or_python(self)
        self.secret = secrets.token_urlsafe(32)
        self.server_env = dict(os.environ, OWLSOCK_JWT_SECRET=self.secret)
        await super().asyncSetUp()

    async def open_client(self, user, room='lobby', scope='chat'):
        """Joins `room` as `user` with a token in Authorization and reads the welcome."""
        token = mint(self.secret, user, scope)
        client = await self.connect(f'/ws/chat/{room}', extra_headers=bearer(token))
        await client.expect('welcome', room=room, userId=user)
        return client

    async def assert_refused(self, path, headers, status, code, message):
        got_status, _headers, body = await self.server.handshake(path, headers)
        self.assertEqual(got_status, status)
        self.assertEqual(json.loads(body), {'code': code, 'message': message})

    async def stats_result(self, monitor):
        """The answer to a stats call, past the stats events pushed meanwhile."""
        id_ = await monitor.call('stats')
        while (msg := await monitor.recv()).get('type') == 'event':
            self.assertEqual(msg.get('event'), 'stats', msg)
        self.assertEqual((msg.get('type'), msg.get('id')), ('result', id_), msg)
        return msg['payload']

    async def test_chat_sender_is_the_token_subject(self):
        alice = await self.open_client('alice')
        bob = await self.open_client('bob')
        carol = await self.open_client('carol', room='kitchen')

        await alice.send({'type': 'chat-message', 'content': 'hello, bob'})
        await bob.expect('room-message', room='lobby', sender='alice', content='hello, bob')
        await bob.send({'type': 'chat-message', 'content': 'hi alice'})
        await alice.expect('room-message', room='lobby', sender='bob', content='hi alice')
        await alice.ping()  # not to the sender ...
        await bob.ping()
        await carol.ping()  # ... nor to another room

    async def test_forged_sender_is_overwritten(self):
        alice = await self.open_client('alice')
        bob = await self.open_client('bob')
        await alice.send({'type': 'chat-message', 'content': 'it was bob',
                          'sender': 'bob', 'userId': 'bob'})
        msg = await bob.expect('room-message', sender='alice', content='it was bob')
        self.assertNotIn('userId', msg)

    async def test_chat_message_schema(self):
        alice = await self.open_client('alice')
        bob = await self.open_client('bob')
        for message, pointer, keyword in (
                ({'type': 'chat-message'}, '', 'required'),
                ({'type': 'chat-message', 'content': 5}, '/content', 'type'),
                ({'type': 'chat-message', 'content': 'x' * 2001}, '/content', 'maxLength'),
                ({'type': 'shout', 'content': 'hi'}, '/type', 'const')):
            await alice.send(message)
            error = await alice.expect('error', code='validation')
            self.assertEqual(error['details'], {'pointer': pointer, 'keyword': keyword})
        await bob.ping()  # none of them reached the room
        await alice.send({'type': 'chat-message', 'content': 'valid'})
        await bob.expect('room-message', sender='alice', content='valid')

    async def test_token_in_query_and_subprotocol(self):
        token = mint(self.secret, 'dave')
        client = await self.connect(f'/ws/chat/lobby?token={token}')
        await client.expect('welcome', userId='dave')
        client = await self.connect('/ws/chat/lobby',
                                    subprotocols=['owlsock', f'owlsock.bearer.{token}'])
        self.assertEqual(client.ws.subprotocol, 'owlsock')
        await client.expect('welcome', userId='dave')

    async def test_chat_refused_without_a_valid_token(self):
        alice = await self.open_client('alice')
        await self.assert_refused('/ws/chat/lobby', {}, 401, 'auth-failed', 'Credentials required')
        await self.assert_refused('/ws/chat/lobby', bearer(mint(secrets.token_urlsafe(32), 'mallory')),
                                  401, 'auth-failed', 'Bad signature')
        await self.assert_refused('/ws/chat/lobby', bearer(mint(self.secret, 'alice', ttl=-60)),
                                  401, 'auth-failed', 'Token expired')
        await alice.ping()

    async def test_monitor_refused_without_admin(self):
        await self.assert_refused('/ws/monitor', bearer(mint(self.secret, 'alice', 'chat')),
                                  403, 'forbidden', 'A required scope is missing')
        await self.assert_refused('/ws/monitor', {}, 401, 'auth-failed', 'Credentials required')

    async def test_monitor_stats_for_admin(self):
        alice = await self.open_client('alice')
        await self.assert_refused('/ws/monitor', bearer(mint(self.secret, 'alice', 'chat')),
                                  403, 'forbidden', 'A required scope is missing')
        admin_token = mint(self.secret, 'root', 'chat admin')
        monitor = await self.connect('/ws/monitor', extra_headers=bearer(admin_token))

        stats = await self.stats_result(monitor)
        self.assertEqual(stats['connections-open'], 2, stats)
        self.assertEqual(stats['connections-accepted'], 2, stats)
        # Every reason is listed, at 0 unless it happened.
        refused = {reason: n for reason, n in stats['rejected'].items() if n}
        self.assertEqual(refused, {'gate': 1}, stats)
        self.assertGreaterEqual(stats['messages-out'], 1, stats)   # alice's welcome

        pushed = await monitor.expect('event', event='stats')   # --stats-interval 1
        self.assertEqual(pushed['payload']['connections-open'], 2, pushed)
        await alice.ping()


class SecureChatStartTests(unittest.IsolatedAsyncioTestCase):
    """The secret: from --secret-file or OWLSOCK_JWT_SECRET, and never shorter than 32 bytes."""

    async def asyncSetUp(self):
        skip_unless_c_or_python(self)
        self.dir = Path(tempfile.mkdtemp(prefix='owlsock-secure-chat-'))
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.env = {k: v for k, v in os.environ.items() if k != 'OWLSOCK_JWT_SECRET'}

    def secret_file(self, content):
        path = self.dir / 'secret.txt'
        path.write_bytes(content)
        return str(path)

    async def refused(self, args, env):
        proc = await asyncio.create_subprocess_exec(
            *owltest.server_command('secure-chat', args=args), env=env, stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        stdout, stderr = await bounded(proc.communicate(), 'the server to give up')
        self.assertNotEqual(proc.returncode, 0)
        self.assertEqual(stdout, b'')
        return stderr.decode()

    async def test_refuses_short_or_missing_secret(self):
        stderr = await self.refused([], dict(self.env, OWLSOCK_JWT_SECRET='x' * 31))
        self.assertIn('at least 32 bytes', stderr)
        # 31 bytes and the newline an editor adds: still 31
        stderr = await self.refused(['--secret-file', self.secret_file(b'y' * 31 + b'\n')], self.env)
        self.assertIn('at least 32 bytes', stderr)
        stderr = await self.refused([], self.env)
        self.assertIn('OWLSOCK_JWT_SECRET', stderr)

    async def test_secret_file(self):
        secret = secrets.token_urlsafe(32)
        # Saved by a CRLF editor: one newline, dropped as owlsockd and owlsock-token drop it.
        path = self.secret_file(secret.encode() + b'\r\n')
        server = owltest.Server(owltest.server_command('secure-chat', args=['--secret-file', path]),
                                env=self.env)
        self.addAsyncCleanup(server.kill)
        await server.start()
        client = await owltest.Client.connect(server.url('/ws/chat/lobby'),
                                              extra_headers=bearer(mint(secret, 'erin')))
        await client.expect('welcome', userId='erin')
        await client.close()
        server.signal(signal.SIGTERM)
        self.assertEqual(await server.wait(), 0)


if __name__ == '__main__':
    sys.exit(owltest.main())
