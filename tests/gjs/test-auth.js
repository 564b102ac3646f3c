// test-auth.js: a guard and a gate written in GJS, served in process on a
// free port and reached with libsoup's WebSocket client
//
//   gjs tests/gjs/test-auth.js        (prints TAP)
//
// SPDX-License-Identifier: LGPL-2.1-or-later

imports.gi.versions.Owlsock = '1';
imports.gi.versions.Json = '1.0';
imports.gi.versions.Soup = '3.0';
const {GLib, GObject, Json, Owlsock, Soup} = imports.gi;

imports.searchPath.unshift(GLib.path_get_dirname(imports.system.programPath));
const {assertEqual, assert, runUntil, stopService, closeClient, runTests} = imports.owltest;

// The users an X-User header may name, and their scopes; found "later".
const USERS = {ann: ['chat'], ben: ['chat', 'admin']};

const HeaderGuard = GObject.registerClass(
class HeaderGuard extends Owlsock.Guard {
    _init() {
        super._init();
        this.lookups = 0;
    }

    vfunc_match(request) {
        return request.get_header('X-User') !== null;
    }

    vfunc_authenticate(attempt) {
        const user = attempt.get_request().get_header('X-User');
        this.lookups++;
        GLib.idle_add(GLib.PRIORITY_DEFAULT, () => {
            if (user in USERS)
                attempt.accept(new Owlsock.Auth({user_id: user, scopes: USERS[user]}));
            else
                attempt.reject(Owlsock.Error.AUTH_FAILED, 'Unknown user');
            return GLib.SOURCE_REMOVE;
        });
    }
});

const AdminGate = GObject.registerClass(
class AdminGate extends Owlsock.Gate {
    vfunc_authorize(attempt) {
        const admin = attempt.get_auth().has_scope('admin');
        GLib.idle_add(GLib.PRIORITY_DEFAULT, () => {
            if (admin)
                attempt.accept(null);
            else
                attempt.reject(Owlsock.Error.FORBIDDEN, 'Admins only');
            return GLib.SOURCE_REMOVE;
        });
    }
});

// A service on a free port: /ws/echo behind the guard, /ws/admin behind the gate too.
function serve() {
    const service = Owlsock.SocketService.new(null);
    const guard = new HeaderGuard();
    const accepted = [];
    service.add_guard('header', guard);
    service.add_gate('admin', new AdminGate());
    for (const [alias, path, gates] of [['echo', '/ws/echo', null], ['admin', '/ws/admin', ['admin']]]) {
        const module = new Owlsock.Module({alias, path, guards: ['header'], gates});
        module.connect('connection', (_module, conn) => {
            accepted.push(conn);
            conn.connect('message', (c, message) => c.send(message));
            // Only messages of type "hello", answered besides the plain echo.
            conn.connect('message::hello', c => c.send(Json.from_string('{"type":"hello-back"}')));
            conn.connect('call::boom', () => {
                throw new Error('a detail the client must not see');
            });
        });
        service.add_module(module);
    }
    service.listen('127.0.0.1', 0);
    return {service, guard, accepted, port: service.get_port()};
}

function stop(server) {
    stopService(server.service);
}

// A WebSocket handshake by libsoup's client: {ws, status, error}.
function connect(server, path, user) {
    const session = new Soup.Session();
    const msg = Soup.Message.new('GET', `ws://127.0.0.1:${server.port}${path}`);
    if (user)
        msg.get_request_headers().replace('X-User', user);
    const outcome = {done: false, ws: null, error: null, status: 0};
    session.websocket_connect_async(msg, null, null, GLib.PRIORITY_DEFAULT, null, (s, result) => {
        try {
            outcome.ws = s.websocket_connect_finish(result);
        } catch (e) {
            outcome.error = e;
        }
        outcome.status = msg.get_status();
        outcome.done = true;
    });
    runUntil(() => outcome.done, `the handshake for ${path}`);
    return outcome;
}

