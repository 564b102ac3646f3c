#!/usr/bin/python3
# server.py: the server the browser tests (test-browser.mjs) drive, speaking
# what the demo pages expect of owlsockd (data/owlsockd-demo.conf):
#
#   /            the files of data/web (owl_socket_service_serve_static)
#   /ws/chat/:room  JWT guard (HS256, OWLSOCK_TEST_JWT_SECRET, no leeway),
#                subprotocol "owlsock", browsers only from --origin; each
#                JSON object goes to the others in the room with
#                "from": {"user", "connection"}; calls: "members" (the users in
#                the room, sorted), "slow" (never answered: the client's timeout)
#   /ws/stats    no guard; {"type":"event","event":"stats","payload":<dup_stats>}
#                on connect and every 500 ms
#   /ws/history/:room  no guard; a module with history-size 100 (the in-process
#                broker: a restart loses the history); calls: "publish" (text:
#                {"type":"note","text":...} broadcast to the room), "drop" (n:
#                closes the room's connections with 1012, then broadcasts n notes
#                nobody gets), "asked" (every `recover` value this process was given)
#
#   server.py --port PORT --data DIR --origin http://127.0.0.1:PORT
# auth-expiry-notice is 2 s. Prints 'listening on PORT'; SIGTERM stops it.
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import argparse
import json
import os
import sys

sys.dont_write_bytecode = True

import gi
gi.require_version('Json', '1.0')
gi.require_version('Owlsock', '1')
from gi.repository import GLib, Json, Owlsock

service = Owlsock.SocketService.new(None)
unanswered = []   # the "slow" calls, kept so that they stay unanswered
asked = []        # the decoded `recover` values given to /ws/history


def node(obj):
    return Json.from_string(json.dumps(obj))


def on_chat_connection(module, conn):
    room = conn.get_request().get_param('room')

    def relay(conn, message):
        obj = json.loads(Json.to_string(message, False)) if isinstance(message, Json.Node) else message
        if not isinstance(obj, dict):
            return
        obj['from'] = {'user': conn.get_auth().get_user_id(), 'connection': conn.get_id()}
        service.broadcast(room, node(obj), conn)

    def members(conn, call):
        users = {c.get_auth().get_user_id() for c in service.list_room_members(room)}
        call.return_value(node(sorted(users)))
        return True

    def slow(conn, call):
        unanswered.append(call)
        return True

    conn.connect('message', relay)
    conn.connect('call::members', members)
    conn.connect('call::slow', slow)
    conn.join(room)


def on_history_connection(module, conn):
    room = conn.get_request().get_param('room')
    value = conn.get_request().get_query_param('recover')
    if value is not None:
        asked.append(json.loads(value))

    def note(text):
        service.broadcast(room, node({'type': 'note', 'text': text}), None)

    def publish(conn, call):
        note(call.get_params_value()[0])
        call.return_value(None)
        return True

    def drop(conn, call):
        call.return_value(None)  # before the close frame
        for member in service.list_room_members(room):
            member.close(1012, 'restart')
        for i in range(call.get_params_value()[0]):
            note(f'missed {i + 1}')
        return True

    conn.connect('call::publish', publish)
    conn.connect('call::drop', drop)
    conn.connect('call::asked', lambda conn, call: call.return_value(node(asked)) or True)
    conn.join(room)


def stats_frame():
    return node({'type': 'event', 'event': 'stats', 'payload': service.dup_stats().unpack()})


def push_stats():
    service.broadcast('stats', stats_frame(), None)
    return GLib.SOURCE_CONTINUE


def on_stats_connection(module, conn):
    conn.join('stats')
    conn.send(stats_frame())


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--port', type=int, default=0)
    parser.add_argument('--data', required=True)
    parser.add_argument('--origin', action='append', default=[])
    args = parser.parse_args()

    guard = Owlsock.JwtGuard.new()
    guard.add_secret(os.environ['OWLSOCK_TEST_JWT_SECRET'].encode())
    guard.props.leeway = 0
    service.props.auth_expiry_notice = 2
    service.add_guard('jwt', guard)

    chat = Owlsock.Module(alias='chat', path='/ws/chat/:room', guards=['jwt'],
                          protocols=['owlsock'], allowed_origins=args.origin)
    chat.connect('connection', on_chat_connection)
    stats = Owlsock.Module(alias='stats', path='/ws/stats', protocols=['owlsock'])
    stats.connect('connection', on_stats_connection)
    news = Owlsock.Module(alias='history', path='/ws/history/:room', protocols=['owlsock'],
                          history_size=100)
    news.connect('connection', on_history_connection)
    service.add_module(chat)
    service.add_module(stats)
    service.add_module(news)
    service.serve_static('/', args.data)
    GLib.timeout_add(500, push_stats)

    service.listen('127.0.0.1', args.port)
    print(f'listening on {service.get_port()}', flush=True)
    service.run(None)


if __name__ == '__main__':
    main()
