#!/usr/bin/python3
# test_policy.py: the system-bus policy (data/units/org.owlmeans.Owlsock1.conf.in)
# loaded into a private dbus-daemon whose defaults are the system bus's, with
# callers run as other users by setpriv.
#
# The policy is configured for this test with user "daemon" and group "users"
# (both fixed by Debian's base-passwd), so no account is created: the
# stand-in owner runs as daemon, the callers as nobody, with or without
# group users among their groups. dbus-daemon reads the caller's groups from
# the socket (SO_PEERGROUPS), so setpriv --groups is what it sees.
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import json
import os
import subprocess
import sys
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree

import pkgtest
from pkgtest import BUILD_ROOT, PYTHON, STANDIN, run

POLICY = BUILD_ROOT / 'tests' / 'packaging' / 'org.owlmeans.Owlsock1-test.conf'
OWLSOCKCTL = str(BUILD_ROOT / 'tools' / 'owlsockctl')
SETPRIV = pkgtest.which('setpriv')

# The defaults of Debian's /usr/share/dbus-1/system.conf, with our policy file
# in place of the included directories.
SYSTEM_BUS = f'''<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  @listen@
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
    <allow send_destination="org.freedesktop.DBus"
           send_interface="org.freedesktop.DBus.Introspectable"/>
    <allow send_destination="org.freedesktop.DBus"
           send_interface="org.freedesktop.DBus.Properties"/>
  </policy>
  <include>{POLICY}</include>
</busconfig>
'''

OWNER = ['--reuid=daemon', '--regid=daemon', '--clear-groups']
MEMBER = ['--reuid=nobody', '--regid=nogroup', '--groups=users']
OTHER = ['--reuid=nobody', '--regid=nogroup', '--clear-groups']

# Prints each ConnectionClosed it receives from owlsockd, and ends on the
# test's own "Done" signal, which the bus delivers after any signal sent
# before it.
SUBSCRIBER = '''
import sys
from gi.repository import Gio, GLib
bus = Gio.DBusConnection.new_for_address_sync(sys.argv[1],
    Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT |
    Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION, None, None)
loop = GLib.MainLoop()
def closed(bus, sender, path, interface, name, args):
    print('ConnectionClosed', args.unpack()[0], flush=True)
def done(*args):   # a named function: a lambda here is not kept alive
    loop.quit()
bus.signal_subscribe('org.owlmeans.Owlsock1', 'org.owlmeans.Owlsock1', 'ConnectionClosed',
                     None, None, 0, closed)
bus.signal_subscribe(None, 'org.owlmeans.Test', 'Done', None, None, 0, done)
bus.call_sync('org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus',
              'GetId', None, None, 0, -1, None)   # the matches are in place
print('subscribed', flush=True)
def timeout():
    print('no Done signal', flush=True)
    loop.quit()
GLib.timeout_add_seconds(5, timeout)
loop.run()
'''


@unittest.skipUnless(os.getuid() == 0, 'callers run as other users: needs root')
@unittest.skipUnless(SETPRIV, 'setpriv is not installed (Debian: util-linux)')
class Policy(unittest.TestCase):
    def setUp(self):
        self.bus = pkgtest.Bus(SYSTEM_BUS)
        self.addCleanup(self.bus.close)

    def start(self, who, program):
        proc = subprocess.Popen([SETPRIV, *who, *program], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        self.addCleanup(proc.stderr.close)
        self.addCleanup(proc.stdout.close)
        self.addCleanup(pkgtest.stop, proc)
        return proc

    def own(self, who=OWNER):
        owner = self.start(who, [PYTHON, str(STANDIN), '--address', self.bus.address])
        self.assertEqual(pkgtest.wait_line(owner.stdout, 'the stand-in owning its name'),
                         'ready\n')
        return owner

    def ctl(self, who, *args):
        return run([SETPRIV, *who, OWLSOCKCTL, '--address', self.bus.address, *args])

    def assert_denied(self, result):
        self.assertEqual(result.returncode, 1, result.stderr)
        self.assertIn('owlsockctl: Rejected send message', result.stderr)

    def test_member_calls(self):
        self.own()
        for who in (MEMBER, []):   # [] is root
            result = self.ctl(who, 'rooms')
            self.assertEqual((result.returncode, result.stdout), (0, 'lobby\n'), result.stderr)
            result = self.ctl(who, 'info')
            self.assertEqual(result.returncode, 0, result.stderr)

    def test_others_are_denied(self):
        self.own()
        for args in (['rooms'], ['info'], ['close', 'c1'], ['send', 'c1', '{}']):
            with self.subTest(args=args):
                self.assert_denied(self.ctl(OTHER, *args))
        # The refused close closed nothing.
        self.assertEqual(self.ctl(MEMBER, 'list').stdout, 'c1\nc2\nc3\n')

    def test_others_may_introspect(self):
        self.own()
        result = run([SETPRIV, *OTHER, 'gdbus', 'introspect', '--address', self.bus.address,
                      '--dest', 'org.owlmeans.Owlsock1', '--object-path', '/org/owlmeans/Owlsock1'])
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn('interface org.owlmeans.Owlsock1 {', result.stdout)

    def test_only_the_daemon_user_owns_the_name(self):
        intruder = self.start(MEMBER, [PYTHON, str(STANDIN), '--address', self.bus.address])
        self.assertEqual(intruder.wait(pkgtest.TIMEOUT), 1)
        self.assertIn('AccessDenied', intruder.stderr.read())
        self.own()

    def test_signals_reach_members_only(self):
        self.own()
        member = self.start(MEMBER, [PYTHON, '-c', SUBSCRIBER, self.bus.address])
        other = self.start(OTHER, [PYTHON, '-c', SUBSCRIBER, self.bus.address])
        for subscriber in (member, other):
            self.assertEqual(pkgtest.wait_line(subscriber.stdout, 'a subscriber'), 'subscribed\n')
        self.assertEqual(self.ctl([], 'close', 'c2').returncode, 0)
        # After Close returned, ConnectionClosed was sent; Done comes after it.
        done = run(['dbus-send', f'--bus={self.bus.address}', '--type=signal', '/',
                    'org.owlmeans.Test.Done'])
        # (sent by root, which the policy does not restrict)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(member.communicate(timeout=pkgtest.TIMEOUT)[0], 'ConnectionClosed c2\n')
        self.assertEqual(other.communicate(timeout=pkgtest.TIMEOUT)[0], '')
        self.assertEqual((member.returncode, other.returncode), (0, 0))


if __name__ == '__main__':
    sys.exit(pkgtest.main())
