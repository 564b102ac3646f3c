// test-client.js: Owlsock.SocketClient from GJS, against owlsock's server in process
//
//   gjs tests/gjs/test-client.js        (prints TAP)
//
// GJS connects signals with connect(): the client's own method is open(). States,
// typed messages and events, a call with its result and one with an error, the
// server's call answered by the client, and a close.
//
// SPDX-License-Identifier: LGPL-2.1-or-later

imports.gi.versions.Owlsock = '1';
imports.gi.versions.Json = '1.0';
const {GLib, Json, Owlsock} = imports.gi;

imports.searchPath.unshift(GLib.path_get_dirname(imports.system.programPath));
const {assertEqual, assert, runUntil, stopService, runTests} = imports.owltest;

const json = value => Json.from_string(JSON.stringify(value));
const plain = node => JSON.parse(Json.to_string(node, false));

function serve(connections) {
    const service = Owlsock.SocketService.new(null);
    const module = Owlsock.Module.new('rpc', '/ws/rpc');
    module.connect('connection', (m, conn) => {
        connections.push(conn);
        conn.connect('call::add', (c, call) => {
            const args = plain(call.get_params());
            call.return_value(json(args[0] + args[1]));
            return true;
        });
        conn.connect('call::deny', (c, call) => {
            call.return_error_literal(Owlsock.Error.FORBIDDEN, 'No');
            return true;
        });
        conn.connect('message::hello', c => c.send(json({type: 'hello-back'})));
    });
    service.add_module(module);
    service.listen('127.0.0.1', 0);
    return service;
}

function openClient(service) {
    const client = Owlsock.SocketClient.new(`ws://127.0.0.1:${service.get_port()}/ws/rpc`);
    const states = [];
    client.connect('notify::state', c => states.push(c.get_state()));
    client.open();
    runUntil(() => client.get_state() === Owlsock.SocketClientState.CONNECTED, 'connected');
    return [client, states];
}

function call(client, method, params) {
    let result = null;
    client.call_async(method, params ? json(params) : null, 0, null, (c, r) => {
        result = r;
    });
    runUntil(() => result !== null, `the answer to ${method}`);
    return plain(client.call_finish(result));
}

const tests = {
    'states, typed messages, events and close'() {
        const connections = [];
        const service = serve(connections);
        const [client, states] = openClient(service);
        const backs = [], events = [];
        client.connect('message::hello-back', (c, message) => backs.push(plain(message)));
        client.connect('event::tick', (c, name, payload) => events.push([name, plain(payload)]));
        client.send(json({type: 'hello'}));
        runUntil(() => backs.length === 1, 'hello-back');
        assertEqual(backs, [{type: 'hello-back'}], 'message::hello-back');
        connections[0].notify_event('tick', json({n: 3}));
        runUntil(() => events.length === 1, 'the event');
        assertEqual(events, [['tick', {n: 3}]], 'event::tick');

        let code = 0;
        client.connect('closed', (c, closeCode) => {
            code = closeCode;
        });
        client.close(1000, 'bye');
        runUntil(() => client.get_state() === Owlsock.SocketClientState.CLOSED, 'closed');
        assertEqual(code, 1000, 'close code');
        assertEqual(states, [Owlsock.SocketClientState.CONNECTING, Owlsock.SocketClientState.CONNECTED,
            Owlsock.SocketClientState.CLOSED], 'states in order');
        stopService(service);
    },

    'calls both ways'() {
        const connections = [];
        const service = serve(connections);
        const [client] = openClient(service);
        assertEqual(call(client, 'add', [40, 2]), 42, 'add');
        try {
            call(client, 'deny', null);
            assert(false, 'deny answered with a result');
        } catch (e) {
            assert(e.matches(Owlsock.error_quark(), Owlsock.Error.FORBIDDEN), `deny: ${e}`);
        }

        client.connect('call::confirm', (c, call_) => {
            assert(call_.get_owner() === client, 'the call names the client');
            call_.return_value(json({by: 'gjs'}));
            return true;
        });
        let answer = null;
        connections[0].call_async('confirm', null, 0, null, (c, r) => {
            answer = r;
        });
        runUntil(() => answer !== null, 'the client to answer');
        assertEqual(plain(connections[0].call_finish(answer)), {by: 'gjs'}, 'answer of the client');
        client.close(1000, null);
        runUntil(() => client.get_state() === Owlsock.SocketClientState.CLOSED, 'closed');
        stopService(service);
    },
};

runTests(tests);
