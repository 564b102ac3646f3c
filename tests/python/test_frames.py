#!/usr/bin/python3
# test_frames.py: owlsock's frame layer seen from Python `websockets` and from a raw socket:
# fragmented messages, permessage-deflate both ways, and a deflate bomb.
#
# The server is test_frames_server.py in a subprocess (echo modules with and without
# permessage-deflate, one with a 64 KiB message limit).
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import asyncio
import json
import os
import random
import re
import signal
import string
import sys
import unittest
import zlib
from pathlib import Path

sys.dont_write_bytecode = True  # no __pycache__ in the source tree

import websockets

import owltest
from owltest import TIMEOUT, bounded

HERE = Path(__file__).resolve().parent
SERVER_ARGV = [owltest.PYTHON, str(HERE / 'test_frames_server.py'), '--host', '127.0.0.1', '--port', '0']
MIB = 1024 * 1024

# ---- a raw client, for frames a library would never send -------------------------------


def mask_bytes(data, key):
    n = len(data)
    if n == 0:
        return b''
    stream = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(data, 'big') ^ int.from_bytes(stream, 'big')).to_bytes(n, 'big')


def build_frame(first_byte, payload, mask=True):
    """One frame: first_byte is FIN | RSV | opcode as on the wire; shortest length form."""
    n = len(payload)
    bit = 0x80 if mask else 0
    head = bytes([first_byte])
    if n < 126:
        head += bytes([bit | n])
    elif n <= 0xFFFF:
        head += bytes([bit | 126]) + n.to_bytes(2, 'big')
    else:
        head += bytes([bit | 127]) + n.to_bytes(8, 'big')
    if mask:
        key = os.urandom(4)
        return head + key + mask_bytes(payload, key)
    return head + payload


def deflate(data, wbits=15):
    """A permessage-deflate payload (RFC 7692 7.2.1): raw deflate, sync flush, tail cut."""
    compressor = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -wbits)
    out = compressor.compress(data) + compressor.flush(zlib.Z_SYNC_FLUSH)
    assert out.endswith(b'\x00\x00\xff\xff')
    return out[:-4]


def inflate(payload, wbits):
    """Inflates one message with a fresh decompressor limited to a 2**wbits window: it fails
    if the sender kept context from an earlier message or used a larger window. (Output
    comes in small pieces: back references into one big output buffer would not be held
    to the window.)"""
    decompressor = zlib.decompressobj(-wbits)
    data = payload + b'\x00\x00\xff\xff'
    out = []
    while data:
        out.append(decompressor.decompress(data, 256))
        data = decompressor.unconsumed_tail
    return b''.join(out)


class Frame:
    def __init__(self, first, payload):
        self.fin = bool(first & 0x80)
        self.rsv1 = bool(first & 0x40)
        self.rsv = first & 0x70
        self.opcode = first & 0x0F
        self.payload = payload


