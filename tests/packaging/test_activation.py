#!/usr/bin/python3
# test_activation.py: the session activation file starts owlsockd on the
# first call to org.owlmeans.Owlsock1 (a private session dbus-daemon with a
# service directory, as dconf's tests have with GTestDBus, whose bus would
# give the started daemon our stdout, the TAP stream), and the call is
# answered.
#
# The service directory is data/units/uninstalled/, configured from the
# installed file's template, which runs the uninstalled daemon
# (build/daemon/owlsockd) with tests/packaging/owlsockd-activation.conf.
# Until owlsockd is built in this tree, the test runs the same file with its
# program replaced by the stand-in, owlsockd_standin.py, and says so.
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
from pkgtest import BUILD_ROOT, DAEMON, PYTHON, STANDIN, key_file, run

OWLSOCKCTL = str(BUILD_ROOT / 'tools' / 'owlsockctl')
UNINSTALLED = BUILD_ROOT / 'data' / 'units' / 'uninstalled'
SERVICE_FILE = 'org.owlmeans.Owlsock1.service'
SESSION_BUS = '''<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  @listen@
  <auth>EXTERNAL</auth>
  <servicedir>@servicedir@</servicedir>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
'''


class Activation(unittest.TestCase):
    def setUp(self):
        exec_line = shlex.split(key_file(UNINSTALLED / SERVICE_FILE)['D-BUS Service']['Exec'][0])
        self.assertEqual(exec_line[0], str(DAEMON))
        self.assertEqual(exec_line[1], '--session')
        if DAEMON.exists():
            service_dir = str(UNINSTALLED)
            self.version = os.environ['OWLSOCK_VERSION']
        else:
            # The same file, another program: the stand-in takes owlsockd's options.
            tmp = tempfile.TemporaryDirectory(prefix='owlsock-services-')
            self.addCleanup(tmp.cleanup)
            text = (UNINSTALLED / SERVICE_FILE).read_text()
            (Path(tmp.name) / SERVICE_FILE).write_text(
                text.replace(f'Exec={DAEMON} ', f'Exec={PYTHON} {STANDIN} '))
            service_dir = tmp.name
            self.version = '0.0.0-standin'
            sys.stderr.write(f'# {DAEMON} is not built: activating the stand-in\n')

        bus = pkgtest.Bus(SESSION_BUS.replace('@servicedir@', service_dir), session=True)
        self.addCleanup(bus.close)
        self.address = bus.address

    def ctl(self, *args):
        return run([OWLSOCKCTL, '--address', self.address, *args])

    def test_first_call_activates(self):
        result = self.ctl('info')
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn(f'Version: {self.version}\n', result.stdout)
        # The activated daemon stays and answers the next call.
        result = self.ctl('list')
        self.assertEqual(result.returncode, 0, result.stderr)


if __name__ == '__main__':
    sys.exit(pkgtest.main())
