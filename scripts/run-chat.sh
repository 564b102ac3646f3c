#!/usr/bin/env bash
# The README's first command: installs what is missing, builds, and starts the chat
# example on ws://127.0.0.1:8080/ws/chat/ROOM?name=NAME in the foreground (Ctrl-C stops it).
# Arguments are passed to the example and override the defaults, e.g. --port 9000.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/install-deps.sh
if [[ ! -f build/meson-private/coredata.dat ]]; then
  meson setup build
fi
meson compile -C build examples/chat
exec build/examples/chat --host 127.0.0.1 --port 8080 "$@"
