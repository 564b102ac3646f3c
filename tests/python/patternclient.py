# patternclient.py: the client side of tests/python/test_patterns.py, in one place
#
# The pattern tests ask a client for envelope-level things only: send a message, read the
# next one, call a method (a result, or CallFailed with the error's code, recoverable flag
# and message), send a request and wait for its response, close (with a code), vanish
# without a close frame, wait for the server's close, and see an upgrade refused (the HTTP
# status, the error code and message of the refusal).
#
# Two implementations, both synchronous (every wait bounded by owltest.TIMEOUT):
#
# - OwlPatternClient (owlpatternclient.py): Owlsock.SocketClient, the one the tests use;
#   it needs the typelib, so it is imported only when used.
# - WebsocketsPatternClient (here): Python `websockets` speaking the envelope by hand, on a
#   private asyncio loop run only while it waits. Some tests run with it too, to keep
#   proving that a client owlsock did not write works with the servers; and it alone sees
#   the envelope's `pong` (OwlSocketClient answers and swallows pings and pongs).
#
# Frames that arrive while a call or request waits for its answer (a stream's periodic
# updates) are kept, in order, for the next recv().
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import asyncio
import collections
import http.client
import itertools
import json
import time
import urllib.parse

import owltest


class CallFailed(Exception):
    """A call or request answered with an error: its code (a string such as `not-found`),
    recoverable flag and message (the part of the payload after `|||`)."""

    def __init__(self, code, recoverable, message):
        super().__init__(f'{code}: {message}')
        self.code = code
        self.recoverable = recoverable
        self.message = message


class PatternClient:
    """What both implementations share; see the methods of WebsocketsPatternClient."""

    def expect(self, type_, **fields):
        """The next frame; it must have this `type` and these field values."""
        return owltest.check_frame(self.recv(), type_, fields)


def _type_name(code):
    """'not-found' -> 'NotFoundError', the <Type> of the marshalled @owlmeans/error form."""
    return ''.join(part.capitalize() for part in code.split('-')) + 'Error'


def _failed(frame):
    """The CallFailed an `error` frame stands for; its payload must be `<Type>|||<message>`
    with the <Type> its code names."""
    type_name, sep, message = str(frame.get('payload')).partition('|||')
    assert sep and type_name == _type_name(frame.get('code')), f'a malformed error frame: {frame}'
    return CallFailed(frame['code'], frame.get('recoverable'), message)


def refusal_by_hand(url, token=None):
    """A WebSocket upgrade request for `url` written by hand (http.client), for a refusal:
    (HTTP status, the `code` and `message` of its JSON body)."""
    parts = urllib.parse.urlsplit(url)
    headers = {'Connection': 'Upgrade', 'Upgrade': 'websocket', 'Sec-WebSocket-Version': '13',
               'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ=='}
    if token:
        headers['Authorization'] = f'Bearer {token}'
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=owltest.TIMEOUT)
    try:
        conn.request('GET', parts.path + (f'?{parts.query}' if parts.query else ''), headers=headers)
        answer = conn.getresponse()
        body = json.loads(answer.read())
    finally:
        conn.close()
    return answer.status, body['code'], body['message']


_LOOP = None


def _run(awaitable):
    """Runs the `websockets` side until `awaitable` is done (each is bounded)."""
    global _LOOP
    if _LOOP is None:
        _LOOP = asyncio.new_event_loop()
    return _LOOP.run_until_complete(awaitable)


class WebsocketsPatternClient(PatternClient):
    def __init__(self, client):
        self.raw = client                  # owltest.Client
        self._backlog = collections.deque()
        self._ids = itertools.count(1)

    @classmethod
    def connect(cls, url, token=None):
        headers = {'Authorization': f'Bearer {token}'} if token else None
        return cls(_run(owltest.Client.connect(url, extra_headers=headers)))

    @staticmethod
    def refusal(url, token=None):
        """Opens `url`, which the server must refuse: (HTTP status, code, message)."""
        return refusal_by_hand(url, token)

    def send(self, message):
        _run(self.raw.send(message))

    def recv(self):
        """The next frame: one kept while an answer was awaited, else the next to arrive."""
        return self._backlog.popleft() if self._backlog else _run(self.raw.recv())

    def _answer(self, id_, types):
        """The frame of one of `types` with this id (or an error with it, when it is not
        None); the others are kept. Bounded as a whole: other frames may keep coming."""
        answers = types + ('error',) if id_ is not None else types
        is_answer = lambda msg: msg.get('id') == id_ and msg.get('type') in answers  # noqa: E731
        for msg in self._backlog:               # it came while another answer was awaited
            if is_answer(msg):
                self._backlog.remove(msg)
                return msg
        deadline = time.monotonic() + owltest.TIMEOUT
        while not is_answer(msg := _run(self.raw.recv())):
            self._backlog.append(msg)
            assert time.monotonic() < deadline, f'timed out waiting for the answer to {id_!r}'
        return msg

    def call(self, method, *args):
        """Calls `method`: its result, or CallFailed."""
        id_ = str(next(self._ids))
        self.send({'type': 'call', 'id': id_, 'method': method, 'payload': list(args)})
        msg = self._answer(id_, ('result',))
        if msg['type'] == 'error':
            raise _failed(msg)
        return msg.get('payload')

    def send_request(self, payload):
        """Sends a `request`; returns its id, for response()."""
        id_ = f'req-{next(self._ids)}'
        self.send({'type': 'request', 'id': id_, 'payload': payload})
        return id_

    def response(self, id_):
        """The payload of the `response` with the id of the request `id_`, or CallFailed."""
        msg = self._answer(id_, ('response',))
        if msg['type'] == 'error':
            raise _failed(msg)
        return msg.get('payload')

    def ping(self, id_=None):
        """An envelope ping; returns the pong, whatever came before it is kept."""
        self.send({'type': 'ping', **({'id': id_} if id_ is not None else {})})
        return self._answer(id_, ('pong',))

    def assert_quiet(self):
        """A round trip: nothing was sent to this client before the pong (the server sends
        on one queue per connection, in order)."""
        assert not self._backlog, f'expected nothing, got {list(self._backlog)}'
        self.send({'type': 'ping'})
        msg = _run(self.raw.recv())
        assert msg.get('type') == 'pong', f'expected nothing before the pong, got {msg}'

    def close(self, code=1000, reason=''):
        """Closes with `code` and waits for the close handshake."""
        _run(owltest.bounded(self.raw.ws.close(code, reason), 'the close handshake'))

    def abort(self):
        """Drops the TCP connection without a close frame (1006 on the server)."""
        self.raw.ws.transport.abort()
        _run(owltest.bounded(self.raw.ws.wait_closed(), 'the socket to close'))  # asyncio closes it

    def closed(self):
        """Waits for the server to close; returns (code, reason)."""
        return _run(self.raw.closed())

    def finish(self):
        """At the end of a test: closes the connection if it is still open."""
        self.close()
