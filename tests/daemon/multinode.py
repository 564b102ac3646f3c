# multinode.py: several owlsockd processes and one redis-server, for the
# tests of rooms across processes (issue 14).
#
# Redis runs from Debian's redis-server on a free loopback port (picked by
# binding port 0 and closing; another picked on a clash), without
# persistence, and is ready when it logged so and answered PING. Each node
# is an owlsockd with a bus of its own (a dbus-daemon), since every
# owlsockd owns org.owlmeans.Owlsock1; its port is read from its bus
# property Port, as the other daemon tests do. Every wait has a watchdog.
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import os
import select
import signal
import socket
import subprocess
import time
import unittest

from daemontest import IFACE, NAME, OWLSOCKD, PATH, TIMEOUT, Gio, GLib, wait_for

REDIS_SERVER = '/usr/bin/redis-server'
NO_REDIS = 'owlsock was built without Redis support'

def free_port():
    """A port of 127.0.0.1 that was free a moment ago (bind port 0, close)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def read_line_until(proc, stream, wanted, timeout=TIMEOUT):
    """Reads `stream` (the process's pipe) until a line holds one of `wanted`;
    returns that line, or None when the process exits or the time is up."""
    deadline = time.monotonic() + timeout
    buffer = b''
    while time.monotonic() < deadline:
        ready, _, _ = select.select([stream], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            break
        chunk = os.read(stream.fileno(), 4096)
        if not chunk:
            return None
        buffer += chunk
        *lines, buffer = buffer.split(b'\n')
        for line in lines:
            if any(w in line for w in wanted):
                return line.decode(errors='replace')
    if proc.poll() is None:
        raise AssertionError(f'timed out waiting for {wanted} from {proc.args[0]}')
    return None


def resp_command(port, *args, timeout=TIMEOUT):
    """One Redis command over RESP on a connection of its own; the reply as
    Python values (bytes, int, list, None); an error reply raises."""
    request = b'*%d\r\n' % len(args)
    for arg in args:
        arg = arg if isinstance(arg, bytes) else str(arg).encode()
        request += b'$%d\r\n%s\r\n' % (len(arg), arg)
    with socket.create_connection(('127.0.0.1', port), timeout=timeout) as sock:
        sock.sendall(request)
        return _resp_read(sock.makefile('rb'))


def _resp_read(f):
    line = f.readline()
    if not line:
        raise ConnectionError('Redis closed the connection')
    kind, rest = line[:1], line[1:-2]
    if kind == b'+':
        return rest
    if kind == b'-':
        raise RuntimeError(rest.decode())
    if kind == b':':
        return int(rest)
    if kind == b'$':
        n = int(rest)
        if n < 0:
            return None
        data = f.read(n + 2)
        return data[:-2]
    if kind == b'*':
        n = int(rest)
        return None if n < 0 else [_resp_read(f) for _ in range(n)]
    raise RuntimeError(f'not RESP: {line!r}')


class Redis:
    """redis-server on a free port of 127.0.0.1, no persistence."""

    def __init__(self, workdir):
        self.workdir = str(workdir)
        self.proc = None
        self.port = None

    def start(self, port=None, attempts=5):
        """Starts on `port`, or on a free one (another on a clash)."""
        for _ in range(attempts):
            candidate = port or free_port()
            self.proc = subprocess.Popen([REDIS_SERVER, '--port', str(candidate), '--bind', '127.0.0.1',
                                          '--save', '', '--appendonly', 'no', '--dir', self.workdir],
                                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                         stderr=subprocess.STDOUT)
            line = read_line_until(self.proc, self.proc.stdout, [b'Ready to accept connections'])
            if line is not None and resp_command(candidate, 'PING') == b'PONG':
                self.port = candidate
                return self
            self._reap(kill=True)
            if port is not None:
                raise AssertionError(f'redis-server could not start on port {port}')
        raise AssertionError(f'redis-server did not start in {attempts} attempts')

    def _reap(self, kill=False):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            if kill:
                self.proc.kill()
            else:
                self.proc.terminate()
        self.proc.wait(timeout=TIMEOUT)
        self.proc.stdout.close()
        self.proc = None

    def ping(self):
        return resp_command(self.port, 'PING') == b'PONG'

    def command(self, *args):
        return resp_command(self.port, *args)

    def restart(self):
        """Stopped and started again on the same port (every key lost)."""
        self._reap(kill=True)
        return self.start(self.port)

    def pause(self):
        self.proc.send_signal(signal.SIGSTOP)

    def resume(self):
        self.proc.send_signal(signal.SIGCONT)

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.resume()
        self._reap()


class Bus:
    """A dbus-daemon of its own (the system's session configuration)."""

    def __init__(self):
        self.proc = subprocess.Popen(['dbus-daemon', '--session', '--nofork', '--print-address=1'],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL)
        line = read_line_until(self.proc, self.proc.stdout, [b'unix:'])
        if line is None:
            raise AssertionError('dbus-daemon did not start')
        self.address = line.strip()
        self.conn = Gio.DBusConnection.new_for_address_sync(
            self.address, Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT |
            Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION, None, None)

    def has_owner(self, name):
        reply = self.conn.call_sync('org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus',
                                    'NameHasOwner', GLib.Variant('(s)', (name,)), None,
                                    Gio.DBusCallFlags.NONE, 5000, None)
        return reply.unpack()[0]

    def stop(self):
        self.conn.close_sync(None)
        self.proc.terminate()
        self.proc.wait(timeout=TIMEOUT)
        self.proc.stdout.close()


def node_config(name, redis_port=None, listen='127.0.0.1:0', reuse_port=False, heartbeat=1, broker_extra=''):
    """An owlsockd config: the room behaviour on /ws/chat/:room and echo on
    /ws/echo; the Redis broker when `redis_port` is given, else the local one."""
    broker = (f'[broker]\ntype=redis\naddress=127.0.0.1:{redis_port}\nheartbeat={heartbeat}\nnode={name}\n'
              f'{broker_extra}' if redis_port else f'[broker]\nnode={name}\n{broker_extra}')
    return (f'[service]\nlisten={listen}\nreuse-port={"true" if reuse_port else "false"}\n\n{broker}\n'
            '[module chat]\npath=/ws/chat/:room\nbehaviour=room\n\n'
            '[module echo]\npath=/ws/echo\nbehaviour=echo\n')


class Node:
    """One owlsockd on a bus of its own; `start()` returns None once it is
    on its bus, else its exit code (its stderr is in `log()`)."""

    def __init__(self, workdir, name, config_text):
        self.name = name
        self.workdir = workdir
        self.config = workdir / f'{name}.conf'
        self.config.write_text(config_text)
        self.stderr_path = workdir / f'{name}.stderr'
        self.bus = Bus()
        self.proc = None

    def start(self):
        with open(self.stderr_path, 'wb') as stderr:
            self.proc = subprocess.Popen([OWLSOCKD, '--address', self.bus.address, '--config', str(self.config)],
                                         stdin=subprocess.DEVNULL, stderr=stderr)
        wait_for(lambda: self.proc.poll() is not None or self.bus.has_owner(NAME), f'{self.name} on its bus')
        return self.proc.returncode

    def log(self):
        return self.stderr_path.read_text(errors='replace')

    def call(self, method, signature=None, args=()):
        params = GLib.Variant(f'({signature})', tuple(args)) if signature else None
        reply = self.bus.conn.call_sync(NAME, PATH, IFACE, method, params, None,
                                        Gio.DBusCallFlags.NONE, 5000, None)
        return reply.unpack() if reply is not None else ()

    @property
    def port(self):
        reply = self.bus.conn.call_sync(NAME, PATH, 'org.freedesktop.DBus.Properties', 'Get',
                                        GLib.Variant('(ss)', (IFACE, 'Port')), None,
                                        Gio.DBusCallFlags.NONE, 5000, None)
        return reply.unpack()[0]

    def ids(self):
        return self.call('ListConnections', 'a{sv}', ({},))[0]

    def stats(self):
        return self.call('GetStatistics')[0]

    def broadcast(self, room, text):
        self.call('Broadcast', 'ssa{sv}', (room, text, {}))

    def cpu_seconds(self):
        """User and system CPU time the process used so far."""
        fields = open(f'/proc/{self.proc.pid}/stat').read().rsplit(')', 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')

    def kill9(self):
        self.proc.kill()
        self.proc.wait(timeout=TIMEOUT)

    def pause(self):
        self.proc.send_signal(signal.SIGSTOP)

    def resume(self):
        self.proc.send_signal(signal.SIGCONT)

    def stop(self):
        """SIGTERM, as a service manager stops it; the exit code (or a note)."""
        code = None
        if self.proc is not None and self.proc.poll() is None:
            self.resume()
            self.proc.terminate()
            # The main loop runs meanwhile: the test's clients answer the
            # close frames of the graceful stop.
            try:
                wait_for(lambda: self.proc.poll() is not None, f'{self.name} to exit after SIGTERM')
                code = self.proc.returncode
            except AssertionError:
                self.proc.kill()
                self.proc.wait()
                code = 'no exit after SIGTERM'
        self.bus.stop()
        return code


def start_nodes(testcase, workdir, configs):
    """Starts one node per (name, config text), stopped at the test's end;
    skips the test when owlsockd has no Redis support."""
    nodes = []
    for name, text in configs:
        node = Node(workdir, name, text)
        # Stopped cleanly (or already gone: it failed to start, or was killed).
        testcase.addCleanup(lambda n=node: testcase.assertIn(n.stop(), (0, None), f'{n.name} did not stop cleanly'))
        code = node.start()
        if code is not None:
            if NO_REDIS in node.log():
                raise unittest.SkipTest(f'owlsockd says "{NO_REDIS}": the Redis broker (issue 14, '
                                        'owlsock/broker/) is not in this build; these tests run once it is')
            raise AssertionError(f'{name} exited with {code}: {node.log()}')
        nodes.append(node)
    return nodes
