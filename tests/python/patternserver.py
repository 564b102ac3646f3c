# patternserver.py: the example server of tests/python/test_patterns.py, for synchronous tests
#
# The pattern tests wait by iterating GLib's main context (OwlSocketClient), so no asyncio
# loop runs between their steps to read the server's output. A thread of its own reads the
# server's stdout (stderr merged into it) for as long as the server lives: the pipe can never
# fill up and block the server, whatever the main thread is waiting for.
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import queue
import re
import signal
import subprocess
import sys
import threading
import time

import owltest


class PatternServer:
    """An example server in a subprocess; `port` is read from its 'listening on PORT' line,
    every line it prints is kept in `output` (and copied to the test log)."""

    def __init__(self, argv, env=None):
        self.argv = argv
        self.env = env
        self.proc = None
        self.port = None
        self.output = []
        self._lines = queue.Queue()
        self._reader = None

    def start(self):
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, env=self.env)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        deadline = time.monotonic() + owltest.START_TIMEOUT
        while True:
            try:
                line = self._lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f'timed out waiting for "listening on PORT" from {self.argv}') from None
            if match := re.fullmatch(rb'listening on (\d+)\s*', line):
                self.port = int(match.group(1))
                return self
            if not line:
                raise AssertionError(f'{self.argv} exited (status {self.wait()}) before listening')

    def _read(self):
        for line in self.proc.stdout:
            self.output.append(line)
            self._lines.put(line)
            sys.stderr.write(f'[server] {line.decode(errors="replace")}')
        self.proc.stdout.close()
        self._lines.put(b'')

    def url(self, path):
        return f'ws://127.0.0.1:{self.port}{path}'

    def running(self):
        return self.proc.poll() is None

    def signal(self, signum=signal.SIGTERM):
        self.proc.send_signal(signum)

    def wait(self):
        """The exit status, once all the output is read. A graceful stop may wait for a
        peer's close frame (the close timeout and the linger on top of the usual bound)."""
        try:
            status = self.proc.wait(owltest.TIMEOUT + 7)
        except subprocess.TimeoutExpired:
            raise AssertionError(f'timed out waiting for {self.argv[0]} to exit') from None
        self._reader.join(owltest.TIMEOUT)
        assert not self._reader.is_alive(), 'the server output never ended'
        return status

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(owltest.TIMEOUT)
