#!/usr/bin/python3
# gi-docgen-generate.py GI-DOCGEN ARGS...: runs `GI-DOCGEN generate ARGS...`,
# then drops the rows of index.html's table whose link is empty. The basic
# theme shows Website and Source links whether or not they are set, and
# owlsock has no public home to point them at.
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import re
import subprocess
import sys
from pathlib import Path

EMPTY_LINK_ROW = re.compile(r'[ \t]*<tr><td><em>[^<]*</em></td><td><a href="" [^>]*></a></td></tr>\n')


def main(argv):
    status = subprocess.run(argv).returncode
    if status != 0:
        return status
    out = next(a.split('=', 1)[1] for a in argv if a.startswith('--output-dir='))
    index = Path(out) / 'index.html'
    index.write_text(EMPTY_LINK_ROW.sub('', index.read_text()))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
