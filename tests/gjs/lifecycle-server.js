// lifecycle-server.js: the timer pattern and run() from GJS, for tests/python/test_lifecycle.py
//
//   /ws/ticks  a {"type":"tick","n":N} every 10 ms from a timer started on connect and
//              stopped in `closing`; {"type":"bye"} makes the server close with 4000
//   /ws/rooms  {"type":"join"|"leave","room":R} joins or leaves R; `joined` and `left`
//              broadcast {"type":"presence","event":"joined"|"left","room":R,"id":ID} to R
//
// The timer sends with conn.send(), which throws once the connection is closing: a
// timer that outlived `closing` would log a JS ERROR on stderr, which the test reads.
// service.run() serves until SIGINT or SIGTERM, then "stopped" is printed.
//
// SPDX-License-Identifier: LGPL-2.1-or-later

import GLib from 'gi://GLib';
import Json from 'gi://Json?version=1.0';
import Owlsock from 'gi://Owlsock?version=1';

function onConnection(_module, conn) {
    let n = 0;
    const timer = GLib.timeout_add(GLib.PRIORITY_DEFAULT, 10, () => {  // start on connect ...
        n += 1;
        conn.send(Json.from_string(JSON.stringify({type: 'tick', n})));
        return GLib.SOURCE_CONTINUE;
    });
    conn.connect('closing', () => GLib.source_remove(timer));         // ... stop here
    conn.connect('message::bye', c => c.close(4000, 'bye'));
}

function onRoomsConnection(_module, conn) {
    const presence = event => (c, room) => {
        service.broadcast(room, Json.from_string(JSON.stringify(
            {type: 'presence', event, room, id: c.get_id()})), null);
    };
    const roomOf = message => JSON.parse(Json.to_string(message, false)).room;

    conn.connect('joined', presence('joined'));
    conn.connect('left', presence('left'));
    conn.connect('message::join', (c, message) => c.join(roomOf(message)));
    conn.connect('message::leave', (c, message) => c.leave(roomOf(message)));
    conn.send(Json.from_string(JSON.stringify({type: 'welcome', id: conn.get_id()})));
}

const service = Owlsock.SocketService.new(null);
const module = Owlsock.Module.new('ticks', '/ws/ticks');
module.connect('connection', onConnection);
service.add_module(module);
const rooms = Owlsock.Module.new('rooms', '/ws/rooms');
rooms.connect('connection', onRoomsConnection);
service.add_module(rooms);
service.listen('127.0.0.1', 0);
print(`listening on ${service.get_port()}`);
service.run(null);
print('stopped');
