// test-presence.js: presence from GJS, in process: OwlModule:presence,
// Connection.set_presence_info(), SocketService.presence_async()/presence_finish()
//
//   gjs tests/gjs/test-presence.js        (prints TAP)
//
// SPDX-License-Identifier: LGPL-2.1-or-later

imports.gi.versions.Owlsock = '1';
imports.gi.versions.Json = '1.0';
const {GLib, Json, Owlsock} = imports.gi;

imports.searchPath.unshift(GLib.path_get_dirname(imports.system.programPath));
const {assertEqual, assert, runUntil, stopService, runTests} = imports.owltest;

function presence(service, room) {
    let result = null;
    service.presence_async(room, null, (source, res) => {
        result = res;
    });
    runUntil(() => result !== null, 'the presence answer');
    return JSON.parse(Json.to_string(service.presence_finish(result), false));
}

function connect(service, query) {
    const client = Owlsock.SocketClient.new(`ws://127.0.0.1:${service.get_port()}/ws/p/lobby${query}`);
    client.reconnect = false;
    client.open();
    runUntil(() => client.get_state() === Owlsock.SocketClientState.CONNECTED, 'the handshake');
    return client;
}

const tests = {
    'presence query and the entry of a client that closes'() {
        const service = Owlsock.SocketService.new(null);
        const module = Owlsock.Module.new('p', '/ws/p/:room');
        module.presence = true;
        assertEqual(module.history_size, 0, 'history-size default');
        assertEqual(module.history_ttl, 300, 'history-ttl default');
        module.connect('connection', (m, conn) => {
            const request = conn.get_request();
            const name = request.get_query_param('name');
            if (name)
                conn.set_presence_info(Json.from_string(JSON.stringify({name})));
            conn.join(request.get_param('room'));
        });
        service.add_module(module);
        service.listen('127.0.0.1', 0);

        const ann = connect(service, '?name=ann');
        const other = connect(service, '');
        runUntil(() => service.list_room_members('lobby').length === 2, 'two members');
        const entries = presence(service, 'lobby');
        assertEqual(entries.length, 2, 'two entries');
        const named = entries.filter(e => e.info !== undefined);
        assertEqual(named.length, 1, 'one entry with info');
        assertEqual(named[0].info, {name: 'ann'}, 'its info');
        assert(entries.every(e => e.user === null && typeof e.node === 'string' && e.id),
            JSON.stringify(entries));

        other.close(1000, null);
        runUntil(() => service.list_room_members('lobby').length === 1, 'one member');
        assertEqual(presence(service, 'lobby').map(e => e.info), [{name: 'ann'}], 'after the close');
        ann.close(1000, null);
        stopService(service);
    },
};

runTests(tests);
