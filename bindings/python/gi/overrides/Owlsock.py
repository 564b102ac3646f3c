# Owlsock.py: PyGObject overrides for Owlsock-1
#
# Installed into PyGObject's gi/overrides directory, so that
# `from gi.repository import Owlsock` loads it. Where the C API takes a
# JsonNode, the overridden methods take Python values too: dict, list,
# tuple, str, int, float, bool and None, converted to JSON exactly (int
# stays int, float stays float); a Json.Node passes through unchanged.
# Values JSON cannot hold are refused before anything is sent: TypeError for
# a type it has no form for or a key that is not a str, ValueError for NaN,
# infinities, an int outside 64 bits and a container that holds itself.
#
# Signal handlers still get Json.Node; Owlsock.to_python() turns one into
# Python values, and Connection.connect_message() / connect_event() connect
# handlers that get them already converted.
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import json
import math

from gi.repository import GLib, Json

from ..module import get_introspection_module
from ..overrides import override

Owlsock = get_introspection_module('Owlsock')

__all__ = ['to_node', 'to_python']

_INT64_MIN = -2 ** 63
_INT64_MAX = 2 ** 63 - 1


def _where(path):
    return ''.join(path) or 'the top level'


def _check(value, path, seen):
    """Raises TypeError or ValueError when `value` (at `path`) has no exact JSON form."""
    if value is None or isinstance(value, (str, bool)):
        return
    if isinstance(value, int):
        if not _INT64_MIN <= value <= _INT64_MAX:
            raise ValueError(f'Owlsock: the int at {_where(path)} does not fit in 64 bits, '
                             'which JSON-GLib integers hold; send it as a str')
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f'Owlsock: JSON has no {value!r} (at {_where(path)})')
        return
    if not isinstance(value, (dict, list, tuple)):
        raise TypeError(f'Owlsock: cannot convert {type(value).__name__} at {_where(path)} '
                        'to JSON (dict, list, tuple, str, int, float, bool, None or Json.Node)')
    if id(value) in seen:
        raise ValueError(f'Owlsock: the {type(value).__name__} at {_where(path)} contains itself')
    seen.add(id(value))
    if isinstance(value, dict):
        for key, member in value.items():
            if not isinstance(key, str):
                raise TypeError(f'Owlsock: JSON object keys are str; the key {key!r} of the '
                                f'dict at {_where(path)} is {type(key).__name__}')
            _check(member, path + [f'[{key!r}]'], seen)
    else:
        for index, element in enumerate(value):
            _check(element, path + [f'[{index}]'], seen)
    seen.discard(id(value))


def to_node(value):
    """Converts a Python value to a new Json.Node; a Json.Node is returned as it is.

    dict becomes an object (its keys must be str), list and tuple an array, str a
    string, bool a boolean, int an integer (within 64 bits), float a double (finite),
    None null. Raises TypeError or ValueError for anything else, naming where in
    `value` it is."""
    if isinstance(value, Json.Node):
        return value
    _check(value, [], set())
    return Json.from_string(json.dumps(value, allow_nan=False, ensure_ascii=False))


def to_python(node):
    """Converts a Json.Node to Python values: object to dict, array to list, integer to
    int, double to float, string to str, boolean to bool, null (and None) to None."""
    if node is None:
        return None
    try:
        return json.loads(Json.to_string(node, False))
    except ValueError:
        # JSON-GLib writes a non-finite double that C code put in a node as "inf.0".
        raise ValueError('Owlsock: the Json.Node holds a value JSON cannot represent') from None


def _to_node_or_none(value):
    return None if value is None else to_node(value)


class _Envelope:
    """What Connection and SocketClient share: the envelope with Python values."""

    def send(self, message):
        """Sends `message` (a Json.Node or a Python value, see Owlsock.to_node)."""
        return super().send(to_node(message))

    def call_async(self, method, params, *args, **kwargs):
        return super().call_async(method, _to_node_or_none(params), *args, **kwargs)

    def request_async(self, payload, *args, **kwargs):
        return super().request_async(_to_node_or_none(payload), *args, **kwargs)

    def connect_message(self, handler, *user_data, type=None):
        """Connects `handler(conn, message, *user_data)` to `message` (or to
        `message::TYPE` when `type` is given), with `message` as Python values.
        Returns the handler id, for disconnect()."""
        signal = 'message' if type is None else f'message::{type}'
        return self.connect(signal, lambda conn, node, *rest: handler(conn, to_python(node), *rest),
                            *user_data)

    def connect_event(self, handler, *user_data, event=None):
        """Connects `handler(conn, event, payload, *user_data)` to `event` (or to
        `event::NAME` when `event` is given), with `payload` as Python values.
        Returns the handler id, for disconnect()."""
        signal = 'event' if event is None else f'event::{event}'
        return self.connect(signal,
                            lambda conn, name, node, *rest: handler(conn, name, to_python(node), *rest),
                            *user_data)


