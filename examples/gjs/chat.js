#!/usr/bin/gjs
// chat.js: chat rooms with presence, after the chat example of @owlmeans/server-socket.
//
//   gjs examples/gjs/chat.js --port 8080
//   clients connect to ws://127.0.0.1:8080/ws/chat/<room>?name=<name> and send
//   {"type": "chat-message", "content": "hi"}
//
// SPDX-License-Identifier: LGPL-2.1-or-later

imports.gi.versions.Owlsock = '1';
const {Json, Owlsock} = imports.gi;

function option(name, fallback) {
    const i = ARGV.indexOf(`--${name}`);
    return i >= 0 && i + 1 < ARGV.length ? ARGV[i + 1] : fallback;
}

const service = Owlsock.SocketService.new(null);
const node = obj => Json.from_string(JSON.stringify(obj));
const nameOf = conn => conn.get_request().get_query_param('name') ?? 'anonymous';

function onConnection(module, conn) {
    const room = conn.get_request().get_param('room');
    const name = nameOf(conn);

    conn.connect('message::chat-message', (c, message) => {  // only {"type": "chat-message"}
        const msg = JSON.parse(Json.to_string(message, false));
        service.broadcast(room, node({type: 'room-message', room, sender: name,
            content: msg.content}), c);
    });
    conn.connect('event::typing', c => {                  // {"type": "event", "event": "typing"}
        service.broadcast(room, node({type: 'event', event: 'typing', payload: {sender: name}}), c);
    });
    conn.connect('call::members', (c, call) => {          // {"type": "call", "method": "members"}
        call.return_value(node(service.list_room_members(room).map(nameOf).sort()));
        return true;
    });
    conn.connect('joined', (c, joined) => {               // the others hear who came ...
        service.broadcast(joined, node({type: 'presence', event: 'join', sender: name}), c);
    });
    conn.connect('left', (c, left) => {                   // ... and who went (leave() or the end)
        service.broadcast(left, node({type: 'presence', event: 'leave', sender: name}), c);
    });

    conn.send(node({type: 'welcome', room, name}));
    conn.join(room);
}

const module = Owlsock.Module.new('chat', '/ws/chat/:room');
module.connect('connection', onConnection);
service.add_module(module);
service.listen(option('host', '127.0.0.1'), Number(option('port', 8080)));
print(`listening on ${service.get_port()}`);
service.run(null);  // until Ctrl-C or SIGTERM; clients get the shutdown notice and 1001
