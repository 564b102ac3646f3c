#!/usr/bin/gjs
// chat.js: chat rooms with presence, after the chat example of @owlmeans/server-socket.
//
//   gjs examples/gjs/chat.js --port 8080
//   clients connect to ws://127.0.0.1:8080/ws/chat/<room>?name=<name> and send
//   {"type": "chat-message", "content": "hi"}
//
// SPDX-License-Identifier: LGPL-2.1-or-later

imports.gi.versions.Owlsock = '1';
const {GLib, Json, Owlsock} = imports.gi;

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

    conn.connect('message', (c, message) => {
        const msg = JSON.parse(Json.to_string(message, false));
        if (msg.type === 'chat-message') {
            service.broadcast(room, node({type: 'room-message', room, sender: name,
                content: msg.content}), c);
        }
    });
    conn.connect('event::typing', c => {                  // {"type": "event", "event": "typing"}
        service.broadcast(room, node({type: 'event', event: 'typing', payload: {sender: name}}), c);
    });
    conn.connect('call::members', (c, call) => {          // {"type": "call", "method": "members"}
        call.return_value(node(service.list_room_members(room).map(nameOf).sort()));
        return true;
    });
    conn.connect('closed', () => {                        // by now conn has left its rooms
        service.broadcast(room, node({type: 'presence', event: 'leave', sender: name}), null);
    });

    conn.join(room);
    conn.send(node({type: 'welcome', room, name}));
    service.broadcast(room, node({type: 'presence', event: 'join', sender: name}), conn);
}

const module = Owlsock.Module.new('chat', '/ws/chat/:room');
module.connect('connection', onConnection);
service.add_module(module);
service.listen(option('host', '127.0.0.1'), Number(option('port', 8080)));
print(`listening on ${service.get_port()}`);

const loop = new GLib.MainLoop(null, false);
service.connect('stopped', () => loop.quit());
for (const signum of [15 /* SIGTERM */, 2 /* SIGINT */]) {  // clients get close code 1001
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signum, () => {
        service.stop();
        return GLib.SOURCE_REMOVE;
    });
}
loop.run();