class RawClient:
    """The upgrade by hand on an asyncio stream, then frames in and out."""

    def __init__(self, reader, writer, status, headers):
        self.reader = reader
        self.writer = writer
        self.status = status
        self.headers = headers

    @classmethod
    async def connect(cls, port, path, extensions=None):
        reader, writer = await bounded(asyncio.open_connection('127.0.0.1', port),
                                       f'a TCP connection to port {port}')
        request = (f'GET {path} HTTP/1.1\r\n'
                   f'Host: 127.0.0.1:{port}\r\n'
                   'Connection: Upgrade\r\n'
                   'Upgrade: websocket\r\n'
                   'Sec-WebSocket-Version: 13\r\n'
                   'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n')
        if extensions:
            request += f'Sec-WebSocket-Extensions: {extensions}\r\n'
        writer.write((request + '\r\n').encode())
        head = await bounded(reader.readuntil(b'\r\n\r\n'), f'the handshake response for {path}')
        lines = head.decode('latin-1').split('\r\n')
        match = re.match(r'HTTP/1\.1 (\d{3}) ', lines[0])
        assert match, f'not an HTTP status line: {lines[0]!r}'
        headers = {}
        for line in lines[1:]:
            if ':' in line:
                name, value = line.split(':', 1)
                headers[name.strip().lower()] = value.strip()
        return cls(reader, writer, int(match.group(1)), headers)

    async def send(self, data):
        """FALSE when the server is gone already."""
        self.writer.write(data)
        try:
            await bounded(self.writer.drain(), 'the socket to take our bytes')
            return True
        except (ConnectionResetError, BrokenPipeError):
            return False

    async def send_frame(self, first_byte, payload, mask=True):
        return await self.send(build_frame(first_byte, payload, mask))

    async def read_frame(self):
        """The next frame, or None when the connection ended."""
        try:
            head = await bounded(self.reader.readexactly(2), 'a frame header')
            length = head[1] & 0x7F
            if length == 126:
                length = int.from_bytes(await bounded(self.reader.readexactly(2), 'a length'), 'big')
            elif length == 127:
                length = int.from_bytes(await bounded(self.reader.readexactly(8), 'a length'), 'big')
            key = await bounded(self.reader.readexactly(4), 'a mask key') if head[1] & 0x80 else None
            payload = await bounded(self.reader.readexactly(length), f'a payload of {length} bytes')
        except (asyncio.IncompleteReadError, ConnectionResetError):
            return None
        assert key is None, 'a server frame was masked'
        return Frame(head[0], payload)

    async def read_close(self):
        """(code, reason) of the server's close frame, skipping other frames;
        (None, None) when the connection ended without one."""
        while True:
            frame = await self.read_frame()
            if frame is None:
                return None, None
            if frame.opcode == 0x8:
                if len(frame.payload) < 2:
                    return 1005, ''
                return int.from_bytes(frame.payload[:2], 'big'), frame.payload[2:].decode()

    async def wait_eof(self):
        try:
            while await bounded(self.reader.read(65536), 'the server to end the connection'):
                pass
        except ConnectionResetError:
            pass
        return True

    async def close(self):
        self.writer.close()
        try:
            await bounded(self.writer.wait_closed(), 'the socket to close')
        except (ConnectionResetError, BrokenPipeError):
            pass


# ---- memory of the server process ------------------------------------------------------

def proc_status_kib(pid, field):
    with open(f'/proc/{pid}/status') as status:
        match = re.search(rf'^{field}:\s+(\d+) kB', status.read(), re.M)
    assert match, f'no {field} in /proc/{pid}/status'
    return int(match.group(1))


def reset_peak_rss(pid):
    """Restarts VmHWM from the current RSS (Linux 4.0 on); False where not allowed."""
    try:
        with open(f'/proc/{pid}/clear_refs', 'w') as clear_refs:
            clear_refs.write('5')
        return True
    except OSError:
        return False


# ---- the tests ---------------------------------------------------------------------------

def random_text(size, seed):
    """Text of about `size` UTF-8 bytes that compresses poorly."""
    rng = random.Random(seed)
    alphabet = string.ascii_letters + string.digits + ' .,;:!?-' + 'éßø€'
    return ''.join(rng.choices(alphabet, k=size))


def fragments(text, size):
    return [text[i:i + size] for i in range(0, len(text), size)]


