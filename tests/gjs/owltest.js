// owltest.js: what the GJS tests share: assertions, a main-loop wait with a
// watchdog, and a TAP runner. Loaded with imports.owltest after the test puts
// its own folder on imports.searchPath.
//
// SPDX-License-Identifier: LGPL-2.1-or-later

const {GLib} = imports.gi;

var TIMEOUT_MS = 10000;

function assertEqual(got, expected, what) {
    const g = JSON.stringify(got), e = JSON.stringify(expected);
    if (g !== e)
        throw new Error(`${what}: expected ${e}, got ${g}`);
}

function assert(condition, what) {
    if (!condition)
        throw new Error(what);
}

function assertThrows(func, check, what) {
    try {
        func();
    } catch (e) {
        if (check && !check(e))
            throw new Error(`${what}: wrong error ${e}`);
        return;
    }
    throw new Error(`${what}: nothing was thrown`);
}

// Iterates the default main context until predicate() holds, at most TIMEOUT_MS.
function runUntil(predicate, what) {
    let timedOut = false;
    const source = GLib.timeout_add(GLib.PRIORITY_DEFAULT, TIMEOUT_MS, () => {
        timedOut = true;
        return GLib.SOURCE_REMOVE;
    });
    const context = GLib.MainContext.default();
    while (!predicate() && !timedOut)
        context.iteration(true);
    if (!timedOut)
        GLib.source_remove(source);
    assert(predicate(), `timed out waiting for ${what}`);
}

// Stops an Owlsock.SocketService and waits for its `stopped`.
function stopService(service) {
    let stopped = false;
    service.connect('stopped', () => {
        stopped = true;
    });
    service.stop();
    runUntil(() => stopped, 'the service to stop');
}

// Closes a Soup.WebsocketConnection with 1000 and waits for `closed`.
function closeClient(ws) {
    let closed = false;
    ws.connect('closed', () => {
        closed = true;
    });
    ws.close(1000, null);
    runUntil(() => closed, 'the client to close');
}

// Runs each test of `tests` (name -> function), prints TAP, and exits.
function runTests(tests) {
    const names = Object.keys(tests);
    print(`1..${names.length}`);
    let failed = 0;
    names.forEach((name, i) => {
        try {
            tests[name]();
            print(`ok ${i + 1} - ${name}`);
        } catch (e) {
            failed++;
            printerr(`# ${name}: ${e}\n${e.stack}`.replace(/\n/g, '\n# '));
            print(`not ok ${i + 1} - ${name}`);
        }
    });
    imports.system.exit(failed ? 1 : 0);
}
