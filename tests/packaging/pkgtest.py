# pkgtest.py: what the packaging tests share: paths, the TAP runner, bounded
# subprocesses and a private dbus-daemon.
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

SOURCE_ROOT = Path(os.environ.get('OWLSOCK_SOURCE_ROOT', Path(__file__).resolve().parents[2]))
BUILD_ROOT = Path(os.environ.get('OWLSOCK_BUILD_ROOT', SOURCE_ROOT / 'build'))
UNITS = BUILD_ROOT / 'data' / 'units'          # the configured files, as installed
HERE = Path(__file__).resolve().parent
PYTHON = '/usr/bin/python3'                    # the interpreter with PyGObject
TIMEOUT = 5.0                                  # seconds, for every wait
STANDIN = HERE / 'owlsockd_standin.py'
DAEMON = BUILD_ROOT / 'daemon' / 'owlsockd'

# The TAP runner of the Python tests (tests/python/owltest.py), not a copy.
sys.path.insert(0, str(SOURCE_ROOT / 'tests' / 'python'))
import owltest  # noqa: E402

main = owltest.main


def run(argv, timeout=TIMEOUT * 4, **kwargs):
    """Runs argv to its end (bounded), capturing its text output."""
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL, **kwargs)


def key_file(path):
    """The keys of a systemd or D-Bus .service-style file: {section: {key: [values]}}."""
    sections, section = {}, None
    for line in Path(path).read_text().splitlines():
        line = line.strip()
        if not line or line.startswith('#'):
            continue
        if line.startswith('['):
            section = sections.setdefault(line.strip('[]'), {})
        else:
            key, _, value = line.partition('=')
            section.setdefault(key, []).append(value)
    return sections


class Bus:
    """A private dbus-daemon from `config_text` (its <listen> is filled in: a
    socket in a fresh temporary directory). `address` is where to connect.
    Its output, and that of the services it starts, goes to pipes, never to
    the TAP stream. With `session`, the services it starts find it as their
    session bus (DBUS_SESSION_BUS_ADDRESS)."""

    def __init__(self, config_text, session=False):
        self.dir = tempfile.TemporaryDirectory(prefix='owlsock-bus-')
        os.chmod(self.dir.name, 0o755)   # callers may be other users
        self.socket = Path(self.dir.name) / 'bus'
        self.config = Path(self.dir.name) / 'bus.conf'
        self.config.write_text(config_text.replace(
            '@listen@', f'<listen>unix:path={self.socket}</listen>'))
        env = dict(os.environ, DBUS_SESSION_BUS_ADDRESS=f'unix:path={self.socket}') if session else None
        self.proc = subprocess.Popen(
            ['dbus-daemon', '--nofork', '--nopidfile', f'--config-file={self.config}',
             '--print-address=1'],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        line = wait_line(self.proc.stdout, 'the address from dbus-daemon')
        self.address = line.strip()

    def close(self):
        self.proc.terminate()
        try:
            self.proc.wait(TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc.stdout.close()
        self.proc.stderr.close()
        self.dir.cleanup()


def wait_line(stream, what, timeout=TIMEOUT):
    """One line of `stream` (a pipe), within `timeout` seconds."""
    import selectors
    with selectors.DefaultSelector() as selector:
        selector.register(stream, selectors.EVENT_READ)
        if not selector.select(timeout):
            raise AssertionError(f'timed out after {timeout:g} s waiting for {what}')
    line = stream.readline()
    if not line:
        raise AssertionError(f'end of output waiting for {what}')
    return line


def stop(proc):
    """Ends a process this test started, bounded."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def which(program):
    return shutil.which(program) or shutil.which(program, path='/usr/sbin:/sbin:/usr/bin:/bin')


