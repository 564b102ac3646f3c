#!/usr/bin/env bash
# run-client.sh: what OwlSocketClient costs per message, next to the server
#
#   tests/bench/run-client.sh [BUILD_DIR]        (from the repository's root; default: build)
#
# owlsock's examples/bench-server (pinned to CPU 1) echoes for two load
# generators in turn (pinned to CPU 0), the way the harness in
# ../shared/bench measures echo: 100 connections, one 64-byte JSON text
# message {"type":"echo","data":"xx..."} in flight on each, 3 s window after
# 1 s warm-up.
#
#   wsload       the harness's generator (plain C, epoll, its own framing):
#                what a client costs that does almost nothing but syscalls
#   client-load  tests/bench/client-load: 100 OwlSocketClients on one GLib
#                main loop, send_text() out and the `message` signal in
#
# Each run starts a fresh server; the order alternates each round. For each
# run: msgs/s, p50/p99 round trip, and the CPU time per message of the load
# generator and of the server (user + system over the window, from getrusage
# and /proc/PID/stat, divided by the messages echoed in it). The issue's
# target: client-load's CPU per message no more than the server's. Prints
# every run, then medians and ratios; raw JSON lines go to
# BUILD_DIR/client-bench/. wsload is built from ../shared/bench/wsload.c into
# BUILD_DIR/tests/bench/ unless WSLOAD names one. Environment: ROUNDS (3),
# SERVER_CPU (1), LOAD_CPU (0), WSLOAD, HARNESS (the harness's folder,
# default ../shared/bench).
set -u -o pipefail

BUILD=${1:-build}
ROUNDS=${ROUNDS:-3}
SERVER_CPU=${SERVER_CPU:-1}
LOAD_CPU=${LOAD_CPU:-0}
ROOT=$(pwd)
SERVER=$BUILD/examples/bench-server
CLIENT_LOAD=$BUILD/tests/bench/client-load
WSLOAD=${WSLOAD:-$BUILD/tests/bench/wsload}
HARNESS=${HARNESS:-$ROOT/../shared/bench}/wsload.c
LOADS=(wsload client-load)
PAYLOAD='{"type":"echo","data":"{pad}"}'

die() { echo "run-client.sh: $*" >&2; exit 1; }

for f in "$SERVER" "$CLIENT_LOAD"; do
  [ -x "$f" ] || die "$f missing: build first (meson setup $BUILD && meson compile -C $BUILD)"
done
if [ ! -x "$WSLOAD" ]; then
  [ -f "$HARNESS" ] || die "no $WSLOAD and no $HARNESS to build it from"
  cc -O2 -g -o "$WSLOAD" "$HARNESS" -lm || die "could not build wsload"
fi
command -v taskset >/dev/null || die "needs taskset"
[ "$(nproc)" -gt "$(( SERVER_CPU > LOAD_CPU ? SERVER_CPU : LOAD_CPU ))" ] ||
  die "needs CPUs $SERVER_CPU and $LOAD_CPU"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/owlsock-client-bench.XXXXXX") || die "no temporary folder"
# shellcheck source=bench-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/bench-lib.sh"
cleanup() { stop_server; rm -rf "$TMP"; }
trap cleanup EXIT
trap 'echo "interrupted" >&2; exit 130' INT TERM

mkdir -p "$BUILD/client-bench" || die "cannot write into $BUILD"
RESULTS=$BUILD/client-bench/$(date +%Y%m%d-%H%M%S).jsonl

# start_server -> SRV_PID, SRV_PORT (the server prints "listening on PORT")
start_server() {
  local log=$TMP/server.log
  : >"$log"
  taskset -c "$SERVER_CPU" "$SERVER" --port 0 >"$log" 2>&1 </dev/null &
  SRV_PID=$!
  wait_listening bench-server "$log"
}


declare -A R   # R[load,round,field]
ERRORS=0

