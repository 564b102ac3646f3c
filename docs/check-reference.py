#!/usr/bin/python3
# check-reference.py DIR: the generated API reference in DIR renders as
# written. TAP, one test per defect kind, each listing the pages that show it:
# - markup shown as text (`&lt;a href=`, `&lt;code>`): gi-docgen reads `@name`,
#   `#Name`, `%NAME` and `name()` as gtk-doc sigils even inside a code span,
#   which breaks the span and everything after it on the line;
# - a stray backtick in the text (the same breakage, when no link follows);
# - a link with an empty target (the index's Website and Source when unset);
# - "the seed", a name users do not know.
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import re
import sys
from pathlib import Path

# Highlighted code and scripts keep their backticks.
VERBATIM = re.compile(r'<(pre|script)\b.*?</\1>', re.S)

CHECKS = [
    ('no markup shown as text', lambda text: re.search(r'&lt;/?(a|code)\b', text)),
    ('no stray backtick in the text', lambda text: '`' in VERBATIM.sub('', text)),
    ('no link with an empty target', lambda text: re.search(r'href=(""|\'\')', text)),
    ('no mention of "the seed"', lambda text: re.search(r'\bseed\b', text, re.I)),
]


def main(directory):
    pages = sorted(Path(directory).glob('*.html'))
    print(f'1..{len(CHECKS) + 1}')
    ok = bool(pages)
    print(f'{"ok" if ok else "not ok"} 1 - the reference has pages ({len(pages)} in {directory})')
    texts = {page.name: page.read_text() for page in pages}
    for number, (name, defect) in enumerate(CHECKS, start=2):
        bad = [page for page, text in texts.items() if defect(text)]
        print(f'{"not ok" if bad else "ok"} {number} - {name}')
        for page in bad:
            print(f'#   {page}')
        ok = ok and not bad
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main(sys.argv[1]))
