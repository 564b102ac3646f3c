#!/usr/bin/env bash
# run-bus.sh: owlsockd relaying through a bus handler, next to owlsockd alone
#
#   tests/bench/run-bus.sh [BUILD_DIR]        (from the repository's root; default: build)
#
# A private dbus-daemon, owlsockd on it (pinned to CPU 1) and
# tests/bench/bus-handler (a C handler) beside the load generator (the shared
# harness's wsload, CPU 0). One owlsockd serves four modules:
#
#   /echo         behaviour=echo: owlsockd answers each message itself
#   /bus-echo     behaviour=bus: each message goes to the handler (Message),
#                 which sends it back with Send
#   /room/:room   behaviour=room: each message goes to the others in the room
#   /pub          behaviour=bus: the handler broadcasts each message to the
#                 room "lobby" with Broadcast
#   /batch-echo, /batch-pub: the same through a handler registered with
#                 "batch" (Messages in, SendMany out)
#
# Scenarios (3 s window after 1 s warm-up each, JSON envelope payloads):
#   echo in-process   100 connections, 1 in flight, on /echo
#   echo via bus      the same on /bus-echo (and /batch-echo)
#   fanout in-process 1000 subscribers on /room/lobby, a publisher in the same
#                     room (8 messages not yet delivered to all)
#   fanout via bus    the same subscribers, the publisher on /pub (and /batch-pub)
# Prints msgs/s (fanout: deliveries/s) and p50/p99 for each. Environment:
# ROUNDS (1), SERVER_CPU (1), LOAD_CPU (0).
set -u -o pipefail

BUILD=${1:-build}
ROUNDS=${ROUNDS:-1}
SERVER_CPU=${SERVER_CPU:-1}
LOAD_CPU=${LOAD_CPU:-0}
ROOT=$(pwd)
DAEMON=$BUILD/daemon/owlsockd
HANDLER=$BUILD/tests/bench/bus-handler
WSLOAD=${WSLOAD:-$ROOT/../shared/bench/build/wsload}
XML=$ROOT/data/org.owlmeans.Owlsock1.xml

die() { echo "run-bus.sh: $*" >&2; exit 1; }
[[ -x $DAEMON && -x $HANDLER ]] || die "build first ($DAEMON, $HANDLER)"
[[ -x $WSLOAD ]] || die "no $WSLOAD: build the shared harness (../shared/bench/run.sh builds it)"

tmp=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
  wait 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT

cat >"$tmp/bus.conf" <<EOF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:dir=$tmp</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
EOF

cat >"$tmp/owlsockd.conf" <<EOF
[service]
listen=127.0.0.1:0
# One address opens 1000 connections and sends as fast as it can.
max-connections=100000
max-connections-per-ip=100000
rate-limit=1000000000

[module echo]
path=/echo
behaviour=echo

[module bus-echo]
path=/bus-echo
behaviour=bus

[module room]
path=/room/:room
behaviour=room

[module pub]
path=/pub
behaviour=bus

[module batch-echo]
path=/batch-echo
behaviour=bus

[module batch-pub]
path=/batch-pub
behaviour=bus
EOF

# wait_line FILE: the first line a helper process wrote to FILE (up to 10 s).
wait_line() {
  local line=""
  for _ in $(seq 100); do
    IFS= read -r line <"$1" && [[ -n $line ]] && { echo "$line"; return 0; }
    sleep 0.1   # bounded poll of a helper's output file
  done
  die "no output in $1"
}

dbus-daemon --nofork --nopidfile --config-file="$tmp/bus.conf" --print-address=1 >"$tmp/address" 2>/dev/null &
pids+=($!)
address=$(wait_line "$tmp/address")

taskset -c "$SERVER_CPU" "$DAEMON" --address "$address" --config "$tmp/owlsockd.conf" >"$tmp/owlsockd.log" 2>&1 &
pids+=($!)
port=""
for _ in $(seq 100); do
  port=$(gdbus call --address "$address" --dest org.owlmeans.Owlsock1 --object-path /org/owlmeans/Owlsock1 \
           --method org.freedesktop.DBus.Properties.Get org.owlmeans.Owlsock1 Port 2>/dev/null |
         sed -n 's/.*uint16 \([0-9]*\).*/\1/p')
  [[ -n $port && $port != 0 ]] && break
  sleep 0.1   # polling for the daemon's name, bounded: 10 s
done
[[ -n $port && $port != 0 ]] || die "owlsockd did not come up: $(cat "$tmp/owlsockd.log")"

# One handler per way: one message per call, and batches (the "batch" option).
taskset -c "$LOAD_CPU" "$HANDLER" --address "$address" --xml "$XML" \
  --echo bus-echo --publish pub --room lobby >"$tmp/handler" &
pids+=($!)
ready=$(wait_line "$tmp/handler")
[[ $ready == ready ]] || die "bus-handler: $ready"
taskset -c "$LOAD_CPU" "$HANDLER" --address "$address" --xml "$XML" --batch \
  --echo batch-echo --publish batch-pub --room lobby >"$tmp/batch-handler" &
pids+=($!)
ready=$(wait_line "$tmp/batch-handler")
[[ $ready == ready ]] || die "bus-handler --batch: $ready"

url=ws://127.0.0.1:$port
echo_payload='{"type":"echo","data":"{pad}"}'
tick_payload='{"type":"tick","ts":"{ts}","data":"{pad}"}'

# measure NAME WSLOAD-ARGS...: one wsload run, one result line.
measure() {
  local name=$1
  shift
  local out
  out=$(taskset -c "$LOAD_CPU" "$WSLOAD" --duration 3 --warmup 1 --size 64 "$@" 2>/dev/null | tail -1)
  /usr/bin/python3 - "$name" "$out" <<'PY'
import json, sys
name, line = sys.argv[1], sys.argv[2]
try:
    r = json.loads(line)
except ValueError:
    print(f"{name:20} failed: {line!r}")
    sys.exit(0)
print(f"{name:20} {r['msgs_per_s']:>12,.0f} /s   p50 {r['lat_p50_us'] / 1000:7.2f} ms   "
      f"p99 {r['lat_p99_us'] / 1000:7.2f} ms   errors {r['errors']}")
PY
}

for round in $(seq "$ROUNDS"); do
  echo "# round $round"
  measure "echo in-process" --mode echo --url "$url/echo" --conns 100 --payload "$echo_payload"
  measure "echo via bus" --mode echo --url "$url/bus-echo" --conns 100 --payload "$echo_payload"
  measure "echo via bus, batch" --mode echo --url "$url/batch-echo" --conns 100 --payload "$echo_payload"
  measure "fanout in-process" --mode fanout --url "$url/room/lobby" --pub-url "$url/room/lobby" \
    --conns 1000 --payload "$tick_payload"
  measure "fanout via bus" --mode fanout --url "$url/room/lobby" --pub-url "$url/pub" \
    --conns 1000 --payload "$tick_payload"
  measure "fanout via bus, batch" --mode fanout --url "$url/room/lobby" --pub-url "$url/batch-pub" \
    --conns 1000 --payload "$tick_payload"
done
