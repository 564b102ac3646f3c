# owltest.py: what the Python and GJS example tests share
#
# One test body, several server commands: a test names an example ("echo",
# "chat") and the runtime given on the command line ("python" or "gjs") picks
# the program that serves it. The client side is always Python `websockets`.
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import argparse
import asyncio
import itertools
import json
import os
import re
import shutil
import signal
import sys
import time
import unittest
from pathlib import Path

import websockets

TIMEOUT = 5.0         # seconds; every wait in a test is bounded by this ...
START_TIMEOUT = 10.0  # ... but a server gets this long to say it is listening
BUDGET = 90.0         # tests not started within this many seconds fail unrun, so that a
                      # hanging library still gives a complete report before meson's 120 s
SOURCE_ROOT = Path(os.environ.get('OWLSOCK_SOURCE_ROOT', Path(__file__).resolve().parents[2]))
BUILD_ROOT = Path(os.environ.get('OWLSOCK_BUILD_ROOT', SOURCE_ROOT / 'build'))
PYTHON = '/usr/bin/python3'  # the interpreter with PyGObject, never the first python3 on PATH

RUNTIME = 'python'  # set by main()


def server_command(example, runtime=None, args=()):
    """The argv that serves `example` in `runtime` on a free port of 127.0.0.1. C programs
    are named with dashes (secure-chat), scripts with underscores (secure_chat.py)."""
    runtime = runtime or RUNTIME
    script = example.replace('-', '_')
    if runtime == 'python':
        program = [PYTHON, str(SOURCE_ROOT / 'examples' / 'python' / f'{script}.py')]
    elif runtime == 'gjs':
        program = [shutil.which('gjs') or 'gjs', str(SOURCE_ROOT / 'examples' / 'gjs' / f'{script}.js')]
    elif runtime == 'c':
        program = [str(BUILD_ROOT / 'examples' / example)]
    else:
        raise ValueError(f'unknown runtime {runtime!r}')
    return program + ['--host', '127.0.0.1', '--port', '0'] + list(args)


async def bounded(awaitable, what, timeout=TIMEOUT):
    try:
        return await asyncio.wait_for(awaitable, timeout)
    except asyncio.TimeoutError:
        raise AssertionError(f'timed out after {timeout:g} s waiting for {what}') from None


