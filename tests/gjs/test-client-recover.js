// test-client-recover.js: Owlsock.SocketClient's history positions from GJS
//
//   gjs tests/gjs/test-client-recover.js        (prints TAP)
//
// An owlsock service in process whose connections send, by hand, what a room
// with history sends (a broadcast led by `pos`, `system` `joined` frames): the
// client's positions, the `recover` parameter of its reconnect as the service
// read it, and the `recovered` signal, seen from GJS.
//
// SPDX-License-Identifier: LGPL-2.1-or-later

imports.gi.versions.Owlsock = '1';
imports.gi.versions.Json = '1.0';
const {GLib, Json, Owlsock} = imports.gi;

imports.searchPath.unshift(GLib.path_get_dirname(imports.system.programPath));
const {assertEqual, runUntil, stopService, runTests} = imports.owltest;

const plain = node => JSON.parse(Json.to_string(node, false));
const joined = payload => JSON.stringify({type: 'system', event: 'joined', payload});

const tests = {
    'positions, the recover parameter of a reconnect, and recovered'() {
        const connections = [];
        const service = Owlsock.SocketService.new(null);
        const module = Owlsock.Module.new('news', '/ws/news');
        module.connect('connection', (m, conn) => connections.push(conn));
        service.add_module(module);
        service.listen('127.0.0.1', 0);

        const client = Owlsock.SocketClient.new(`ws://127.0.0.1:${service.get_port()}/ws/news`);
        client.reconnect_min_delay = 10;
        client.reconnect_max_delay = 40;
        assertEqual(client.recover, true, 'recover is on by default');
        const messages = [], recovered = [];
        client.connect('message', (c, message) => messages.push(plain(message)));
        client.connect('recovered', (c, room, ok, missed) => recovered.push([room, ok, missed]));
        client.open();
        runUntil(() => connections.length === 1 && client.get_state() === Owlsock.SocketClientState.CONNECTED,
            'connected');
        assertEqual(connections[0].get_request().get_query_param('recover'), null, 'the first connect asks nothing');

        connections[0].send_text('{"pos":{"room":"news","offset":7,"epoch":"e1"},"type":"story"}');
        connections[0].send_text(joined({room: 'sport', epoch: 'e2', offset: 3}));
        runUntil(() => messages.length === 2, 'the frames');
        // The most recently updated room first.
        const want = {sport: {offset: 3, epoch: 'e2'}, news: {offset: 7, epoch: 'e1'}};
        assertEqual(plain(client.dup_positions()), want, 'dup_positions');

        connections[0].close(1012, 'restart');
        runUntil(() => connections.length === 2 && client.get_state() === Owlsock.SocketClientState.CONNECTED,
            'reconnected');
        assertEqual(JSON.parse(connections[1].get_request().get_query_param('recover')), want, 'recover sent');

        connections[1].send_text(joined({room: 'news', epoch: 'e1', offset: 9, recovered: true, missed: 2}));
        connections[1].send_text(joined({room: 'sport', epoch: 'e5', offset: 1, recovered: false, missed: 0}));
        runUntil(() => recovered.length === 2, 'recovered');
        assertEqual(recovered, [['news', true, 2], ['sport', false, 0]], 'recovered signals');
        client.set_position('news', null, 0);
        assertEqual(plain(client.dup_positions()), {sport: {offset: 1, epoch: 'e5'}}, 'a room forgotten');

        client.close(1000, null);
        runUntil(() => client.get_state() === Owlsock.SocketClientState.CLOSED, 'closed');
        stopService(service);
    },
};

runTests(tests);
