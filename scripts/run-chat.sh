#!/usr/bin/env bash
# The README's first command: installs what is missing, builds, and starts owlsockd with
# data/owlsockd-demo.conf in the foreground (Ctrl-C stops it): the chat and the monitor as
# pages at http://127.0.0.1:8080/demo/, their endpoints at ws://127.0.0.1:8080/ws/chat/ROOM
# and ws://127.0.0.1:8080/ws/stats. Prints the pages' addresses, each with a token for the
# demo's placeholder secret (ann: chat and admin, bob: chat); open them in a browser.
#
#   scripts/run-chat.sh [--port PORT] [--host ADDRESS]
#
# owlsockd needs a D-Bus bus: without a session bus (a container, ssh) a private one is
# started with dbus-run-session.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$(pwd)

host=127.0.0.1
port=8080
while (($#)); do
  case $1 in
    --port) port=$2; shift 2 ;;
    --host) host=$2; shift 2 ;;
    *) echo "run-chat: unknown option $1 (--port PORT, --host ADDRESS)" >&2; exit 2 ;;
  esac
done

bash scripts/install-deps.sh
if [[ ! -f build/meson-private/coredata.dat ]]; then
  meson setup build
fi
meson compile -C build daemon/owlsockd tools/owlsock-token

# The demo's configuration with this address and absolute paths.
config=$(mktemp --suffix=.conf)
trap 'rm -f "$config"' EXIT
sed -e "s|^listen=.*|listen=$host:$port|" \
    -e "s|^static-dir=web|static-dir=$root/data/web|" \
    -e "s|^secret-file=owlsockd-secret.example|secret-file=$root/data/owlsockd-secret.example|" \
    data/owlsockd-demo.conf >"$config"

token() {
  build/tools/owlsock-token --secret-file data/owlsockd-secret.example --sub "$1" --scope "$2" --ttl 86400
}
ann=$(token ann "chat admin")
bob=$(token bob chat)
base="http://$host:$port"
cat <<INFO
run-chat: open in a browser (the tokens live a day):
  $base/demo/chat.html?room=lobby#token=$ann
  $base/demo/chat.html?room=lobby#token=$bob
  $base/demo/monitor.html#token=$ann
run-chat: or from a terminal:
  /usr/bin/python3 -m websockets 'ws://$host:$port/ws/chat/lobby?token=$bob'
INFO

daemon=(build/daemon/owlsockd --config "$config")
if [[ -z ${DBUS_SESSION_BUS_ADDRESS:-} ]]; then
  daemon=(dbus-run-session -- "${daemon[@]}")
fi
"${daemon[@]}"
