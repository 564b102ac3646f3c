#!/usr/bin/python3
# test_pkgconfig.py: an application written as the README's quick start is,
# `#include <owlsock/owlsock.h>`, compiled and linked with nothing but what
# `pkg-config --cflags --libs owlsock-1` says, then run: against the build
# tree (meson-uninstalled/owlsock-1-uninstalled.pc), and against a copy
# installed with `meson install --destdir` (which also installs the browser client and
# demo pages under share/owlsock/web).
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import json
import os
import re
import sys
import tempfile
import unittest
from pathlib import Path

sys.dont_write_bytecode = True  # no __pycache__ in the source tree

import pkgtest
from pkgtest import BUILD_ROOT, run

CC = os.environ.get('CC') or pkgtest.which('cc')
PKG_CONFIG = pkgtest.which('pkg-config')
MESON = pkgtest.which('meson')

# Uses a type from each folder's public headers and the generated enums.
PROGRAM = r'''
#include <owlsock/owlsock.h>

int
main (void)
{
  g_autoptr(OwlSocketService) service = owl_socket_service_new (NULL);
  g_autoptr(OwlModule) module = owl_module_new ("chat", "/ws/chat/:room");
  g_autoptr(GError) error = NULL;

  if (!owl_socket_service_add_module (service, module, &error))
    return 1;
  g_print ("%s %s %s\n", owl_socket_service_get_alias (service),
           owl_error_code_to_string (OWL_ERROR_NOT_FOUND),
           g_type_name (OWL_TYPE_CONNECTION_STATE));
  return 0;
}
'''



def sanitizer_flags():
    """-fsanitize=... as the build tree was configured with (b_sanitize): an application
    linked against an ASan-built library must link the ASan runtime too, or it aborts
    with "ASan runtime does not come first in initial library list"."""
    options = json.loads((BUILD_ROOT / 'meson-info' / 'intro-buildoptions.json').read_text())
    value = next((o['value'] for o in options if o['name'] == 'b_sanitize'), 'none')
    return [] if value in ('none', '') else [f'-fsanitize={value}']


@unittest.skipUnless(CC and PKG_CONFIG, 'a C compiler and pkg-config are needed')
class Build(unittest.TestCase):
    def setUp(self):
        tmp = tempfile.TemporaryDirectory(prefix='owlsock-pkgconfig-')
        self.addCleanup(tmp.cleanup)
        self.dir = Path(tmp.name)
        (self.dir / 'app.c').write_text(PROGRAM)

    def build_and_run(self, pc_dir, library_dir):
        """Compiles app.c with the flags of owlsock-1 found in `pc_dir`, runs
        it with `library_dir` on the library path, and checks what it says."""
        env = dict(os.environ, PKG_CONFIG_PATH=str(pc_dir))
        flags = run([PKG_CONFIG, '--cflags', '--libs', 'owlsock-1'], env=env)
        self.assertEqual(flags.returncode, 0, flags.stderr)
        app = self.dir / 'app'
        built = run([CC, '-Wall', '-Werror', *sanitizer_flags(), '-o', str(app),
                     str(self.dir / 'app.c'), *flags.stdout.split()], timeout=120)
        self.assertEqual(built.returncode, 0, f'{flags.stdout}\n{built.stderr}')
        ran = run([str(app)], env=dict(os.environ, LD_LIBRARY_PATH=str(library_dir)))
        self.assertEqual((ran.returncode, ran.stdout, ran.stderr),
                         (0, 'socket-server not-found OwlConnectionState\n', ''))

    def test_uninstalled(self):
        self.build_and_run(BUILD_ROOT / 'meson-uninstalled', BUILD_ROOT / 'owlsock')

    @unittest.skipUnless(MESON, 'meson is not on the PATH')
    def test_installed(self):
        destdir = self.dir / 'root'
        installed = run([MESON, 'install', '-C', str(BUILD_ROOT), '--no-rebuild', '--quiet',
                         '--tags', 'devel,runtime', '--destdir', str(destdir)], timeout=120)
        self.assertEqual(installed.returncode, 0, installed.stdout + installed.stderr)
        pcs = list(destdir.glob('**/pkgconfig/owlsock-1.pc'))
        self.assertEqual(len(pcs), 1, pcs)
        # The installed file, with its prefix moved under the destdir.
        text = pcs[0].read_text()
        prefix = re.search(r'^prefix=(.*)$', text, re.M).group(1)
        pc_dir = self.dir / 'pkgconfig'
        pc_dir.mkdir()
        (pc_dir / 'owlsock-1.pc').write_text(
            text.replace(f'prefix={prefix}\n', f'prefix={destdir}{prefix}\n', 1))
        libraries = {p.parent for p in destdir.glob('**/libowlsock-1.so*')}
        self.assertEqual(len(libraries), 1, libraries)
        self.build_and_run(pc_dir, libraries.pop())
        # The browser client and the demo pages, for owlsockd's static-dir.
        web = [p for p in destdir.glob('**/share/owlsock/web') if p.is_dir()]
        self.assertEqual(len(web), 1, web)
        for name in ('client/owlsock-client.js', 'client/package.json', 'demo/chat.html',
                     'demo/monitor.html'):
            self.assertTrue((web[0] / name).is_file(), name)


if __name__ == '__main__':
    sys.exit(pkgtest.main())
