#!/usr/bin/python3
# owlsockd_standin.py: org.owlmeans.Owlsock1 implemented over made-up
# connections, for the tests of owlsockctl, the bus policy and activation
# while (and where) the real owlsockd is not at hand. It reads the interface
# from data/org.owlmeans.Owlsock1.xml, so it answers with the contract's
# types, and it raises the contract's errors with messages of its own.
#
# Every call it answers is printed on stdout as one JSON line
# {"method": ..., "args": [...]}, after a first line "ready" once it owns the
# name: tests read what owlsockctl sent from there.
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import argparse
import json
import os
import sys
from pathlib import Path

from gi.repository import Gio, GLib

BUS_NAME = 'org.owlmeans.Owlsock1'
PATH = '/org/owlmeans/Owlsock1'
XML = Path(__file__).resolve().parents[2] / 'data' / 'org.owlmeans.Owlsock1.xml'
ERROR = 'org.owlmeans.Owlsock1.Error.'
VERSION = '0.0.0-standin'


class Refused(Exception):
    def __init__(self, name, message):
        super().__init__(message)
        self.name = name


def connections():
    return {
        'c1': {'module': 'chat', 'path': '/ws/chat/lobby', 'params': {'room': 'lobby'},
               'peer': '127.0.0.1:40001', 'user': 'alice', 'scopes': ['chat'],
               'expires-at': 1893456000, 'rooms': ['lobby'], 'state': 'open',
               'buffered': 0, 'dropped': 0},
        'c2': {'module': 'chat', 'path': '/ws/chat/lobby', 'params': {'room': 'lobby'},
               'peer': '127.0.0.1:40002', 'user': 'bob', 'scopes': ['chat'],
               'rooms': ['lobby'], 'state': 'open', 'buffered': 0, 'dropped': 0},
        'c3': {'module': 'echo', 'path': '/ws/echo', 'peer': '[::1]:40003',
               'rooms': [], 'state': 'open', 'buffered': 12, 'dropped': 0},
    }


TYPES = {'params': 'a{ss}', 'query': 'a{ss}', 'scopes': 'as', 'rooms': 'as',
         'expires-at': 'x', 'buffered': 't', 'dropped': 't'}


