#!/usr/bin/python3
# test_lifecycle.py: `closing`, the timer pattern, `joined`/`left` and run() from Python or GJS
#
#   /usr/bin/python3 tests/python/test_lifecycle.py --runtime python   # tests/python/lifecycle_server.py
#   /usr/bin/python3 tests/python/test_lifecycle.py --runtime gjs      # tests/gjs/lifecycle-server.js
#
# Each test starts a server process, drives it with websockets clients, ends it with
# SIGINT (Ctrl-C) or SIGTERM and reads everything it wrote: exit status 0 and nothing
# on stderr (no KeyboardInterrupt traceback, no error from a timer that outlived its
# connection). The chat example and the README's quick start (extracted from README.md,
# its port made 0) end cleanly on Ctrl-C; with --runtime python, the C quick start too,
# compiled as the README says against the build tree's owlsock-1-uninstalled.pc.
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import asyncio
import json
import os
import re
import shutil
import subprocess
import signal
import sys
import tempfile
import unittest
from pathlib import Path

import websockets

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import owltest  # noqa: E402
from owltest import Client, bounded  # noqa: E402


def lifecycle_command():
    if owltest.RUNTIME == 'gjs':
        return [shutil.which('gjs') or 'gjs', '-m',
                str(owltest.SOURCE_ROOT / 'tests' / 'gjs' / 'lifecycle-server.js')]
    return [owltest.PYTHON, str(owltest.SOURCE_ROOT / 'tests' / 'python' / 'lifecycle_server.py')]


class Process:
    """A server whose stdout and stderr are both kept, to be read once it exited."""

    def __init__(self, argv):
        self.argv = argv
        self.proc = None
        self.port = None

    async def start(self):
        self.proc = await asyncio.create_subprocess_exec(
            *self.argv, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE)
        line = await bounded(self.proc.stdout.readline(), f'"listening on" from {self.argv}',
                             owltest.START_TIMEOUT)
        match = re.fullmatch(rb'listening on (\d+)\s*', line)
        assert match, f'{self.argv} printed {line!r}'
        self.port = int(match.group(1))
        return self

    async def connect(self, path):
        return await Client.connect(f'ws://127.0.0.1:{self.port}{path}')

    async def end_with(self, signum):
        """Sends `signum`; returns (status, rest of stdout, stderr) once it exited."""
        self.proc.send_signal(signum)
        stdout, stderr = await bounded(self.proc.communicate(), f'{self.argv} to exit',
                                       timeout=owltest.TIMEOUT + 7)
        return self.proc.returncode, stdout, stderr

    async def kill(self):
        if self.proc and self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()


async def ticks(client, n):
    """Reads `n` ticks, numbered on."""
    last = 0
    for _ in range(n):
        msg = await client.expect('tick')
        assert msg['n'] > last, msg
        last = msg['n']


async def only_ticks_until_closed(client):
    """Reads until the server closed, every message a tick; returns the close code."""
    async def read_all():
        try:
            while True:
                frame = await client.ws.recv()
                assert json.loads(frame).get('type') == 'tick', frame
        except websockets.ConnectionClosed:
            pass
    await bounded(read_all(), 'the server to close the connection')
    return client.ws.close_code


async def shutdown_then_1001(test, client, skip='tick'):
    """Past messages of type `skip`: the shutdown notice, then close code 1001."""
    while (msg := await client.recv()).get('type') == skip:
        pass
    test.assertEqual((msg.get('type'), msg.get('event')), ('system', 'shutdown'), msg)
    code, _reason = await client.closed()
    test.assertEqual(code, 1001)


def readme_block(heading, fence):
    """The first `fence` code block under `heading` in the README's quick start."""
    readme = (owltest.SOURCE_ROOT / 'README.md').read_text()
    section = readme.split('\n## Quick start\n', 1)[1].split('\n## ', 1)[0]
    return section.split(f'\n{heading}\n', 1)[1].split(f'{fence}\n', 1)[1].split('\n```', 1)[0]


def on_port_0(code, pattern, tell):
    """`code` with its listen line (matching `pattern`) on port 0 instead of 8080, followed
    by the line `tell` that prints 'listening on PORT'."""
    listen = re.search(pattern, code, re.M)
    assert listen, 'the quick start listens on 127.0.0.1:8080'
    return (code[:listen.start()] + listen.group(0).replace('8080', '0') + tell
            + code[listen.end():])


def quick_start(directory):
    """The README's quick start program for the runtime, written to `directory`, as it is
    but for its port: 0 instead of 8080, and the line that tells it after listen()."""
    heading, fence, suffix = (('### GJS', '```js', '.js') if owltest.RUNTIME == 'gjs'
                              else ('### Python', '```python', '.py'))
    tell = ('\nprint(`listening on ${svc.get_port()}`);' if owltest.RUNTIME == 'gjs'
            else '\nprint(f"listening on {svc.get_port()}", flush=True)')
    code = on_port_0(readme_block(heading, fence),
                     r"^svc\.listen\((['\"])127\.0\.0\.1\1, 8080\);?$", tell)
    path = Path(directory) / f'quick-start{suffix}'
    path.write_text(code + '\n')
    if owltest.RUNTIME == 'gjs':
        return [shutil.which('gjs') or 'gjs', '-m', str(path)]
    return [owltest.PYTHON, str(path)]


