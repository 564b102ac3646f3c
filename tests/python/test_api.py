#!/usr/bin/python3
# test_api.py: the introspected API as PyGObject sees it, in process, no clients
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import sys
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree

import gi
gi.require_version('Json', '1.0')
gi.require_version('Owlsock', '1')
from gi.repository import GLib, GObject, Owlsock

import owltest


def run_until(predicate, what, timeout=owltest.TIMEOUT):
    """Iterates the default main context until predicate() is true, at most `timeout` s."""
    context = GLib.MainContext.default()
    timed_out = []
    source = GLib.timeout_add(int(timeout * 1000), lambda: timed_out.append(True))
    while not predicate() and not timed_out:
        context.iteration(True)
    if not timed_out:
        GLib.source_remove(source)
    assert predicate(), f'timed out after {timeout:g} s waiting for {what}'


class ApiTests(unittest.TestCase):

    def test_service_alias(self):
        self.assertEqual(Owlsock.SocketService.new(None).get_alias(), 'socket-server')
        self.assertEqual(Owlsock.SocketService.new('hub').get_alias(), 'hub')

    def test_module_accessors(self):
        module = Owlsock.Module.new('chat', '/ws/chat/:room')
        self.assertEqual(module.get_alias(), 'chat')
        self.assertEqual(module.get_path(), '/ws/chat/:room')

    def test_error_codes_have_stable_strings(self):
        self.assertEqual(Owlsock.error_code_to_string(Owlsock.Error.UNKNOWN_METHOD), 'unknown-method')
        self.assertEqual(Owlsock.error_code_to_string(Owlsock.Error.MALFORMED), 'malformed')
        self.assertEqual(Owlsock.error_code_to_string(Owlsock.Error.INVALID_ARGUMENT),
                         'invalid-argument')
        for code in Owlsock.Error.__enum_values__.values():
            with self.subTest(code=code):
                string = Owlsock.error_code_to_string(code)
                self.assertEqual(Owlsock.error_code_from_string(string), (True, code))
        self.assertFalse(Owlsock.error_code_from_string('no-such-code')[0])

    def test_listen_on_any_port_then_stop(self):
        service = Owlsock.SocketService.new(None)
        module = Owlsock.Module.new('echo', '/ws/echo')
        service.add_module(module)
        service.listen('127.0.0.1', 0)
        self.assertGreater(service.get_port(), 0)
        self.assertIs(service.lookup_module('echo'), module)
        self.assertIsNone(service.lookup_module('nope'))
        self.assertEqual(service.get_n_connections(), 0)
        self.assertEqual(service.list_connections(), [])
        self.assertEqual(service.list_room_members('lobby'), [])
        self.assertEqual(service.dup_rooms(), [])

        stopped = []
        service.connect('stopped', lambda service: stopped.append(True))
        service.stop()
        self.assertTrue(service.is_stopping())
        run_until(lambda: stopped, 'the stopped signal')

    def test_module_alias_taken_twice_is_an_error(self):
        service = Owlsock.SocketService.new(None)
        service.add_module(Owlsock.Module.new('echo', '/ws/echo'))
        with self.assertRaises(GLib.Error) as caught:
            service.add_module(Owlsock.Module.new('echo', '/ws/other'))
        self.assertTrue(caught.exception.matches(Owlsock.error_quark(), Owlsock.Error.EXISTS),
                        caught.exception)

    def test_listen_on_a_taken_port_is_an_error(self):
        first = Owlsock.SocketService.new(None)
        first.listen('127.0.0.1', 0)
        second = Owlsock.SocketService.new(None)
        with self.assertRaises(GLib.Error):
            second.listen('127.0.0.1', first.get_port())

    def test_connection_notify_does_not_shadow_gobject_notify(self):
        # The seed's conn.notify() (an event frame to the client) is notify_event():
        # as `notify` it would hide GObject.Object.notify(property_name).
        self.assertIs(Owlsock.Connection.notify, GObject.Object.notify)
        self.assertTrue(callable(getattr(Owlsock.Connection, 'notify_event', None)))


if __name__ == '__main__':
    sys.exit(owltest.main())
