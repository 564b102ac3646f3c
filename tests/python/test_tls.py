#!/usr/bin/python3
# test_tls.py: wss with certificates made by the test (openssl), a client
# that verifies them, and a certificate reload with a connection kept open.
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import asyncio
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parent))

import websockets
import websockets.exceptions

import owltest
from owltest import bounded

SERVER = Path(__file__).resolve().parent / 'test_tls_server.py'


def make_certificate(directory, name):
    """A self-signed certificate for 127.0.0.1 (an IP SAN, so hostname checks pass)."""
    cert, key = directory / f'{name}.pem', directory / f'{name}-key.pem'
    subprocess.run(['openssl', 'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256',
                    '-nodes', '-days', '1', '-subj', f'/CN={name}',
                    '-addext', 'subjectAltName=IP:127.0.0.1',
                    '-keyout', str(key), '-out', str(cert)],
                   check=True, capture_output=True)
    return cert, key


def trusting(cert):
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(cert))
    context.check_hostname = True
    return context


def rss_kib(pid):
    with open(f'/proc/{pid}/status') as status:
        for line in status:
            if line.startswith('VmRSS:'):
                return int(line.split()[1])
    raise AssertionError(f'no VmRSS for {pid}')


@unittest.skipUnless(shutil.which('openssl'), 'openssl is needed to make certificates')
class TlsTest(unittest.IsolatedAsyncioTestCase):

    async def asyncSetUp(self):
        self.dir = Path(tempfile.mkdtemp(prefix='owlsock-tls-'))
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.first = make_certificate(self.dir, 'first')
        self.second = make_certificate(self.dir, 'second')
        # The server reads these paths again when told to reload.
        self.cert, self.key = self.dir / 'cert.pem', self.dir / 'key.pem'
        shutil.copy(self.first[0], self.cert)
        shutil.copy(self.first[1], self.key)
        self.server = owltest.Server(['/usr/bin/python3', str(SERVER), str(self.cert), str(self.key)])
        self.addAsyncCleanup(self.server.kill)
        await self.server.start()
        self.url = f'wss://127.0.0.1:{self.server.port}/ws/echo'

    async def echo(self, ws, text):
        await bounded(ws.send(text), 'a send')
        self.assertEqual(await bounded(ws.recv(), 'the echo'), text)

    async def test_verified_echo(self):
        """A client that verifies the certificate talks to the server over wss."""
        async with websockets.connect(self.url, ssl=trusting(self.first[0]), open_timeout=5) as ws:
            await self.echo(ws, '{"type":"hello"}')

    async def test_frame_layer_limits(self):
        """wss runs on owlsock's own frame layer too: a 2 MiB message sent in 64 KiB
        fragments passes no frame limit but the whole-message one (1 MiB): close 1009,
        which libsoup's per-frame cap would not give."""
        async with websockets.connect(self.url, ssl=trusting(self.first[0]), open_timeout=5,
                                      max_size=None) as ws:
            await self.echo(ws, '{"before":1}')
            fragments = ['x' * (64 * 1024)] * 32
            try:
                await bounded(ws.send(fragments), 'sending the fragments')
            except websockets.exceptions.ConnectionClosed:
                pass
            with self.assertRaises(websockets.exceptions.ConnectionClosed):
                await bounded(ws.recv(), 'the close')
            self.assertEqual(ws.close_code, 1009)

    async def test_memory_per_connection(self):
        """A held wss connection costs the server tens of KiB, not a copy of the system's
        trust store (a server that asks for no client certificate verifies nothing)."""
        context = trusting(self.first[0])
        warm = [await bounded(websockets.connect(self.url, ssl=context, open_timeout=5), 'a warm-up client')
                for _ in range(5)]
        held = []
        try:
            before = rss_kib(self.server.proc.pid)
            for _ in range(40):
                held.append(await bounded(websockets.connect(self.url, ssl=context, open_timeout=5),
                                          'a held client'))
            for ws in held:
                await self.echo(ws, '{"type":"hold"}')
            per_connection = (rss_kib(self.server.proc.pid) - before) / len(held)
            self.assertLess(per_connection, 256, f'{per_connection:.0f} KiB per held wss connection')
        finally:
            for ws in warm + held:
                await ws.close()

    async def test_untrusted_refused(self):
        """A client that trusts another certificate refuses the server."""
        with self.assertRaises(ssl.SSLCertVerificationError):
            async with websockets.connect(self.url, ssl=trusting(self.second[0]), open_timeout=5):
                pass

    async def test_plain_client_refused(self):
        """A plain ws:// client gets no WebSocket from a TLS listener."""
        with self.assertRaises((websockets.exceptions.InvalidMessage, websockets.exceptions.InvalidHandshake,
                                ConnectionError, asyncio.TimeoutError, EOFError)):
            async with websockets.connect(f'ws://127.0.0.1:{self.server.port}/ws/echo', open_timeout=5):
                pass

    async def test_reload_keeps_connections(self):
        """After a reload, new clients get the new certificate while an open connection
        keeps working."""
        old = await bounded(websockets.connect(self.url, ssl=trusting(self.first[0]), open_timeout=5),
                            'a connection with the first certificate')
        try:
            await self.echo(old, '{"n":1}')
            shutil.copy(self.second[0], self.cert)
            shutil.copy(self.second[1], self.key)
            await bounded(old.send('{"type":"reload"}'), 'the reload request')
            self.assertEqual(await bounded(old.recv(), 'the reload answer'), '{"type":"reloaded"}')
            async with websockets.connect(self.url, ssl=trusting(self.second[0]), open_timeout=5) as new:
                await self.echo(new, '{"n":2}')
            with self.assertRaises(ssl.SSLCertVerificationError):
                async with websockets.connect(self.url, ssl=trusting(self.first[0]), open_timeout=5):
                    pass
            await self.echo(old, '{"n":3}')
        finally:
            await old.close()

    async def asyncTearDown(self):
        if self.server.proc.returncode is None:
            self.server.signal(signal.SIGTERM)
        self.assertEqual(await self.server.wait(), 0)


if __name__ == '__main__':
    owltest.main()
