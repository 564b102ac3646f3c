#!/usr/bin/python3
# test_overrides_server.py: the server test_overrides.py talks to, written with
# the PyGObject overrides (bindings/python/gi/overrides/Owlsock.py): Python
# values where the C API takes a JsonNode, messages and events as Python values
#
#   OWLSOCK_TEST_JWT_SECRET=... test_overrides_server.py
#
# Modules:
#   json    /ws/json         no guard; every connection joins the room "all".
#     message "echo"         answered with send({"type": "echoed", "message": MSG,
#                            "types": {key: Python type name of MSG[key]}})
#     message "shout"        broadcast({"type": "shouted", "text": ...}) to "all" but the sender
#     message "node"         send() and broadcast() given a Json.Node (passed through)
#     message "bad"          send() of MSG["what"] made unconvertible: answered with
#                            {"type": "refused", "error": the exception's class, "message": its text}
#     message "ask"          call_async("add", [1, 2]) and request_async({"q": ...}) to the
#                            client; their answers come back as {"type": "answers", ...}
#     event "ping-me"        answered with notify_event("pong-me", PAYLOAD as Python values)
#     call "sum"             return_value({"sum": ..., "types": [...]}) of its params
#     call "notify"          notify_event("tick", {...}), then return_value() (null)
#     call "node"            return_value(Json.Node)
#     call "nan", "set"      return_value(float("nan")), return_value({1, 2}): the handler raises
#   claims  /ws/claims/:org  the JWT guard "jwt-str" (the secret given as a str);
#   keyed   /ws/keyed/:org   the JWT guard "jwt-bytes" (the secret reversed, as bytes, kid "k1");
#                            on both, the Python gate "org" lets in a token whose claim "org"
#                            is {"id": ORG}; sends {"type": "claims", ...} read with the overrides
# Prints 'listening on PORT'; SIGTERM stops it (exit 0).
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import os
import sys

sys.dont_write_bytecode = True

import gi
gi.require_version('Json', '1.0')
gi.require_version('Owlsock', '1')
from gi.repository import Json, Owlsock

import owlserve

service = Owlsock.SocketService.new(None)
UNCONVERTIBLE = {
    'nan': {'x': float('nan')},
    'inf': [1, float('-inf')],
    'int-key': {1: 'one'},
    'set': {'s': {1, 2}},
    'huge': 2 ** 64,
}


def types_of(message):
    return {key: type(value).__name__ for key, value in message.items()}


def on_echo(conn, message):
    conn.send({'type': 'echoed', 'message': message, 'types': types_of(message)})


def on_shout(conn, message):
    service.broadcast('all', {'type': 'shouted', 'text': message['text']}, except_conn=conn)


def on_node(conn, message):
    conn.send(Json.from_string('{"type": "node-sent", "n": 1.0}'))
    service.broadcast('all', Json.from_string('{"type": "node-broadcast"}'))


def on_bad(conn, message):
    try:
        conn.send({'type': 'should-not-arrive', 'value': UNCONVERTIBLE[message['what']]})
    except (TypeError, ValueError) as e:
        conn.send({'type': 'refused', 'error': type(e).__name__, 'message': str(e)})


def on_ask(conn, message):
    answers = {}

    def done():
        if len(answers) == 2:
            conn.send({'type': 'answers', **answers})

    def called(conn, result):
        answers['call'] = Owlsock.to_python(conn.call_finish(result))
        done()

    def responded(conn, result):
        answers['request'] = Owlsock.to_python(conn.request_finish(result))
        done()

    conn.call_async('add', [1, 2], 0, None, called)
    conn.request_async({'q': message['q']}, 0, None, responded)


def on_ping_me(conn, event, payload):
    conn.notify_event('pong-me', {'got': payload, 'event': event})


def on_sum(conn, call):
    params = call.get_params_value()
    call.return_value({'sum': sum(params), 'types': [type(p).__name__ for p in params]})
    return True


def on_notify(conn, call):
    conn.notify_event('tick', {'n': 1, 'f': 1.0, 'big': 2 ** 62, 'none': None})
    call.return_value()
    return True


def on_node_call(conn, call):
    call.return_value(Json.from_string('[1, "two"]'))
    return True


def on_unconvertible_call(conn, call):
    call.return_value(float('nan') if call.get_method() == 'nan' else {1, 2})
    return True


def on_json_connection(module, conn):
    conn.join('all')
    conn.connect_message(on_echo, type='echo')
    conn.connect_message(on_shout, type='shout')
    conn.connect_message(on_node, type='node')
    conn.connect_message(on_bad, type='bad')
    conn.connect_message(on_ask, type='ask')
    conn.connect_event(on_ping_me, event='ping-me')
    conn.connect('call::sum', on_sum)
    conn.connect('call::notify', on_notify)
    conn.connect('call::node', on_node_call)
    conn.connect('call::nan', on_unconvertible_call)
    conn.connect('call::set', on_unconvertible_call)


class OrgGate(Owlsock.Gate):
    """Lets a token in when its claim org is {"id": ORG} for /ws/claims/ORG."""

    def do_authorize(self, attempt):
        org = attempt.get_auth().get_claim_value('org', {})
        if str(org.get('id')) == attempt.get_request().get_param('org'):
            attempt.accept(None)
        else:
            attempt.reject(Owlsock.Error.FORBIDDEN, 'Not in this organisation')


def on_claims_connection(module, conn):
    auth = conn.get_auth()
    conn.send({'type': 'claims', 'claims': auth.claims, 'sub': auth.get_claim_value('sub'),
               'org': auth.get_claim_value('org'), 'roles': auth.get_claim_value('roles'),
               'missing': auth.get_claim_value('missing', 'default')})


def main():
    secret = os.environ['OWLSOCK_TEST_JWT_SECRET']
    str_guard = Owlsock.JwtGuard.new()
    str_guard.add_secret(secret)                         # a str: its UTF-8 bytes
    bytes_guard = Owlsock.JwtGuard.new()
    bytes_guard.add_secret(secret.encode()[::-1], kid='k1')   # bytes, with a key id

    service.add_guard('jwt-str', str_guard)
    service.add_guard('jwt-bytes', bytes_guard)
    service.add_gate('org', OrgGate())

    json_module = Owlsock.Module(alias='json', path='/ws/json')
    json_module.connect('connection', on_json_connection)
    service.add_module(json_module)
    for alias, guard in (('claims', 'jwt-str'), ('keyed', 'jwt-bytes')):
        module = Owlsock.Module(alias=alias, path=f'/ws/{alias}/:org', guards=[guard], gates=['org'])
        module.connect('connection', on_claims_connection)
        service.add_module(module)

    owlserve.serve(service)


if __name__ == '__main__':
    main()
