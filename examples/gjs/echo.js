#!/usr/bin/gjs
// echo.js: answer every message and event with the same JSON, plus two RPC methods.
//
//   gjs examples/gjs/echo.js --port 8080
//   then send {"type": "hello"} to ws://127.0.0.1:8080/ws/echo, or
//   {"type": "call", "id": "1", "method": "sum", "payload": [1, 2]}
//
// SPDX-License-Identifier: LGPL-2.1-or-later

imports.gi.versions.Owlsock = '1';
const {GLib, Json, Owlsock} = imports.gi;

function option(name, fallback) {
    const i = ARGV.indexOf(`--${name}`);
    return i >= 0 && i + 1 < ARGV.length ? ARGV[i + 1] : fallback;
}

function onConnection(module, conn) {
    conn.connect('message', (c, node) => c.send(node));   // the same JSON straight back
    conn.connect('event', (c, event, payload) => c.notify_event(event, payload));  // events too

    conn.connect('call::echo', (c, call) => {
        call.return_value(call.get_params());             // the argument array, unchanged
        return true;                                       // true: this handler takes the call
    });

    conn.connect('call::sum', (c, call) => {
        const numbers = JSON.parse(Json.to_string(call.get_params(), false));
        if (!numbers.every(n => typeof n === 'number')) {
            call.return_error_literal(Owlsock.Error.INVALID_ARGUMENT, 'sum takes numbers');
            return true;
        }
        GLib.timeout_add(GLib.PRIORITY_DEFAULT, 10, () => {  // answering later is fine
            call.return_value(Json.from_string(JSON.stringify(numbers.reduce((a, b) => a + b, 0))));
            return GLib.SOURCE_REMOVE;
        });
        return true;
    });
}

const service = Owlsock.SocketService.new(null);
const module = Owlsock.Module.new('echo', '/ws/echo');
module.connect('connection', onConnection);
service.add_module(module);
service.listen(option('host', '127.0.0.1'), Number(option('port', 8080)));
print(`listening on ${service.get_port()}`);
service.run(null);  // until Ctrl-C or SIGTERM; clients get the shutdown notice and 1001
