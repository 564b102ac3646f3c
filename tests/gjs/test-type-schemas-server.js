// test-type-schemas-server.js: tests/python/test_type_schemas_server.py in GJS, for
// tests/python/test_type_schemas.py --runtime gjs: the per-type schemas are set from a
// plain object after add_module().
//
//   gjs tests/gjs/test-type-schemas-server.js --host 127.0.0.1 --port 0
//
// SPDX-License-Identifier: LGPL-2.1-or-later

imports.gi.versions.Owlsock = '1';
imports.gi.versions.Json = '1.0';
const {GLib, Owlsock} = imports.gi;

const SCHEMAS = {
    subscribe: '{"required": ["room"], "properties": {"room": {"type": "string", "maxLength": 8}}}',
    publish: '{"required": ["room", "text"], "properties": {"room": {"type": "string"}}}',
};

const argv = ARGV.slice();
const option = (name, fallback) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : fallback;
};

const service = Owlsock.SocketService.new(null);
for (const [alias, strict] of [['typed', false], ['strict', true]]) {
    const module = Owlsock.Module.new(alias, `/ws/${alias}`);
    module.connect('connection', (_module, conn) => {
        conn.connect('message', (c, message) => c.send(message));
    });
    service.add_module(module);
    const schemas = {};
    for (const [type, text] of Object.entries(SCHEMAS))
        schemas[type] = Owlsock.Schema.new_from_string(text);
    module.set_type_schemas(schemas);
    module.strict_types = strict;
}
service.listen(option('--host', '127.0.0.1'), parseInt(option('--port', '0')));
print(`listening on ${service.get_port()}`);

const loop = new GLib.MainLoop(null, false);
service.connect('stopped', () => loop.quit());
for (const signum of [15, 2]) {
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signum, () => {
        service.stop();
        return GLib.SOURCE_REMOVE;
    });
}
loop.run();
