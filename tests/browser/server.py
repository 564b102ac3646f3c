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
#   /ws/history/:room  no guard; a room with history spoken by hand, as issue 14's
#                wire has it: each publication led by "pos" (this process's epoch:
#                a restart loses the history, as the in-process broker does), a
#                `system` `joined` frame on each join, the `recover` query parameter
#                answered (replay, then `joined` with recovered and missed); calls:
#                "publish" (text: to the room, kept), "drop" (n: closes the room's
#                connections with 1012, then keeps n publications nobody got),
#                "asked" (every `recover` value this process was given)
#
#   server.py --port PORT --data DIR --origin http://127.0.0.1:PORT
# auth-expiry-notice is 2 s. Prints 'listening on PORT'; SIGTERM stops it.
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import argparse
import json
import os
import secrets
import sys

sys.dont_write_bytecode = True

import gi
gi.require_version('Json', '1.0')
gi.require_version('Owlsock', '1')
from gi.repository import GLib, Json, Owlsock

service = Owlsock.SocketService.new(None)
unanswered = []   # the "slow" calls, kept so that they stay unanswered
EPOCH = secrets.token_hex(4)
history = {}      # room -> [frame text], offset = index + 1
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


def history_frame(room, text):
    """Keeps a publication of @room and gives its frame, `pos` first as the server
    splices it."""
    kept = history.setdefault(room, [])
    pos = json.dumps({'room': room, 'offset': len(kept) + 1, 'epoch': EPOCH})
    kept.append('{"pos":' + pos + ',' + json.dumps({'type': 'note', 'text': text})[1:])
    return kept[-1]


def join_history(conn, room):
    """The replay a `recover` asks for, then `joined`."""
    kept = history.setdefault(room, [])
    payload = {'room': room, 'epoch': EPOCH, 'offset': len(kept)}
    value = conn.get_request().get_query_param('recover')
    if value is not None:
        asked.append(json.loads(value))
        since = asked[-1].get(room)
        ok = since is not None and since['epoch'] == EPOCH and since['offset'] <= len(kept)
        missed = kept[since['offset']:] if ok else []
        for text in missed:
            conn.send_text(text)
        payload.update(recovered=ok, missed=len(missed))
    conn.join(room)
    conn.send_text(json.dumps({'type': 'system', 'event': 'joined', 'payload': payload}))


def on_history_connection(module, conn):
    room = conn.get_request().get_param('room')

    def publish(conn, call):
        frame = history_frame(room, call.get_params_value()[0])
        for member in service.list_room_members(room):
            member.send_text(frame)
        call.return_value(len(history[room]))
        return True

    def drop(conn, call):
        members = service.list_room_members(room)
        for i in range(call.get_params_value()[0]):
            history_frame(room, f'missed {i + 1}')
        call.return_value(len(history[room]))
        for member in members:
            member.close(1012, 'restart')
        return True

    conn.connect('call::publish', publish)
    conn.connect('call::drop', drop)
    conn.connect('call::asked', lambda conn, call: call.return_value(node(asked)) or True)
    join_history(conn, room)


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
    news = Owlsock.Module(alias='history', path='/ws/history/:room', protocols=['owlsock'])
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