# run_one LOAD ROUND
run_one() {
  local name=$1 round=$2 json f url
  local -a cmd
  start_server || return 0
  url=ws://127.0.0.1:$SRV_PORT/echo
  case $name in
    wsload) cmd=("$WSLOAD" --url "$url" --mode echo --payload "$PAYLOAD") ;;
    client-load) cmd=("$CLIENT_LOAD" --url "$url") ;;
  esac
  timeout 120 taskset -c "$LOAD_CPU" "${cmd[@]}" --conns 100 --size 64 --warmup 1 --duration 3 \
    --server-pid "$SRV_PID" >"$TMP/out.json" 2>"$TMP/load.err"
  stop_server
  json=$(tail -n 1 "$TMP/out.json")
  if [ "${json:0:1}" != "{" ]; then
    echo "  round $round  $name: no result:" >&2; tail -n 3 "$TMP/load.err" >&2
    return 0
  fi
  for f in msgs_per_s lat_p50_us lat_p99_us loadgen_cpu_pct server_cpu_pct errors; do
    R[$name,$round,$f]=$(json_num "$f" "$json")
  done
  # CPU µs per message = % of one core × 10^4 / msgs/s, for both loads alike
  R[$name,$round,load_us]=$(awk -v c="${R[$name,$round,loadgen_cpu_pct]}" \
    -v m="${R[$name,$round,msgs_per_s]}" 'BEGIN{if(m>0) printf "%.2f", c*1e4/m}')
  R[$name,$round,srv_us]=$(awk -v c="${R[$name,$round,server_cpu_pct]}" \
    -v m="${R[$name,$round,msgs_per_s]}" 'BEGIN{if(m>0) printf "%.2f", c*1e4/m}')
  printf '  round %s  %-11s %9s msgs/s  p50 %8s  p99 %8s us  load %5s%% %6s us/msg  server %5s%% %6s us/msg  errors %s\n' \
    "$round" "$name" "${R[$name,$round,msgs_per_s]}" "${R[$name,$round,lat_p50_us]}" \
    "${R[$name,$round,lat_p99_us]}" "${R[$name,$round,loadgen_cpu_pct]}" "${R[$name,$round,load_us]}" \
    "${R[$name,$round,server_cpu_pct]}" "${R[$name,$round,srv_us]}" "${R[$name,$round,errors]}" >&2
  echo "{\"load\":\"$name\",\"round\":$round,${json:1}" >>"$RESULTS"
  ERRORS=$((ERRORS + ${R[$name,$round,errors]:-0}))
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN{if(a!="-" && b!="-" && b>0) printf "%.2f", a/b; else print "-"}'; }

echo "# client benchmark: bench-server echo driven by wsload and by client-load (OwlSocketClient)"
echo "# glib $(pkg-config --modversion glib-2.0 2>/dev/null); $(nproc) CPUs" \
  "($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), kernel $(uname -r)"
echo "# server on CPU $SERVER_CPU, load on CPU $LOAD_CPU; $ROUNDS rounds; load average at start:" \
  "$(cut -d' ' -f1-3 /proc/loadavg)"

for r in $(seq "$ROUNDS"); do
  for i in $(seq 0 $((${#LOADS[@]} - 1))); do   # the order alternates each round
    run_one "${LOADS[$(((i + r - 1) % ${#LOADS[@]}))]}" "$r"
    sleep 0.3
  done
done

echo "# load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
declare -A M
printf '%-12s %10s %9s %9s %14s %14s %13s\n' "load" "msgs/s" "p50 us" "p99 us" \
  "load us/msg" "server us/msg" "load/server"
for name in "${LOADS[@]}"; do
  for f in msgs_per_s lat_p50_us lat_p99_us load_us srv_us; do
    vals=()
    for r in $(seq "$ROUNDS"); do vals+=("${R[$name,$r,$f]:-}"); done
    M[$name,$f]=$(median "${vals[@]}")
  done
  printf '%-12s %10s %9s %9s %14s %14s %13s\n' "$name" "${M[$name,msgs_per_s]}" \
    "${M[$name,lat_p50_us]}" "${M[$name,lat_p99_us]}" "${M[$name,load_us]}" "${M[$name,srv_us]}" \
    "$(ratio "${M[$name,load_us]}" "${M[$name,srv_us]}")"
done
printf '%-12s %10s %9s %9s %14s %14s\n' "client/wsload" \
  "$(ratio "${M[client-load,msgs_per_s]}" "${M[wsload,msgs_per_s]}")" \
  "$(ratio "${M[client-load,lat_p50_us]}" "${M[wsload,lat_p50_us]}")" \
  "$(ratio "${M[client-load,lat_p99_us]}" "${M[wsload,lat_p99_us]}")" \
  "$(ratio "${M[client-load,load_us]}" "${M[wsload,load_us]}")" \
  "$(ratio "${M[client-load,srv_us]}" "${M[wsload,srv_us]}")"
echo
echo "medians of $ROUNDS rounds; load/server: the load generator's CPU per message over the server's" \
  "(target for client-load: <= 1); errors over all runs: $ERRORS"
echo "raw results: $RESULTS"
