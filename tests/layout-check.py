#!/usr/bin/python3
# layout-check.py: the library's layout, as README.md's "Layout" states it
#
#   tests/layout-check.py [ROOT]      (ROOT: the repository, default ..)
#   tests/layout-check.py --self-test (the check finds what it must, in a
#                                      small tree of its own)
#
# Fails (exit 1, a line per finding) when:
#   - a file includes a header of a layer above its own: the folders of
#     owlsock/ are, from the bottom, wire/, protocol/, auth/, core/, with
#     client/ beside auth/ (over protocol/, under core/; the two siblings
#     never include each other), and broker/ between auth/ and core/ (it
#     may include core/'s broker interface, owl-broker-private.h, which
#     its brokers implement); a folder includes from itself and the
#     folders below it, and everything
#     may include the public face at the top (owl-version-macros.h,
#     owl-error.h, owl-close.h); the umbrella owlsock.h is for applications
#     only, and the generated owl-enums.h belongs to core/;
#   - a source file of the library is longer than MAX_FILE_LINES;
#   - (for the library and for daemon/) a function has more than MAX_FUNCTION_LINES lines of code (blank
#     lines and comments, such as the doc blocks of a class_init, do not
#     count; nor do tables, which are not functions).
# Prints one TAP line, so meson runs it as a test.
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import re
import sys
from pathlib import Path

LAYERS = ['wire', 'protocol', 'auth', 'broker', 'core']
# Folders beside a layer: the same rank, but not each other's.
SIBLINGS = {'client': 'auth'}
FACE = {'owl-version-macros.h', 'owl-error.h', 'owl-close.h'}
# Headers of a layer that one folder below it implements: core/'s broker
# interface, for broker/'s brokers (which core/ then creates).
INTERFACES = {'owl-broker-private.h': {'broker'}}
GENERATED = {'owl-enums.h': 'core'}
MAX_FILE_LINES = 900
MAX_FUNCTION_LINES = 80

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
# GNU style: the return type on its own line, then "name (" at column 0.
FUNCTION_START = re.compile(r'^([a-z_][a-z0-9_]*) \(', re.M)


def rank(folder):
    return LAYERS.index(SIBLINGS.get(folder, folder))


def headers(lib):
    """Header name -> the layer it lives in ('' for the top)."""
    found = {}
    for path in lib.rglob('*.h'):
        folder = path.parent.name if path.parent != lib else ''
        found[path.name] = folder
    found.update(GENERATED)
    return found


def check_includes(lib, where):
    problems = []
    for path in sorted(lib.rglob('*.[ch]')):
        if path.parent == lib:
            continue
        folder = path.parent.name
        for name in INCLUDE.findall(path.read_text()):
            if name == 'config.h' or name in FACE or folder in INTERFACES.get(name, ()):
                continue
            if name == 'owlsock.h':
                problems.append(f'{path.relative_to(lib.parent)}: includes the umbrella owlsock.h')
                continue
            layer = where.get(name)
            if layer is None:
                continue
            if layer == '' or rank(layer) > rank(folder) or \
                    (rank(layer) == rank(folder) and layer != folder):
                problems.append(f'{path.relative_to(lib.parent)} ({folder}/) includes {name} '
                                f'({layer or "the top"}/)')
    return problems


def code_lines(lines):
    """Lines that are neither blank nor comment: doc blocks of properties
    and signals in a class_init are documentation, not code."""
    count, in_comment = 0, False
    for line in lines:
        stripped = line.strip()
        if in_comment:
            in_comment = '*/' not in stripped
            continue
        if stripped.startswith('/*'):
            in_comment = '*/' not in stripped
            continue
        if stripped and not stripped.startswith('//'):
            count += 1
    return count


def function_lengths(text):
    """(name, lines of code) of each function body in GNU-style C."""
    lines = text.split('\n')
    for match in FUNCTION_START.finditer(text):
        start = text.count('\n', 0, match.start())
        # A definition: the declarator ends with ")" and the next line is "{".
        end = start
        while end < len(lines) and not lines[end].rstrip().endswith((')', ');')):
            end += 1
        if end + 1 >= len(lines) or lines[end + 1] != '{':
            continue
        close = end + 1
        while close < len(lines) and lines[close] != '}':
            close += 1
        yield match.group(1), code_lines(lines[end + 2:close])


def check_sizes(lib):
    problems = []
    for path in sorted(lib.rglob('*.[ch]')):
        text = path.read_text()
        n = text.count('\n')
        rel = path.relative_to(lib.parent)
        if n > MAX_FILE_LINES:
            problems.append(f'{rel}: {n} lines (more than {MAX_FILE_LINES})')
        for name, length in function_lengths(text):
            if length > MAX_FUNCTION_LINES:
                problems.append(f'{rel}: {name}() is {length} lines (more than {MAX_FUNCTION_LINES})')
    return problems


def find_problems(root):
    lib = root / 'owlsock'
    problems = check_includes(lib, headers(lib)) + check_sizes(lib)
    # owlsockd keeps to the same sizes (its layers are its own).
    if (root / 'daemon').is_dir():
        problems += check_sizes(root / 'daemon')
    return problems


def self_test():
    """Plants one of each violation in a throwaway tree and expects each
    to be found, and nothing in a clean one."""
    import tempfile
    body = '\n'.join(f'  x += {i};' for i in range(MAX_FUNCTION_LINES + 1))
    planted = {
        'owlsock/core/owl-service-private.h': '#pragma once\n',
        'owlsock/protocol/owl-envelope-private.h': '#pragma once\n',
        'owlsock/wire/owl-up.c': '#include "owl-service-private.h"\n',
        'owlsock/wire/owl-up2.c': '#include "owl-envelope-private.h"\n',
        'owlsock/auth/owl-umbrella.c': '#include "owlsock.h"\n',
        'owlsock/core/owl-fine.c': '#include "owl-envelope-private.h"\n#include "owl-error.h"\n',
        'owlsock/auth/owl-guard-private.h': '#pragma once\n',
        'owlsock/client/owl-side.c': '#include "owl-guard-private.h"\n#include "owl-envelope-private.h"\n',
        'owlsock/core/owl-long.c': f'static int\nlong_one (void)\n{{\n  int x = 0;\n{body}\n  return x;\n}}\n',
        'owlsock/core/owl-big.c': '\n' * (MAX_FILE_LINES + 1),
        'daemon/owld-big.c': '\n' * (MAX_FILE_LINES + 1),
    }
    expected = ['owl-up.c (wire/) includes owl-service-private.h',
                'owl-up2.c (wire/) includes owl-envelope-private.h',
                'owl-umbrella.c: includes the umbrella',
                'owl-side.c (client/) includes owl-guard-private.h',
                'long_one() is',
                'owl-big.c: ',
                'daemon/owld-big.c: ']
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for name, text in planted.items():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_text(text)
        problems = find_problems(root)
    missing = [e for e in expected if not any(e in p for p in problems)]
    extra = [p for p in problems if not any(e in p for e in expected)]
    print('1..1')
    for line in missing:
        print(f'# not found: {line}')
    for line in extra:
        print(f'# found, but not planted: {line}')
    bad = missing or extra
    print(('not ok' if bad else 'ok') + ' 1 layout check finds what was planted')
    return 1 if bad else 0


def main():
    if len(sys.argv) > 1 and sys.argv[1] == '--self-test':
        return self_test()
    root = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent)
    problems = find_problems(root)
    print('1..1')
    for problem in problems:
        print(f'# {problem}')
    print(('not ok' if problems else 'ok') + ' 1 layout: layers, file and function sizes')
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
