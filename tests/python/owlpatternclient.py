# owlpatternclient.py: the pattern tests' client (tests/python/patternclient.py) on
# Owlsock.SocketClient
#
# Synchronous: every wait iterates GLib's default main context until its condition holds,
# with a watchdog timeout source (test_api.run_until). Every message the client emits
# (`message`, the signal every `message::TYPE` emission also reaches) goes to an inbox, in
# order; answers to calls and requests never do, the client matching them by id, so frames
# that arrive while a call waits stay in the inbox for recv(). `reconnect` is off: every
# close a test makes or expects is final.
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import collections
import itertools
import re

import gi
gi.require_version('Json', '1.0')
gi.require_version('Owlsock', '1')
from gi.repository import GLib, Owlsock  # noqa: E402

import owltest  # noqa: E402
from patternclient import CallFailed, PatternClient  # noqa: E402
from test_api import run_until  # noqa: E402

TIMEOUT_MS = int(owltest.TIMEOUT * 1000)
REFUSED = re.compile(r'The server refused the upgrade \(HTTP (\d{3})\): (.*)', re.DOTALL)


def _failed(error):
    """The CallFailed an OWL_ERROR GError stands for (code and recoverable flag as owlsock
    defines them for its code)."""
    assert error.matches(Owlsock.error_quark(), error.code), f'not an owlsock error: {error}'
    return CallFailed(Owlsock.error_code_to_string(error.code),
                      Owlsock.error_code_is_recoverable(error.code), error.message)


class OwlPatternClient(PatternClient):
    def __init__(self, url, token):
        self.raw = Owlsock.SocketClient.new(url)
        self.raw.props.reconnect = False
        if token:
            self.raw.set_token(token)            # Authorization: Bearer
        self._inbox = collections.deque()
        self._closes = []
        self._errors = []
        self._requests = {}
        self._ids = itertools.count(1)
        self._gone = False
        self.raw.connect_message(lambda c, message: self._inbox.append(message))
        self.raw.connect('closed', lambda c, code, reason: self._closes.append((code, reason)))
        self.raw.connect('error', lambda c, error: self._errors.append(error))
        self.raw.open()
        run_until(lambda: self.state() in ('connected', 'closed'), f'the handshake with {url}')

    def state(self):
        return self.raw.get_state().value_nick

    @classmethod
    def connect(cls, url, token=None):
        self = cls(url, token)
        assert self.state() == 'connected', f'the upgrade failed: {[e.message for e in self._errors]}'
        return self

    @classmethod
    def refusal(cls, url, token=None):
        """Opens `url`, which the server must refuse: (HTTP status, code, message), from the
        GError the client reports (the refusal's JSON code, the status in its message)."""
        self = cls(url, token)
        if self.state() == 'connected':
            self.close()
            raise AssertionError(f'the upgrade of {url} was not refused')
        assert not self._closes, self._closes
        assert len(self._errors) == 1, [e.message for e in self._errors]
        match = REFUSED.fullmatch(self._errors[0].message)
        assert match, self._errors[0].message
        return int(match.group(1)), _failed(self._errors[0]).code, match.group(2)

    def send(self, message):
        assert self.raw.send(message)

    def recv(self):
        """The next message the client emitted."""
        run_until(lambda: self._inbox, 'a message')
        return self._inbox.popleft()

    def _finish(self, results, finish, what):
        run_until(lambda: results, what, owltest.TIMEOUT + 1)   # the client's timeout first
        try:
            return Owlsock.to_python(finish(results[0]))
        except GLib.Error as error:
            raise _failed(error) from None

    def call(self, method, *args):
        """Calls `method`: its result, or CallFailed."""
        results = []
        self.raw.call_async(method, list(args), TIMEOUT_MS, None, lambda c, r: results.append(r))
        return self._finish(results, self.raw.call_finish, f'the answer to {method}')

    def send_request(self, payload):
        """Sends a `request` (request_async); returns a key for response()."""
        key = f'req-{next(self._ids)}'
        results = self._requests[key] = []
        self.raw.request_async(payload, TIMEOUT_MS, None, lambda c, r: results.append(r))
        return key

    def response(self, key):
        """The payload of the response to the request `key`, or CallFailed."""
        return self._finish(self._requests.pop(key), self.raw.request_finish, f'the response to {key}')

    def assert_quiet(self):
        """A round trip: nothing was emitted before the answer to a call of a method no
        server here has (the server sends on one queue per connection, in order; the client
        never emits pongs, which is why this is not a ping)."""
        assert not self._inbox, f'expected nothing, got {list(self._inbox)}'
        try:
            self.call('owltest-barrier')
        except CallFailed as failed:
            assert failed.code == 'unknown-method', failed
        else:
            raise AssertionError('owltest-barrier answered')
        assert not self._inbox, f'expected nothing before the answer, got {list(self._inbox)}'

    def close(self, code=Owlsock.CLOSE_NORMAL, reason=None):
        """Closes with `code` and waits for the client to end."""
        self.raw.close(code, reason)
        run_until(lambda: self.state() == 'closed', 'the close handshake')

    def abort(self):
        """Drops the TCP connection without a close frame (1006 on the server): disposing
        of the client drops its link as it is."""
        self._gone = True
        self.raw.run_dispose()

    def closed(self):
        """Waits for the server to close; returns (code, reason) from `closed`."""
        run_until(lambda: self._closes, 'the server to close the connection')
        run_until(lambda: self.state() == 'closed', 'the client to end')
        return self._closes[0]

    def finish(self):
        """At the end of a test: closes the client if it is still open."""
        if not self._gone and self.state() != 'closed':
            self.close()
