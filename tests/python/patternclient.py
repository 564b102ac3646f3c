# patternclient.py: the client side of tests/python/test_patterns.py, in one place
#
# The pattern tests ask a client for envelope-level things only: send a message, read the
# next one, call a method (a result, or CallFailed with the error frame's code and
# recoverable flag), send a request and wait for the response with its id, ping, close.
# Today it is a Python `websockets` client speaking the envelope by hand (owltest.Client);
# once OwlSocketClient exists, this class is the one place to switch to it (call_async /
# call_finish, whose GError carries the code; `message::TYPE` for the rest), and the
# `websockets` version can stay beside it to keep proving interoperability.
#
# Frames that arrive while a call or request waits for its answer (a stream's periodic
# updates) are kept, in order, for the next recv(), as a client with signals would deliver
# them beside the answer.
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import collections
import itertools

import owltest


class CallFailed(Exception):
    """A call or request answered with an `error` frame."""

    def __init__(self, frame):
        super().__init__(f'{frame.get("code")}: {frame.get("payload")}')
        self.frame = frame
        self.code = frame.get('code')
        self.recoverable = frame.get('recoverable')
        self.payload = frame.get('payload')


class PatternClient:
    def __init__(self, client):
        self.raw = client                  # the transport, for what only a test does (abort)
        self._backlog = collections.deque()
        self._ids = itertools.count(1)

    @classmethod
    async def connect(cls, url, token=None):
        headers = {'Authorization': f'Bearer {token}'} if token else None
        return cls(await owltest.Client.connect(url, extra_headers=headers))

    async def send(self, message):
        await self.raw.send(message)

    async def recv(self):
        """The next frame: one kept while an answer was awaited, else the next to arrive."""
        return self._backlog.popleft() if self._backlog else await self.raw.recv()

    async def expect(self, type_, **fields):
        """The next frame; it must have this `type` and these field values."""
        return owltest.check_frame(await self.recv(), type_, fields)

    async def _answer(self, id_, types):
        """_find(), bounded as a whole: other frames may keep coming meanwhile."""
        return await owltest.bounded(self._find(id_, types), f'the answer to {id_!r}')

    async def _find(self, id_, types):
        """The frame of one of `types` with this id (or an error with it, when it is not
        None); the others are kept."""
        answers = types + ('error',) if id_ is not None else types
        is_answer = lambda msg: msg.get('id') == id_ and msg.get('type') in answers  # noqa: E731
        for msg in self._backlog:               # it came while another answer was awaited
            if is_answer(msg):
                self._backlog.remove(msg)
                return msg
        while not is_answer(msg := await self.raw.recv()):
            self._backlog.append(msg)
        return msg

    async def call(self, method, *args):
        """Calls `method`: its result, or CallFailed."""
        id_ = str(next(self._ids))
        await self.send({'type': 'call', 'id': id_, 'method': method, 'payload': list(args)})
        msg = await self._answer(id_, ('result',))
        if msg['type'] == 'error':
            raise CallFailed(msg)
        return msg.get('payload')

    async def send_request(self, payload):
        """Sends a `request`; returns its id, for response()."""
        id_ = f'req-{next(self._ids)}'
        await self.send({'type': 'request', 'id': id_, 'payload': payload})
        return id_

    async def response(self, id_):
        """The `response` frame to the request `id_`, or CallFailed."""
        msg = await self._answer(id_, ('response',))
        if msg['type'] == 'error':
            raise CallFailed(msg)
        return msg

    async def ping(self, id_=None):
        """An envelope ping; returns the pong, whatever came before it is kept."""
        await self.send({'type': 'ping', **({'id': id_} if id_ is not None else {})})
        return await self._answer(id_, ('pong',))

    async def assert_quiet(self):
        """A round trip: nothing was sent to this client before the pong (the server sends
        on one queue per connection, in order)."""
        assert not self._backlog, f'expected nothing, got {list(self._backlog)}'
        await self.send({'type': 'ping'})
        msg = await self.raw.recv()
        assert msg.get('type') == 'pong', f'expected nothing before the pong, got {msg}'

    async def close(self):
        await self.raw.close()

    def abort(self):
        """Drops the TCP connection without a close frame (1006 on the server)."""
        self.raw.ws.transport.abort()

    async def closed(self):
        """Waits for the server to close; returns (code, reason)."""
        return await self.raw.closed()
