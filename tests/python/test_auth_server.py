#!/usr/bin/python3
# test_auth_server.py: the server test_auth.py talks to, with a guard and a
# gate written in Python beside the built-in JWT guard
#
#   OWLSOCK_TEST_JWT_SECRET=... test_auth_server.py
#
# Guards: "apikey" (KeyGuard below: an X-Api-Key header or an api_key query
# param, looked up asynchronously) and "jwt" (HS256, the secret from the
# environment, no leeway). Modules:
#   echo  /ws/echo        guards apikey, jwt    echoes every message; a call
#                                              "whoami" answers {userId, scopes, expiresAt}
#   room  /ws/room/:room  the same guards, and the gate "member" (RoomGate below):
#                         only users holding the scope "room:<room>"; sends
#                         {"type":"welcome","room":...,"userId":...}
# The key "key-slow" is never found: its lookup waits for the attempt's
# cancellable (the handshake timeout is 1 s), and the echo clients hear
# "guard-waiting" when it starts and "guard-cancelled" when it is cancelled.
# Prints 'listening on PORT'; SIGTERM stops it (exit 0).
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import json
import os
import sys

sys.dont_write_bytecode = True

import gi
gi.require_version('Json', '1.0')
gi.require_version('Owlsock', '1')
from gi.repository import GLib, GObject, Json, Owlsock

import owlserve

LOOKUP_MS = 20   # what the "database" takes to answer

# The "database": API key -> (user id, scopes).
KEYS = {
    'key-alice': ('alice', ['chat', 'room:blue']),
    'key-bob': ('bob', ['chat']),
}
SLOW_KEY = 'key-slow'

service = Owlsock.SocketService.new(None)


def node(obj):
    return Json.from_string(json.dumps(obj))


def tell_echo_clients(event, payload):
    service.broadcast('echo', node({'type': 'event', 'event': event, 'payload': payload}), None)


class KeyGuard(Owlsock.Guard):
    """API keys, from a header or a query param, looked up later as a database would."""

    @staticmethod
    def key_of(request):
        return request.get_header('X-Api-Key') or request.get_query_param('api_key')

    def do_match(self, request):
        return self.key_of(request) is not None

    def do_authenticate(self, attempt):
        key = self.key_of(attempt.get_request())
        if key == SLOW_KEY:
            self.wait_for_cancel(attempt)
            return

        def found():
            if attempt.get_cancellable().is_cancelled():
                attempt.reject(Owlsock.Error.AUTH_FAILED, 'Cancelled')  # ignored, but answered
            elif key in KEYS:
                user, scopes = KEYS[key]
                attempt.accept(Owlsock.Auth(user_id=user, scopes=scopes, expires_at=0))
            else:
                attempt.reject(Owlsock.Error.AUTH_FAILED, 'Unknown key')
            return GLib.SOURCE_REMOVE

        GLib.timeout_add(LOOKUP_MS, found)

    def wait_for_cancel(self, attempt):
        cancellable = attempt.get_cancellable()

        def cancelled(_cancellable):
            attempt.reject(Owlsock.Error.AUTH_FAILED, 'Cancelled')
            GObject.signal_handler_disconnect(cancellable, handler)
            tell_echo_clients('guard-cancelled', {})

        # GObject.Object.connect: Gio.Cancellable.connect is g_cancellable_connect()
        handler = GObject.Object.connect(cancellable, 'cancelled', cancelled)
        tell_echo_clients('guard-waiting', {})


class RoomGate(Owlsock.Gate):
    """Lets a user into /ws/room/ROOM when they hold the scope room:ROOM; decides later."""

    def do_authorize(self, attempt):
        room = attempt.get_request().get_param('room')
        auth = attempt.get_auth()

        def decide():
            if auth.has_scope(f'room:{room}'):
                attempt.accept(None)
            else:
                attempt.reject(Owlsock.Error.FORBIDDEN, 'Not a member of this room')
            return GLib.SOURCE_REMOVE

        GLib.idle_add(decide)


def auth_json(auth):
    return {'userId': auth.get_user_id(), 'scopes': list(auth.get_scopes() or []),
            'expiresAt': auth.get_expires_at()}


def on_echo_connection(module, conn):
    def on_whoami(conn, call):
        call.return_value(node(auth_json(conn.get_auth())))
        return True

    def on_boom(conn, call):
        raise RuntimeError('a detail the client must not see')

    def on_wrong_type(conn, call):
        return {'not': 'a boolean'}    # PyGObject cannot return this: the handler fails

    conn.connect('message', lambda conn, message: conn.send(message))
    conn.connect('call::whoami', on_whoami)
    conn.connect('call::boom', on_boom)
    conn.connect('call::wrong-type', on_wrong_type)
    # Only messages of type "hello": answered besides the plain echo above.
    conn.connect('message::hello', lambda conn, message: conn.send(node({'type': 'hello-back'})))
    conn.join('echo')


def on_room_connection(module, conn):
    room = conn.get_request().get_param('room')
    conn.join(room)
    conn.send(node({'type': 'welcome', 'room': room, 'userId': conn.get_auth().get_user_id()}))


def main():
    secret = os.environ['OWLSOCK_TEST_JWT_SECRET'].encode()
    jwt_guard = Owlsock.JwtGuard.new()
    jwt_guard.add_secret(secret)
    jwt_guard.props.leeway = 0   # expiresAt is the token's exp

    service.props.handshake_timeout = 1   # how long key-slow waits
    service.add_guard('apikey', KeyGuard())
    service.add_guard('jwt', jwt_guard)
    service.add_gate('member', RoomGate())

    echo = Owlsock.Module(alias='echo', path='/ws/echo', guards=['apikey', 'jwt'])
    echo.connect('connection', on_echo_connection)
    room = Owlsock.Module(alias='room', path='/ws/room/:room', guards=['apikey', 'jwt'],
                          gates=['member'])
    room.connect('connection', on_room_connection)
    service.add_module(echo)
    service.add_module(room)

    owlserve.serve(service)


if __name__ == '__main__':
    main()
