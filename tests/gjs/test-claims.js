// test-claims.js: the JWT guard given its secret as a plain string from GJS,
// and a GJS gate and connection handler reading the token's claims with
// JSON.parse(auth.dup_claims_json()); served in process on a free port and
// reached with libsoup's WebSocket client. Tokens are signed here with
// GLib's HMAC, not owlsock's code.
//
//   gjs tests/gjs/test-claims.js        (prints TAP)
//
// SPDX-License-Identifier: LGPL-2.1-or-later

imports.gi.versions.Owlsock = '1';
imports.gi.versions.Soup = '3.0';
const {GLib, GObject, Owlsock, Soup} = imports.gi;

imports.searchPath.unshift(GLib.path_get_dirname(imports.system.programPath));
const {assertEqual, assert, assertThrows, runUntil, stopService, closeClient, runTests} = imports.owltest;

const SECRET = 'a-gjs-secret-of-at-least-32-bytes-long';
const CLAIMS = {sub: 'ann', org: {id: 7, name: 'Owls'}, roles: ['admin', 'chat']};

function base64url(bytes) {
    return GLib.base64_encode(bytes).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function hs256(secret, claims) {
    const encoder = new TextEncoder();
    const part = obj => base64url(encoder.encode(JSON.stringify(obj)));
    const input = `${part({alg: 'HS256', typ: 'JWT'})}.${part(claims)}`;
    const hex = GLib.compute_hmac_for_bytes(GLib.ChecksumType.SHA256,
        new GLib.Bytes(encoder.encode(secret)), new GLib.Bytes(encoder.encode(input)));
    const mac = new Uint8Array(hex.match(/../g).map(h => parseInt(h, 16)));
    return `${input}.${base64url(mac)}`;
}

// Lets a token in to /ws/org/ORG when its claim org is {id: ORG}.
const OrgGate = GObject.registerClass(
class OrgGate extends Owlsock.Gate {
    vfunc_authorize(attempt) {
        const claims = JSON.parse(attempt.get_auth().dup_claims_json());
        if (String(claims?.org?.id) === attempt.get_request().get_param('org'))
            attempt.accept(null);
        else
            attempt.reject(Owlsock.Error.FORBIDDEN, 'Not in this organisation');
    }
});

function serve() {
    const service = Owlsock.SocketService.new(null);
    const guard = Owlsock.JwtGuard.new();
    guard.add_secret(SECRET);
    guard.require_expiry = false;
    const seen = [];
    service.add_guard('jwt', guard);
    service.add_gate('org', new OrgGate());
    const module = new Owlsock.Module({alias: 'org', path: '/ws/org/:org', guards: ['jwt'], gates: ['org']});
    module.connect('connection', (_module, conn) => {
        seen.push(JSON.parse(conn.get_auth().dup_claims_json()));
    });
    service.add_module(module);
    service.listen('127.0.0.1', 0);
    return {service, seen, port: service.get_port()};
}

// The HTTP status of a WebSocket handshake by libsoup's client, and the socket.
function connect(server, path, token) {
    const session = new Soup.Session();
    const msg = Soup.Message.new('GET', `ws://127.0.0.1:${server.port}${path}?token=${token}`);
    const outcome = {done: false, ws: null};
    session.websocket_connect_async(msg, null, null, GLib.PRIORITY_DEFAULT, null, (s, result) => {
        try {
            outcome.ws = s.websocket_connect_finish(result);
        } catch {
            // refused: the status says why
        }
        outcome.done = true;
    });
    runUntil(() => outcome.done, `the handshake for ${path}`);
    return {status: msg.get_status(), ws: outcome.ws};
}

const tests = {
    'add_secret takes a string; a handler reads sub, a nested object and an array'() {
        const server = serve();
        const client = connect(server, '/ws/org/7', hs256(SECRET, CLAIMS));
        assertEqual(client.status, Soup.Status.SWITCHING_PROTOCOLS, 'status');
        runUntil(() => server.seen.length === 1, 'the server connection');
        const claims = server.seen[0];
        assertEqual(claims.sub, 'ann', 'sub');
        assertEqual(claims.org, {id: 7, name: 'Owls'}, 'a nested object');
        assertEqual(claims.roles, ['admin', 'chat'], 'an array');
        closeClient(client.ws);
        stopService(server.service);
    },

    'a GJS gate reads a nested claim: 403 for another org, 401 for another secret'() {
        const server = serve();
        const kept = connect(server, '/ws/org/7', hs256(SECRET, CLAIMS));
        assertEqual(kept.status, Soup.Status.SWITCHING_PROTOCOLS, 'status in its org');
        assertEqual(connect(server, '/ws/org/8', hs256(SECRET, CLAIMS)).status, Soup.Status.FORBIDDEN,
            'status in another org');
        assertEqual(connect(server, '/ws/org/7', hs256(`${SECRET}x`, CLAIMS)).status,
            Soup.Status.UNAUTHORIZED, 'status with another secret');
        assertEqual(server.seen.length, 1, 'connections let in');
        assert(kept.ws.get_state() === Soup.WebsocketState.OPEN, 'the first client is still open');
        closeClient(kept.ws);
        stopService(server.service);
    },

    'add_secret takes a Uint8Array; add_secret_with_kid a kid; a short one is refused'() {
        const guard = Owlsock.JwtGuard.new();
        assert(guard.add_secret(new TextEncoder().encode(SECRET)), 'a Uint8Array secret');
        assert(guard.add_secret_with_kid('k1', `${SECRET}2`), 'a secret with a kid');
        assertThrows(() => guard.add_secret('too short'),
            e => e.matches(Owlsock.Error, Owlsock.Error.INVALID_ARGUMENT), 'a short secret');
    },

    'claims are null for an auth without any'() {
        const auth = new Owlsock.Auth({user_id: 'ben'});
        assertEqual(JSON.parse(auth.dup_claims_json()), null, 'no claims');
    },
};

runTests(tests);