class Server:
    """An example server in a subprocess; `port` is read from its 'listening on PORT' line.

    With `merge_stderr`, the server's stderr goes into the same pipe (log lines may then
    come before 'listening on'). Everything read from the pipe is kept in `output`."""

    def __init__(self, argv, env=None, merge_stderr=False):
        self.argv = argv
        self.env = env
        self.merge_stderr = merge_stderr
        self.proc = None
        self.port = None
        self.output = []
        self._drain = None

    async def start(self):
        self.proc = await asyncio.create_subprocess_exec(
            *self.argv, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT if self.merge_stderr else None, env=self.env)
        line = await bounded(self._listening_line(), f'"listening on PORT" from {self.argv}',
                             START_TIMEOUT)
        match = re.fullmatch(rb'listening on (\d+)\s*', line)
        if not match:
            status = await bounded(self.proc.wait(), 'the server to exit') if not line else None
            raise AssertionError(f'{self.argv} printed {line!r} (exit status {status})')
        self.port = int(match.group(1))
        self._drain = asyncio.ensure_future(self._forward_output())
        return self

    async def _listening_line(self):
        while True:
            line = await self.proc.stdout.readline()
            self.output.append(line)
            if not self.merge_stderr or not line or line.startswith(b'listening on '):
                return line
            sys.stderr.write(f'[server] {line.decode(errors="replace")}')

    async def _forward_output(self):
        # Keep the pipe from filling up; what the server prints goes to the test log.
        async for line in self.proc.stdout:
            self.output.append(line)
            sys.stderr.write(f'[server] {line.decode(errors="replace")}')

    def url(self, path):
        return f'ws://127.0.0.1:{self.port}{path}'

    async def handshake_status(self, path, headers=None):
        """The HTTP status of a WebSocket upgrade request for `path`."""
        return (await self.handshake(path, headers))[0]

    async def handshake(self, path, headers=None):
        """A WebSocket upgrade request for `path` with extra `headers`, by hand, so that a
        refusal's body can be read: (status, headers with lower-case names, body bytes)."""
        reader, writer = await bounded(asyncio.open_connection('127.0.0.1', self.port),
                                       f'a TCP connection to port {self.port}')
        extra = ''.join(f'{name}: {value}\r\n' for name, value in (headers or {}).items())
        writer.write((f'GET {path} HTTP/1.1\r\n'
                      f'Host: 127.0.0.1:{self.port}\r\n'
                      'Connection: Upgrade\r\n'
                      'Upgrade: websocket\r\n'
                      'Sec-WebSocket-Version: 13\r\n'
                      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n'
                      f'{extra}\r\n').encode())
        try:
            status_line = await bounded(reader.readline(), 'the status line of the answer')
            match = re.match(rb'HTTP/1\.1 (\d{3}) ', status_line)
            assert match, f'not an HTTP status line: {status_line!r}'
            response_headers = {}
            while (line := await bounded(reader.readline(), 'a header line')) not in (b'\r\n', b''):
                name, _, value = line.decode('latin-1').partition(':')
                response_headers[name.strip().lower()] = value.strip()
            length = int(response_headers.get('content-length', 0))
            body = await bounded(reader.readexactly(length), 'the body') if length else b''
        finally:
            writer.close()
            await bounded(writer.wait_closed(), 'the TCP connection to close')
        return int(match.group(1)), response_headers, body

    def signal(self, signum=signal.SIGTERM):
        self.proc.send_signal(signum)

    async def wait(self):
        # A graceful stop may legitimately wait for a peer that does not answer
        # its close frame: the close timeout (5 s) and the linger (2 s) on top
        # of the usual bound.
        status = await bounded(self.proc.wait(), f'{self.argv[1]} to exit', timeout=TIMEOUT + 7)
        if self._drain:
            await bounded(self._drain, 'the end of the server output')
        return status

    async def kill(self):
        if self.proc and self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()
        if self._drain:
            self._drain.cancel()


def check_frame(msg, type_, fields):
    """`msg`, which must have this `type` and these field values."""
    expected = dict(fields, type=type_)
    got = {k: msg.get(k) for k in expected}
    assert got == expected, f'expected {expected}, got {msg}'
    return msg


class Client:
    """A websockets client that speaks the owlsock envelope in JSON."""

    def __init__(self, ws):
        self.ws = ws
        self._ids = itertools.count(1)

    @classmethod
    async def connect(cls, url, **kwargs):
        """Opens `url`; `kwargs` go to websockets.connect (extra_headers, subprotocols).
        Messages name no URL: it may hold a token."""
        ws = await bounded(websockets.connect(url, open_timeout=TIMEOUT, close_timeout=TIMEOUT,
                                              **kwargs),
                           'the handshake')
        return cls(ws)

    async def send(self, obj):
        await self.ws.send(json.dumps(obj))

    async def send_text(self, text):
        await self.ws.send(text)

    async def recv(self):
        frame = await bounded(self.ws.recv(), 'a message')
        assert isinstance(frame, str), f'expected a text frame, got {frame!r}'
        return json.loads(frame)

    async def expect(self, type_, **fields):
        """The next message; it must have this `type` and these field values."""
        return check_frame(await self.recv(), type_, fields)

    async def call(self, method, *args):
        """Sends a `call` and returns its id; read the answer with expect()."""
        id_ = str(next(self._ids))
        await self.send({'type': 'call', 'id': id_, 'method': method, 'payload': list(args)})
        return id_

    async def result(self, method, *args):
        id_ = await self.call(method, *args)
        return (await self.expect('result', id=id_))['payload']

    async def ping(self):
        """A round trip: everything the server queued for us before it is read first."""
        await self.send({'type': 'ping'})
        return await self.expect('pong')

    async def close(self):
        await bounded(self.ws.close(), 'the close handshake')

    async def closed(self):
        """Waits for the server to close; returns (code, reason)."""
        await bounded(self.ws.wait_closed(), 'the server to close the connection')
        return self.ws.close_code, self.ws.close_reason


