// test-api.js: the introspected API as GJS sees it, in process, no clients
//
//   gjs tests/gjs/test-api.js        (prints TAP)
//
// SPDX-License-Identifier: LGPL-2.1-or-later

imports.gi.versions.Owlsock = '1';
imports.gi.versions.Json = '1.0';
const {GLib, GObject, Owlsock} = imports.gi;

imports.searchPath.unshift(GLib.path_get_dirname(imports.system.programPath));
const {assertEqual, assert, runUntil, assertThrows, runTests} = imports.owltest;

const tests = {
    'service alias'() {
        assertEqual(Owlsock.SocketService.new(null).get_alias(), 'socket-server', 'default alias');
        assertEqual(Owlsock.SocketService.new('hub').get_alias(), 'hub', 'alias');
    },

    'module accessors'() {
        const module = Owlsock.Module.new('chat', '/ws/chat/:room');
        assertEqual(module.get_alias(), 'chat', 'alias');
        assertEqual(module.get_path(), '/ws/chat/:room', 'path');
    },

    'error codes have stable strings'() {
        assertEqual(Owlsock.error_code_to_string(Owlsock.Error.UNKNOWN_METHOD), 'unknown-method',
            'UNKNOWN_METHOD');
        assertEqual(Owlsock.error_code_to_string(Owlsock.Error.MALFORMED), 'malformed', 'MALFORMED');
        for (const [name, code] of Object.entries(Owlsock.Error)) {
            if (typeof code !== 'number')
                continue;
            const string = Owlsock.error_code_to_string(code);
            assertEqual(Owlsock.error_code_from_string(string), [true, code], `round trip of ${name}`);
        }
        assert(!Owlsock.error_code_from_string('no-such-code')[0], 'unknown string accepted');
    },

    'listen on any port, then stop'() {
        const service = Owlsock.SocketService.new(null);
        const module = Owlsock.Module.new('echo', '/ws/echo');
        service.add_module(module);
        service.listen('127.0.0.1', 0);
        assert(service.get_port() > 0, `port ${service.get_port()}`);
        assert(service.lookup_module('echo') === module, 'lookup_module');
        assertEqual(service.lookup_module('nope'), null, 'lookup of a missing module');
        assertEqual(service.get_n_connections(), 0, 'connections');
        assertEqual(service.list_connections(), [], 'list_connections');
        assertEqual(service.dup_rooms(), [], 'dup_rooms');

        let stopped = false;
        service.connect('stopped', () => {
            stopped = true;
        });
        service.stop();
        assert(service.is_stopping(), 'is_stopping after stop');
        runUntil(() => stopped, 'the stopped signal');
    },

    'module alias taken twice is an error'() {
        const service = Owlsock.SocketService.new(null);
        service.add_module(Owlsock.Module.new('echo', '/ws/echo'));
        assertThrows(() => service.add_module(Owlsock.Module.new('echo', '/ws/other')),
            e => e.matches(Owlsock.error_quark(), Owlsock.Error.EXISTS), 'second add_module');
    },

    'Connection.notify does not shadow GObject.Object.notify'() {
        // The seed's conn.notify() (an event frame to the client) is notify_event():
        // as `notify` it would hide GObject.Object.prototype.notify(property_name).
        assert(Owlsock.Connection.prototype.notify === GObject.Object.prototype.notify,
            'Owlsock.Connection.prototype.notify is not GObject.Object.prototype.notify');
        assert(typeof Owlsock.Connection.prototype.notify_event === 'function',
            'Connection.prototype.notify_event is missing');
    },
};

runTests(tests);