def c_quick_start(directory):
    """The README's C quick start, on port 0, compiled as the README says (cc and
    pkg-config), against the build tree's owlsock-1-uninstalled.pc."""
    code = on_port_0(readme_block('### C', '```c'),
                     r'^ *!owl_socket_service_listen \(service, "127\.0\.0\.1", 8080, &error\)\)\n'
                     r' *g_error \("%s", error->message\);$',
                     '\n  g_print ("listening on %u\\n", owl_socket_service_get_port (service));')
    source, program = Path(directory) / 'chat.c', Path(directory) / 'chat'
    source.write_text(code + '\n')
    env = dict(os.environ, PKG_CONFIG_PATH=str(owltest.BUILD_ROOT / 'meson-uninstalled'))
    flags = subprocess.run(['pkg-config', '--cflags', '--libs', 'owlsock-1'], env=env,
                           capture_output=True, text=True, timeout=30, check=True).stdout.split()
    built = subprocess.run(['cc', '-Wall', '-Werror', str(source), '-o', str(program),
                            *flags], capture_output=True, text=True, timeout=120)
    assert built.returncode == 0, built.stderr
    return [str(program)]


class LifecycleTests(unittest.IsolatedAsyncioTestCase):

    async def start(self, argv):
        server = Process(argv)
        self.addAsyncCleanup(server.kill)
        return await server.start()

    async def test_timers_stopped_in_closing_then_ctrl_c(self):
        server = await self.start(lifecycle_command())
        leaving = await server.connect('/ws/ticks')        # the client closes
        closed = await server.connect('/ws/ticks')         # the server closes (4000)
        staying = await server.connect('/ws/ticks')        # open until Ctrl-C
        await ticks(leaving, 3)
        await leaving.close()
        await ticks(closed, 3)
        await closed.send({'type': 'bye'})
        self.assertEqual(await only_ticks_until_closed(closed), 4000)
        await ticks(staying, 10)    # 100 ms: a timer not stopped would have fired meanwhile

        status, stdout, stderr = await server.end_with(signal.SIGINT)
        await shutdown_then_1001(self, staying)
        self.assertEqual(stderr.decode(errors='replace'), '')
        self.assertEqual(status, 0)
        self.assertEqual(stdout, b'stopped\n')

    async def test_sigterm_stops_run_too(self):
        server = await self.start(lifecycle_command())
        client = await server.connect('/ws/ticks')
        await ticks(client, 2)
        status, stdout, stderr = await server.end_with(signal.SIGTERM)
        await shutdown_then_1001(self, client)
        self.assertEqual((status, stdout, stderr), (0, b'stopped\n', b''))

    async def test_chat_example_ctrl_c(self):
        server = await self.start(owltest.server_command('chat'))
        clients = [await server.connect(f'/ws/chat/lobby?name={name}') for name in ('ann', 'bob')]
        await clients[0].expect('welcome', name='ann')
        await clients[1].expect('welcome', name='bob')
        await clients[0].expect('presence', event='join', sender='bob')

        status, _stdout, stderr = await server.end_with(signal.SIGINT)
        for client in clients:
            await shutdown_then_1001(self, client, skip=None)
        self.assertEqual(stderr.decode(errors='replace'), '')   # no KeyboardInterrupt traceback
        self.assertEqual(status, 0)

    async def test_readme_quick_start_runs_as_written(self):
        await self.readme_quick_start(quick_start)

    async def test_readme_c_quick_start_builds_and_runs_as_written(self):
        if owltest.RUNTIME != 'python':
            self.skipTest('the C quick start runs once, with the python runtime')
        await self.readme_quick_start(c_quick_start)

    async def readme_quick_start(self, make):
        directory = tempfile.mkdtemp(prefix='owlsock-quick-start-')
        self.addCleanup(shutil.rmtree, directory, True)
        server = await self.start(make(directory))
        ann = await server.connect('/ws/chat/lobby?name=ann')
        bob = await server.connect('/ws/chat/lobby?name=bob')
        await ann.send({'type': 'shout', 'content': 'not a chat-message: nobody gets it'})
        await ann.send({'type': 'chat-message', 'content': 'hi'})
        await bob.expect('room-message', room='lobby', sender='ann', content='hi')
        await ann.ping()   # not to the sender

        status, _stdout, stderr = await server.end_with(signal.SIGINT)
        for client in (ann, bob):
            await shutdown_then_1001(self, client, skip=None)
        self.assertEqual(stderr.decode(errors='replace'), '')
        self.assertEqual(status, 0)

    async def test_joined_and_left_for_presence(self):
        server = await self.start(lifecycle_command())
        ann, bob, cat = [await server.connect('/ws/rooms') for _ in range(3)]
        ids = [(await client.expect('welcome'))['id'] for client in (ann, bob, cat)]

        await ann.send({'type': 'join', 'room': 'lobby'})
        await ann.send({'type': 'join', 'room': 'lobby'})   # in it already: no second joined
        await ann.expect('presence', event='joined', room='lobby', id=ids[0])
        await ann.ping()
        for client, id_ in ((bob, ids[1]), (cat, ids[2])):
            await client.send({'type': 'join', 'room': 'lobby'})
            await ann.expect('presence', event='joined', room='lobby', id=id_)
        await bob.expect('presence', event='joined', room='lobby', id=ids[1])
        await bob.expect('presence', event='joined', room='lobby', id=ids[2])

        await bob.send({'type': 'leave', 'room': 'lobby'})
        await bob.send({'type': 'leave', 'room': 'lobby'})   # not in it: no second left
        await ann.expect('presence', event='left', room='lobby', id=ids[1])
        await bob.ping()                                     # out of the room: told nothing
        await cat.close()                                    # the end leaves every room
        await ann.expect('presence', event='left', room='lobby', id=ids[2])
        await ann.ping()
        await bob.ping()

        status, _stdout, stderr = await server.end_with(signal.SIGTERM)
        self.assertEqual((status, stderr), (0, b''))


if __name__ == '__main__':
    sys.exit(owltest.main())