class ServerTestCase(unittest.IsolatedAsyncioTestCase):
    """Starts `example` for each test; at the end every client is closed and the server
    must exit with status 0 on SIGTERM."""

    example = None
    server_args = ()    # more arguments for the example
    server_env = None   # its environment, if not ours

    def server_argv(self):
        """The server's argv; a test of its own server overrides this."""
        return server_command(self.example, args=self.server_args)

    async def asyncSetUp(self):
        self.server = Server(self.server_argv(), env=self.server_env)
        self.clients = []
        self.addAsyncCleanup(self.server.kill)
        await self.server.start()

    async def connect(self, path, **kwargs):
        client = await Client.connect(self.server.url(path), **kwargs)
        self.clients.append(client)
        return client

    async def asyncTearDown(self):
        for client in self.clients:
            await client.close()
        if self.server.proc.returncode is None:
            self.server.signal(signal.SIGTERM)
        status = await self.server.wait()
        self.assertEqual(status, 0, f'{self.server.argv} exit status')


class TapResult(unittest.TestResult):
    """Test Anything Protocol on stdout, one line per test, for meson's protocol: 'tap'."""

    def __init__(self, stream=None, descriptions=None, verbosity=0):
        super().__init__(stream, descriptions, verbosity)
        self.number = 0
        self._problems = []
        self._skip = None

    def _name(self, test):
        if isinstance(test, unittest.TestCase) and hasattr(test, '_testMethodName'):
            return f'{type(test).__name__}.{test._testMethodName}'
        return str(test)

    def startTest(self, test):
        super().startTest(test)
        self._problems, self._skip = [], None

    def _problem(self, test, err):
        self._problems.append(self._exc_info_to_string(err, test))

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._problem(test, err)

    def addError(self, test, err):
        super().addError(test, err)
        if not isinstance(test, unittest.TestCase):
            # setUpModule/setUpClass failed: report it on a line of its own
            self._report(test, [self._exc_info_to_string(err, test)])
            return
        self._problem(test, err)

    def addSubTest(self, test, subtest, err):
        super().addSubTest(test, subtest, err)
        if err is not None:
            self._problem(subtest, err)

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self._skip = reason

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        self._problems.append('unexpected success')

    def _report(self, test, problems, skip=None):
        self.number += 1
        line = f'{"not ok" if problems else "ok"} {self.number} - {self._name(test)}'
        if skip is not None:
            line += f' # SKIP {skip}'
        for problem in problems:
            for text in problem.rstrip().splitlines():
                sys.stderr.write(f'# {text}\n')
        print(line, flush=True)

    def stopTest(self, test):
        super().stopTest(test)
        self._report(test, self._problems, self._skip)

    def addNotRun(self, test, why):
        self.startTest(test)
        self.failures.append((test, why))
        self._problems.append(why)
        self.stopTest(test)


def _flatten(suite):
    for test in suite:
        if isinstance(test, unittest.TestSuite):
            yield from _flatten(test)
        else:
            yield test


def main(module='__main__'):
    """Runs the tests of `module` as TAP. `--runtime python|gjs` picks the servers;
    other arguments select tests by name (unittest -k patterns)."""
    global RUNTIME
    parser = argparse.ArgumentParser()
    parser.add_argument('--runtime', choices=['python', 'gjs', 'c'], default='python')
    parser.add_argument('-k', dest='patterns', action='append', default=[],
                        help='only tests whose name contains this')
    args = parser.parse_args()
    RUNTIME = args.runtime

    if RUNTIME == 'gjs' and not shutil.which('gjs'):
        print('1..0 # SKIP gjs is not installed', flush=True)
        return 0

    loader = unittest.TestLoader()
    loader.testNamePatterns = [f'*{p}*' for p in args.patterns] or None
    # Flat, one test at a time (the tests have no class or module fixtures).
    tests = list(_flatten(loader.loadTestsFromModule(sys.modules[module])))
    print(f'1..{len(tests)}', flush=True)
    result = TapResult()
    deadline = time.monotonic() + BUDGET
    for test in tests:
        if time.monotonic() > deadline:
            result.addNotRun(test, f'not run: the suite passed its {BUDGET:g} s budget')
        else:
            test(result)
    return 0 if result.wasSuccessful() else 1
