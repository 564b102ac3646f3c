#!/usr/bin/python3
# test_units.py: the configured systemd units, activation files and sysusers.d
# file, checked by systemd's own tools and against each other.
#
# systemd-analyze verify needs no running systemd for system units; user
# units need a runtime directory, which the test makes. ExecStart= names the
# installed owlsockd, which verify wants to exist: the checked copies run the
# uninstalled daemon instead (or a stand-in script while there is none).
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import os
import shlex
import sys
import tempfile
import unittest
from pathlib import Path

sys.dont_write_bytecode = True  # no __pycache__ in the source tree

import pkgtest
from pkgtest import UNITS, key_file, run

SYSTEMD_ANALYZE = pkgtest.which('systemd-analyze')
SYSUSERS = pkgtest.which('systemd-sysusers')
BUS_NAME = 'org.owlmeans.Owlsock1'


def exec_start(unit):
    return shlex.split(key_file(unit)['Service']['ExecStart'][0])


@unittest.skipUnless(SYSTEMD_ANALYZE, 'systemd-analyze is not installed (Debian: systemd)')
class Verify(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix='owlsock-units-')
        self.addCleanup(self.tmp.cleanup)
        self.dir = Path(self.tmp.name)

    def copy(self, scope):
        """owlsockd.service and owlsockd.socket of `scope`, as installed, with
        ExecStart= running a program that exists here."""
        service = UNITS / f'owlsockd-{scope}.service'
        installed = exec_start(service)[0]
        program = pkgtest.DAEMON
        if not program.exists():
            program = self.dir / 'owlsockd'
            program.write_text('#!/bin/sh\nexit 0\n')
            program.chmod(0o755)
        text = service.read_text()
        self.assertIn(f'ExecStart={installed} ', text)
        (self.dir / 'owlsockd.service').write_text(
            text.replace(f'ExecStart={installed} ', f'ExecStart={program} '))
        (self.dir / 'owlsockd.socket').write_text((UNITS / f'owlsockd-{scope}.socket').read_text())
        return [str(self.dir / 'owlsockd.service'), str(self.dir / 'owlsockd.socket')]

    def verify(self, units, *options, env=None):
        result = run([SYSTEMD_ANALYZE, *options, 'verify', '--man=no', *units], env=env)
        # Unknown keys and bad values are warnings only: any output fails.
        self.assertEqual((result.returncode, result.stdout + result.stderr), (0, ''))

    def test_system_units(self):
        self.verify(self.copy('system'))

    def test_user_units(self):
        runtime = self.dir / 'runtime'
        runtime.mkdir(mode=0o700)
        env = dict(os.environ, XDG_RUNTIME_DIR=str(runtime))
        self.verify(self.copy('user'), '--user', env=env)

    def test_system_sandbox(self):
        # The exposure score of `systemd-analyze security` (0 best, 10 worst),
        # read offline from the file; 1.2 when written.
        units = self.copy('system')
        result = run([SYSTEMD_ANALYZE, 'security', '--offline=true', '--no-pager',
                      '--threshold=15', units[0]])
        self.assertEqual(result.returncode, 0, result.stdout[-2000:] + result.stderr)

    def test_verify_catches_mistakes(self):
        # The checks above would pass on anything if verify were silent here.
        units = self.copy('system')
        with open(units[0], 'a') as unit:
            unit.write('ProtectSytem=strict\n')
        result = run([SYSTEMD_ANALYZE, 'verify', '--man=no', units[0]])
        self.assertIn("Unknown key 'ProtectSytem'", result.stderr)


class Consistency(unittest.TestCase):
    """The activation files start what the units start, under the names they use."""

    def check_scope(self, activation, service, bus_option):
        dbus = key_file(UNITS / activation)['D-BUS Service']
        unit = key_file(UNITS / service)['Service']
        self.assertEqual(dbus['Name'], [BUS_NAME])
        self.assertEqual(dbus['SystemdService'], ['owlsockd.service'])
        self.assertEqual(unit['Type'], ['dbus'])
        self.assertEqual(unit['BusName'], [BUS_NAME])
        self.assertEqual(shlex.split(dbus['Exec'][0]), exec_start(UNITS / service))
        self.assertIn(bus_option, shlex.split(dbus['Exec'][0]))
        return dbus, unit

    def test_session(self):
        self.check_scope('org.owlmeans.Owlsock1.service', 'owlsockd-user.service', '--session')

    def test_system(self):
        dbus, unit = self.check_scope('org.owlmeans.Owlsock1.system-service',
                                      'owlsockd-system.service', '--system')
        self.assertEqual(dbus['User'], unit['User'])
        self.assertEqual(unit['CapabilityBoundingSet'], [''])

    def test_sockets(self):
        for scope in ('user', 'system'):
            socket = key_file(UNITS / f'owlsockd-{scope}.socket')['Socket']
            self.assertEqual(socket['Service'], ['owlsockd.service'])
            self.assertTrue(socket['ListenStream'][0].endswith('8080'))

    def test_policy_names_the_user_and_group(self):
        unit = key_file(UNITS / 'owlsockd-system.service')['Service']
        policy = (UNITS / 'org.owlmeans.Owlsock1.conf').read_text()
        self.assertIn(f'<policy user="{unit["User"][0]}">', policy)
        self.assertIn(f'<policy group="{unit["Group"][0]}">', policy)
        self.assertNotIn('@', policy.replace('@owlmeans', ''))


@unittest.skipUnless(SYSUSERS, 'systemd-sysusers is not installed (Debian: systemd)')
class Sysusers(unittest.TestCase):
    def test_dry_run(self):
        # Reads the real /etc/passwd and /etc/group, writes nothing.
        result = run([SYSUSERS, '--dry-run', str(UNITS / 'owlsock.sysusers')])
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertNotIn('not found', result.stderr)
        self.assertNotIn('ignoring', result.stderr)


if __name__ == '__main__':
    sys.exit(pkgtest.main())