class Standin:
    def __init__(self, emit):
        self.connections = connections()
        self.emit = emit   # emit(signal name, GLib.Variant of its arguments)

    def connection(self, id):
        if id not in self.connections:
            raise Refused('UnknownConnection', f'no open connection has the id “{id}”')
        return self.connections[id]

    @staticmethod
    def json_object(text):
        try:
            if isinstance(json.loads(text), dict):
                return
        except ValueError as e:
            raise Refused('InvalidJson', f'invalid JSON: {e}') from None
        raise Refused('InvalidJson', 'invalid JSON: not an object')

    def rooms(self):
        return sorted({room for c in self.connections.values() for room in c['rooms']})

    def members(self, room):
        return sorted(id for id, c in self.connections.items() if room in c['rooms'])

    # The methods, by name; arguments unpacked

    def Send(self, id, text, options):
        self.connection(id)
        self.json_object(text)

    def Broadcast(self, room, text, options):
        self.json_object(text)
        unknown = set(options) - {'exclude'}
        if unknown:
            raise Refused('org.freedesktop.DBus.Error.InvalidArgs',
                          f'unknown option “{unknown.pop()}”')

    def Close(self, id, code, reason):
        self.connection(id)
        if code != 1000 and not 3000 <= code <= 4999:
            raise Refused('InvalidCloseCode',
                          f'{code} is not a close code an application may send (1000, 3000-4999)')
        module = self.connections.pop(id)['module']
        self.emit('ConnectionClosed', GLib.Variant('(ssqs)', (id, module, code, reason)))

    def Join(self, id, room):
        rooms = self.connection(id)['rooms']
        if room not in rooms:
            rooms.append(room)

    def Leave(self, id, room):
        rooms = self.connection(id)['rooms']
        if room in rooms:
            rooms.remove(room)

    def ListConnections(self, filter):
        def matches(c):
            return all((c['rooms'] if key == 'room' else [c.get(key)]).count(value)
                       for key, value in filter.items())
        unknown = set(filter) - {'module', 'user', 'room'}
        if unknown:
            raise Refused('org.freedesktop.DBus.Error.InvalidArgs',
                          f'unknown filter “{unknown.pop()}”')
        return (sorted(id for id, c in self.connections.items() if matches(c)),)

    def DescribeConnection(self, id):
        c = self.connection(id)
        return ({key: GLib.Variant(TYPES.get(key, 's'), value) for key, value in c.items()},)

    def ListRooms(self):
        return (self.rooms(),)

    def RoomMembers(self, room):
        if room not in self.rooms():
            raise Refused('UnknownRoom', f'no room is named “{room}”')
        return (self.members(room),)

    def GetStatistics(self):
        return ({'connections': GLib.Variant('u', len(self.connections)),
                 'messages-in': GLib.Variant('t', 42),
                 'bytes-out': GLib.Variant('t', 4096)},)

    def Reload(self):
        pass

    def properties(self):
        return {'Version': GLib.Variant('s', VERSION),
                'Addresses': GLib.Variant('as', ['ws://127.0.0.1:8080']),
                'Port': GLib.Variant('q', 8080),
                'Connections': GLib.Variant('u', len(self.connections)),
                'Modules': GLib.Variant('as', ['chat', 'echo'])}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--session', action='store_true')
    parser.add_argument('--system', action='store_true')
    parser.add_argument('--address')
    parser.add_argument('--config')   # what activation passes owlsockd; unread
    args = parser.parse_args()

    if args.address:
        bus = Gio.DBusConnection.new_for_address_sync(
            args.address, Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT |
            Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION, None, None)
    else:
        bus = Gio.bus_get_sync(Gio.BusType.SYSTEM if args.system else Gio.BusType.SESSION)
    interface = Gio.DBusNodeInfo.new_for_xml(XML.read_text()).lookup_interface(BUS_NAME)
    standin = Standin(lambda name, args: bus.emit_signal(None, PATH, BUS_NAME, name, args))
    loop = GLib.MainLoop()

    def method_call(connection, sender, path, interface_name, method, parameters, invocation):
        arguments = parameters.unpack()
        print(json.dumps({'method': method, 'args': list(arguments)}), flush=True)
        try:
            reply = getattr(standin, method)(*arguments)
        except Refused as e:
            name = e.name if '.' in e.name else ERROR + e.name
            invocation.return_dbus_error(name, str(e))
            return
        except AttributeError:
            invocation.return_dbus_error(ERROR + 'Unavailable', f'{method}: not in the stand-in')
            return
        out = interface.lookup_method(method).out_args
        signature = '(' + ''.join(arg.signature for arg in out) + ')'
        invocation.return_value(GLib.Variant(signature, reply) if out else None)

    def get_property(connection, sender, path, interface_name, name):
        return standin.properties()[name]

    bus.register_object(PATH, interface, method_call, get_property, None)
    bus.connect('closed', lambda *_: loop.quit())
    reply = bus.call_sync('org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus',
                          'RequestName', GLib.Variant('(su)', (BUS_NAME, 4)),  # DO_NOT_QUEUE
                          GLib.VariantType('(u)'), Gio.DBusCallFlags.NONE, -1, None)
    if reply.unpack()[0] != 1:   # PRIMARY_OWNER
        print(f'owlsockd_standin: could not own {BUS_NAME}', file=sys.stderr)
        return 1
    print('ready', flush=True)
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, 15, loop.quit)  # SIGTERM
    loop.run()
    return 0


if __name__ == '__main__':
    sys.dont_write_bytecode = True
    os.environ.setdefault('G_DEBUG', 'fatal-criticals')
    sys.exit(main())