function assertEchoes(ws) {
    let reply = null;
    const id = ws.connect('message', (_ws, _type, bytes) => {
        reply = new TextDecoder().decode(bytes.get_data());
    });
    ws.send_text('{"type":"echo","n":1}');
    runUntil(() => reply !== null, 'the echo');
    ws.disconnect(id);
    assertEqual(JSON.parse(reply), {type: 'echo', n: 1}, 'the echo');
}

const tests = {
    'a GJS guard accepts from an idle callback'() {
        const server = serve();
        const client = connect(server, '/ws/echo', 'ann');
        assert(client.error === null, `handshake failed: ${client.error}`);
        assertEqual(client.status, Soup.Status.SWITCHING_PROTOCOLS, 'status');
        runUntil(() => server.accepted.length === 1, 'the server connection');
        const auth = server.accepted[0].get_auth();
        assertEqual(auth.get_user_id(), 'ann', 'user id on the server connection');
        assertEqual(auth.get_scopes(), ['chat'], 'scopes on the server connection');
        assertEqual(server.guard.lookups, 1, 'lookups');
        assertEchoes(client.ws);
        closeClient(client.ws);
        stop(server);
    },

    'a GJS guard rejects: 401, the connection before goes on'() {
        const server = serve();
        const first = connect(server, '/ws/echo', 'ben');
        assertEqual(first.status, Soup.Status.SWITCHING_PROTOCOLS, 'status of ben');

        const refused = connect(server, '/ws/echo', 'mallory');
        assert(refused.ws === null && refused.error !== null, 'mallory got a WebSocket');
        assertEqual(refused.status, Soup.Status.UNAUTHORIZED, 'status of mallory');
        const anonymous = connect(server, '/ws/echo', null);
        assertEqual(anonymous.status, Soup.Status.UNAUTHORIZED, 'status without credentials');
        assertEqual(server.guard.lookups, 2, 'the guard did not see the request without X-User');

        assertEqual(server.accepted.length, 1, 'server connections');
        assertEchoes(first.ws);
        closeClient(first.ws);
        stop(server);
    },

    'a GJS gate lets admins through: 101 or 403'() {
        const server = serve();
        const admin = connect(server, '/ws/admin', 'ben');
        assertEqual(admin.status, Soup.Status.SWITCHING_PROTOCOLS, 'status of ben');
        const user = connect(server, '/ws/admin', 'ann');
        assertEqual(user.status, Soup.Status.FORBIDDEN, 'status of ann');
        runUntil(() => server.accepted.length === 1, 'the server connection');
        assertEqual(server.accepted[0].get_auth().get_user_id(), 'ben', 'user on /ws/admin');
        assertEchoes(admin.ws);
        closeClient(admin.ws);
        stop(server);
    },

    'a throwing call handler answers internal; message::TYPE gets its type only'() {
        const server = serve();
        const client = connect(server, '/ws/echo', 'ann');
        const frames = [];
        client.ws.connect('message', (_ws, _type, bytes) => {
            frames.push(JSON.parse(new TextDecoder().decode(bytes.get_data())));
        });
        // GJS reports the exception as a critical: expected here, fatal anywhere else.
        GLib.test_expect_message('Gjs', GLib.LogLevelFlags.LEVEL_CRITICAL, '*a detail the client must not see*');
        client.ws.send_text('{"type":"call","id":"b","method":"boom","payload":[]}');
        client.ws.send_text('{"type":"other"}');
        client.ws.send_text('{"type":"hello"}');
        client.ws.send_text('{"type":"ping","id":"p"}');
        // Handled in order: the pong comes after everything else.
        runUntil(() => frames.some(f => f.type === 'pong'), 'the pong');
        GLib.test_assert_expected_messages_internal('Gjs', 'test-auth.js', 0, 'the exception');
        const error = frames.find(f => f.id === 'b');
        assertEqual(error.code, 'internal', 'the code of a throwing handler');
        assertEqual(error.payload, 'InternalError|||Internal error', 'nothing of the exception');
        assertEqual(frames.map(f => f.type), ['error', 'other', 'hello', 'hello-back', 'pong'], 'frames');
        closeClient(client.ws);
        stop(server);
    },
};

runTests(tests);