class Connection(_Envelope, Owlsock.Connection):

    def notify_event(self, event, payload=None):
        """Sends the event `event` with `payload` (a Json.Node, a Python value or None)."""
        return super().notify_event(event, _to_node_or_none(payload))

    def set_presence_info(self, info):
        """Sets the `info` of the connection's presence entries (a dict, a Json.Node or None)."""
        return super().set_presence_info(_to_node_or_none(info))


Connection = override(Connection)
__all__.append('Connection')


class SocketClient(_Envelope, Owlsock.SocketClient):

    def send_event(self, event, payload=None):
        """Sends the event `event` with `payload` (a Json.Node, a Python value or None)."""
        return super().send_event(event, _to_node_or_none(payload))


SocketClient = override(SocketClient)
__all__.append('SocketClient')


class SocketService(Owlsock.SocketService):

    def broadcast(self, room, message, except_conn=None):
        """Sends `message` (a Json.Node or a Python value) to every connection in `room`
        but `except_conn`."""
        return super().broadcast(room, to_node(message), except_conn)

    def presence_finish(self, result):
        """The room's presence entries, a list of dicts {id, user, node, info?}."""
        return to_python(super().presence_finish(result))


SocketService = override(SocketService)
__all__.append('SocketService')


class Call(Owlsock.Call):

    def return_value(self, result=None):
        """Answers the call with `result` (a Json.Node, a Python value or None)."""
        return super().return_value(_to_node_or_none(result))

    def get_params_value(self):
        """The call's params (or request's payload) as Python values."""
        return to_python(self.get_params())


Call = override(Call)
__all__.append('Call')


class Auth(Owlsock.Auth):

    def __init__(self, **kwargs):
        # claims: a dict as well as a Json.Object
        claims = kwargs.get('claims')
        if claims is not None and not isinstance(claims, Json.Object):
            if not isinstance(claims, dict):
                raise TypeError('Owlsock.Auth: claims is a dict or a Json.Object')
            kwargs['claims'] = to_node(claims).get_object()
        super().__init__(**kwargs)

    @property
    def claims(self):
        """The token's claims as a dict, or None when the auth has none."""
        text = self.dup_claims_json()
        return None if text is None else json.loads(text)

    def get_claim_value(self, name, default=None):
        """The claim `name` as Python values, or `default` when there is no such claim."""
        node = self.get_claim(name)
        return default if node is None else to_python(node)


Auth = override(Auth)
__all__.append('Auth')


class Schema(Owlsock.Schema):

    @classmethod
    def new_from_node(cls, node):
        return super().new_from_node(to_node(node))

    def validate(self, instance):
        return super().validate(to_node(instance))


Schema = override(Schema)
__all__.append('Schema')


class JwtGuard(Owlsock.JwtGuard):

    def add_secret(self, *args, kid=None):
        """Accepts HS256 tokens signed with a secret: add_secret(secret) or
        add_secret(secret, kid=KID) (the C order add_secret(kid, secret) works too).
        `secret` is bytes (bytearray, memoryview, GLib.Bytes) or a str, used as its
        UTF-8 bytes."""
        if len(args) == 2 and kid is None:
            kid, secret = args
        elif len(args) == 1:
            (secret,) = args
        else:
            raise TypeError('add_secret(secret, kid=None) takes the secret and a kid')
        if kid is None:
            return super().add_secret(_secret_bytes(secret))
        return self.add_secret_with_kid(kid, _secret_bytes(secret))


def _secret_bytes(secret):
    if isinstance(secret, str):
        return secret.encode('utf-8')
    if isinstance(secret, GLib.Bytes):
        return secret.get_data()
    if isinstance(secret, (bytes, bytearray, memoryview)):
        return bytes(secret)
    raise TypeError(f'Owlsock.JwtGuard.add_secret: the secret is bytes or str, '
                    f'not {type(secret).__name__}')


JwtGuard = override(JwtGuard)
__all__.append('JwtGuard')
