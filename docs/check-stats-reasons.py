#!/usr/bin/python3
# check-stats-reasons.py README DUP_STATS_PAGE: the refusal reasons of
# owl_socket_service_dup_stats() (asked of the library, which lists every
# reason from the start) are the ones README.md's Statistics table and the
# method's reference page document: none missing, none extra. TAP.
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import re
import sys
from pathlib import Path

import gi
gi.require_version('Owlsock', '1')
from gi.repository import Owlsock  # noqa: E402


def readme_reasons(text):
    """The first column of the table in the Statistics section."""
    section = text.split('\n## Statistics\n', 1)[1].split('\n## ', 1)[0]
    return set(re.findall(r'^\| `([a-z-]+)` \|', section, re.M))


def page_reasons(html):
    """The code spans between `rejected` and `closes` in the description."""
    start = html.index('<code>rejected</code>') + len('<code>rejected</code>')
    end = html.index('<code>closes</code>', start)
    return set(re.findall(r'<code>([a-z-]+)</code>', html[start:end]))


def main(readme, page):
    stats = Owlsock.SocketService.new(None).dup_stats().unpack()
    code = set(stats['rejected'])
    fresh = bool(code) and not any(stats['rejected'].values())
    print('1..3')
    print(f'{"ok" if fresh else "not ok"} 1 - a new service reports {len(code)} reasons, each at 0')
    ok = fresh
    for number, (name, found) in enumerate([
            ('README.md', readme_reasons(Path(readme).read_text())),
            ('the dup_stats reference', page_reasons(Path(page).read_text()))], start=2):
        good = found == code
        print(f'{"ok" if good else "not ok"} {number} - {name} lists every reason and no other')
        if not good:
            print(f'#   missing: {sorted(code - found)}; not in the library: {sorted(found - code)}')
        ok = ok and good
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main(*sys.argv[1:]))