class FrameTests(unittest.IsolatedAsyncioTestCase):

    async def asyncSetUp(self):
        self.server = owltest.Server(SERVER_ARGV)
        self.clients = []
        self.raws = []
        self.addAsyncCleanup(self.server.kill)
        await self.server.start()

    async def asyncTearDown(self):
        for ws in self.clients:
            await bounded(ws.close(), 'the close handshake')
        for raw in self.raws:
            await raw.close()
        if self.server.proc.returncode is None:
            self.server.signal(signal.SIGTERM)
        status = await self.server.wait()
        self.assertEqual(status, 0, 'test_frames_server.py exit status')

    async def connect(self, path, **kwargs):
        ws = await bounded(websockets.connect(self.server.url(path), open_timeout=TIMEOUT,
                                              close_timeout=TIMEOUT, **kwargs),
                           f'the handshake with {path}')
        self.clients.append(ws)
        return ws

    async def raw(self, path, extensions=None):
        raw = await RawClient.connect(self.server.port, path, extensions)
        self.raws.append(raw)
        self.assertEqual(raw.status, 101)
        return raw

    async def recv_json(self, ws):
        reply = await bounded(ws.recv(), 'a message')
        self.assertIsInstance(reply, str)
        return json.loads(reply)

    async def assert_echo_works(self, path='/ws/echo'):
        """A well-behaved client on the same server: its message comes back."""
        ws = await self.connect(path)
        await bounded(ws.send(json.dumps({'type': 'still-here', 'n': 42})), 'a send')
        self.assertEqual(await self.recv_json(ws), {'type': 'still-here', 'n': 42})

    # -- fragmentation --------------------------------------------------------------------

    async def test_fragmented_messages_are_reassembled(self):
        for path in ('/ws/echo', '/ws/deflate'):
            with self.subTest(path=path):
                ws = await self.connect(path)
                message = {'type': 'frag', 'pad': random_text(5000, 1)}
                text = json.dumps(message, ensure_ascii=False)

                # A few large fragments, then one character per fragment, with empty ones.
                await bounded(ws.send(iter(fragments(text, 1000))), 'a fragmented send')
                self.assertEqual(await self.recv_json(ws), message)

                small = json.dumps({'type': 'tiny', 'n': 1})
                await bounded(ws.send(iter([''] + list(small) + [''])), 'a fragmented send')
                self.assertEqual(await self.recv_json(ws), {'type': 'tiny', 'n': 1})

                # An async iterable, as a producer would stream it.
                async def produce():
                    for part in fragments(text, 333):
                        yield part
                await bounded(ws.send(produce()), 'an async fragmented send')
                self.assertEqual(await self.recv_json(ws), message)
        await self.assert_echo_works()

    async def test_fragments_over_the_limit_are_refused(self):
        ws = await self.connect('/ws/small', compression=None)
        at_limit = fragments(json.dumps({'type': 'pad', 'pad': 'x' * 60000}), 1024)
        await bounded(ws.send(iter(at_limit)), 'a fragmented send under the limit')
        self.assertEqual((await self.recv_json(ws))['pad'], 'x' * 60000)

        over = fragments(json.dumps({'type': 'pad', 'pad': 'x' * 100 * 1024}), 1024)
        try:
            await bounded(ws.send(iter(over)), 'a fragmented send over the limit')
        except websockets.ConnectionClosed:
            pass  # the server may close before the last fragment
        await bounded(ws.wait_closed(), 'the server to close')
        self.assertEqual(ws.close_code, 1009)
        await self.assert_echo_works('/ws/small')

    # -- permessage-deflate -----------------------------------------------------------------

    async def test_deflate_is_negotiated_where_enabled(self):
        ws = await self.connect('/ws/deflate')
        self.assertEqual([ext.name for ext in ws.extensions], ['permessage-deflate'])
        header = ws.response_headers.get('Sec-WebSocket-Extensions', '')
        self.assertIn('permessage-deflate', header)
        self.assertIn('server_no_context_takeover', header)

        plain = await self.connect('/ws/echo')
        self.assertEqual(plain.extensions, [])
        self.assertNotIn('Sec-WebSocket-Extensions', plain.response_headers)
        for client in (ws, plain):
            await bounded(client.send('{"type":"hello"}'), 'a send')
            self.assertEqual(await self.recv_json(client), {'type': 'hello'})

        # A client that does not offer it gets plain frames on the deflate module.
        uncompressed = await self.connect('/ws/deflate', compression=None)
        self.assertEqual(uncompressed.extensions, [])
        await bounded(uncompressed.send('{"type":"plain"}'), 'a send')
        self.assertEqual(await self.recv_json(uncompressed), {'type': 'plain'})

    async def test_compressed_round_trips(self):
        ws = await self.connect('/ws/deflate')
        self.assertEqual([ext.name for ext in ws.extensions], ['permessage-deflate'])
        # The smallest object, then about 10 KB and 500 KB of random text.
        await bounded(ws.send('{}'), 'a send')
        self.assertEqual(await self.recv_json(ws), {})
        for size in (1, 10 * 1000, 500 * 1000):
            with self.subTest(size=size):
                message = {'type': 'text', 'text': random_text(size, size)}
                await bounded(ws.send(json.dumps(message, ensure_ascii=False)), 'a send')
                self.assertEqual(await self.recv_json(ws), message)
        # Compressed and fragmented at once.
        message = {'type': 'text', 'text': random_text(200 * 1000, 7)}
        await bounded(ws.send(iter(fragments(json.dumps(message, ensure_ascii=False), 4096))),
                      'a fragmented send')
        self.assertEqual(await self.recv_json(ws), message)
        await self.assert_echo_works('/ws/deflate')

    async def test_server_compression_policy(self):
        """On the wire: server frames carry RSV1, each inflates alone (no context takeover)
        within a 4 KiB window (12 bits), and client frames may come compressed or not."""
        raw = await self.raw('/ws/deflate', 'permessage-deflate; client_max_window_bits')
        header = raw.headers.get('sec-websocket-extensions', '')
        self.assertIn('permessage-deflate', header)
        self.assertIn('server_no_context_takeover', header)
        # Our own window is what the server allowed us.
        match = re.search(r'client_max_window_bits=(\d+)', header)
        client_bits = int(match.group(1)) if match else 15

        # A block repeated 5000 bytes apart: a 15-bit window would reach back to it.
        block = random_text(5000, 3)
        message = {'type': 'window', 'a': block, 'b': block}
        data = json.dumps(message).encode()
        compressed = deflate(data, client_bits)
        for first, payload in ((0xC1, compressed), (0xC1, compressed), (0x81, data)):
            self.assertTrue(await raw.send_frame(first, payload))
            frame = await raw.read_frame()
            self.assertIsNotNone(frame)
            self.assertEqual(frame.opcode, 0x1)
            self.assertTrue(frame.fin)
            self.assertTrue(frame.rsv1, 'a server message was not compressed')
            self.assertLess(len(frame.payload), len(data) * 0.8)
            self.assertEqual(json.loads(inflate(frame.payload, 12)), message)

        # A compressed message split over frames: RSV1 on the first only.
        payload = compressed
        parts = [payload[i:i + 1000] for i in range(0, len(payload), 1000)]
        for i, part in enumerate(parts):
            first = (0x40 | 0x1 if i == 0 else 0x0) | (0x80 if i == len(parts) - 1 else 0)
            self.assertTrue(await raw.send_frame(first, part))
        frame = await raw.read_frame()
        self.assertEqual(json.loads(inflate(frame.payload, 12)), message)

        # Corrupt compressed data is a protocol error.
        self.assertTrue(await raw.send_frame(0xC1, b'\xff\xff\xff\xff'))
        code, _ = await raw.read_close()
        self.assertEqual(code, 1002)
        await self.assert_echo_works('/ws/deflate')

    async def test_compressed_message_over_the_limit(self):
        """Compressed small, inflated past the module's 64 KiB: 1009."""
        ws = await self.connect('/ws/small')
        self.assertEqual([ext.name for ext in ws.extensions], ['permessage-deflate'])
        await bounded(ws.send(json.dumps({'type': 'pad', 'pad': 'z' * 60000})), 'a send')
        self.assertEqual((await self.recv_json(ws))['pad'], 'z' * 60000)

        await bounded(ws.send(json.dumps({'type': 'pad', 'pad': 'z' * 100000})), 'a send')
        await bounded(ws.wait_closed(), 'the server to close')
        self.assertEqual(ws.close_code, 1009)
        await self.assert_echo_works('/ws/small')

    async def deflate_bomb(self, split):
        pid = self.server.proc.pid
        bomb = await bounded(asyncio.to_thread(deflate, bytes(64 * MIB)), 'compressing 64 MiB')
        self.assertLess(len(bomb), 256 * 1024)   # 64 MiB of zeros in about 64 KiB

        raw = await self.raw('/ws/deflate', 'permessage-deflate')
        self.assertIn('permessage-deflate', raw.headers.get('sec-websocket-extensions', ''))

        peak_reset = reset_peak_rss(pid)
        before = proc_status_kib(pid, 'VmRSS')
        if split:
            parts = [bomb[i:i + 8192] for i in range(0, len(bomb), 8192)]
            for i, part in enumerate(parts):
                first = (0x40 | 0x2 if i == 0 else 0x0) | (0x80 if i == len(parts) - 1 else 0)
                if not await raw.send_frame(first, part):
                    break
        else:
            await raw.send_frame(0xC1, bomb)
        code, reason = await raw.read_close()
        self.assertEqual(code, 1009, f'close reason {reason!r}')
        self.assertTrue(await raw.wait_eof())
        after = proc_status_kib(pid, 'VmHWM' if peak_reset else 'VmRSS')
        sys.stderr.write(f'# server RSS before {before} KiB, '
                         f'{"peak" if peak_reset else "RSS"} after {after} KiB\n')
        self.assertLess(after - before, 16 * 1024)
        await self.assert_echo_works('/ws/deflate')

    async def test_deflate_bomb(self):
        await self.deflate_bomb(split=False)

    async def test_deflate_bomb_fragmented(self):
        await self.deflate_bomb(split=True)


if __name__ == '__main__':
    sys.exit(owltest.main())
