#!/usr/bin/env bash
# run-wss.sh: owlsock against plain libsoup over wss://, on this machine
#
#   tests/bench/run-wss.sh [BUILD_DIR]          (from the repository's root; default: build)
#
# The harness in ../shared/bench measures ws:// only; this measures wss://
# with the same method: each server (owlsock's examples/bench-server and
# tests/bench/wss-soup-server, plain libsoup) runs in turn, pinned to CPU 1,
# while wss-load, pinned to CPU 0, drives it; a fresh server for every run,
# the order alternating each round. Scenarios:
#
#   echo     100 connections, one 64-byte JSON message in flight each,
#            3 s window after 1 s warm-up: msgs/s, p50/p99 round trip
#   connect  50 parallel loops of connect + TLS handshake + upgrade + close
#            frame both ways, 3 s window after 1 s: handshakes/s
#   hold     1000 connections (64 handshakes in flight); server RSS growth
#            per connection after the first 100
#
# A throwaway self-signed P-256 certificate is made in a temporary folder.
# Everything stays on 127.0.0.1; servers listen on port 0 (a free port) and
# print it. Prints every run, then medians and owlsock/soup; raw JSON lines
# go to BUILD_DIR/wss-bench/. A shared machine shows in how busy the two
# CPUs were beside the server and wss-load: an echo or connect run where
# something else took more than 20 points of either CPU is repeated, up to
# RETRIES times, and the count of such runs is printed. Environment: ROUNDS
# (3), RETRIES (2), SERVER_CPU (1), LOAD_CPU (0).
set -u -o pipefail

BUILD=${1:-build}
ROUNDS=${ROUNDS:-3}
RETRIES=${RETRIES:-2}
SERVER_CPU=${SERVER_CPU:-1}
LOAD_CPU=${LOAD_CPU:-0}
OWL=$BUILD/examples/bench-server
SOUP=$BUILD/tests/bench/wss-soup-server
LOAD=$BUILD/tests/bench/wss-load
SERVERS=(owlsock soup)
SCENARIOS=(echo connect hold)

die() { echo "run-wss.sh: $*" >&2; exit 1; }

for f in "$OWL" "$SOUP" "$LOAD"; do
  [ -x "$f" ] || die "$f missing: build first (meson setup $BUILD && meson compile -C $BUILD)"
done
for tool in openssl taskset timeout awk; do
  command -v $tool >/dev/null || die "needs $tool"
done
[ "$(nproc)" -gt "$(( SERVER_CPU > LOAD_CPU ? SERVER_CPU : LOAD_CPU ))" ] ||
  die "needs CPUs $SERVER_CPU and $LOAD_CPU"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/owlsock-wss.XXXXXX") || die "no temporary folder"
# shellcheck source=bench-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/bench-lib.sh"
cleanup() { stop_server; rm -rf "$TMP"; }
trap cleanup EXIT
trap 'echo "interrupted" >&2; exit 130' INT TERM

CERT=$TMP/cert.pem KEY=$TMP/key.pem
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
  -keyout "$KEY" -out "$CERT" -days 2 -subj /CN=127.0.0.1 \
  -addext subjectAltName=IP:127.0.0.1 >"$TMP/openssl.log" 2>&1 ||
  { cat "$TMP/openssl.log" >&2; die "openssl could not make a certificate"; }

mkdir -p "$BUILD/wss-bench" || die "cannot write into $BUILD"
RESULTS=$BUILD/wss-bench/$(date +%Y%m%d-%H%M%S).jsonl

# start_server NAME -> SRV_PID, SRV_PORT
start_server() {
  local log=$TMP/server-$1.log
  local -a cmd
  case $1 in
    owlsock) cmd=("$OWL" --port 0 --tls-cert "$CERT" --tls-key "$KEY") ;;
    soup) cmd=("$SOUP" 0 "$CERT" "$KEY") ;;
  esac
  : >"$log"
  taskset -c "$SERVER_CPU" "${cmd[@]}" >"$log" 2>&1 </dev/null &
  SRV_PID=$!
  wait_listening "$1" "$log"
}


declare -A R   # R[scenario,server,round,field]
NOISY=0 REPEATED=0 ERRORS=0

# run_one SCENARIO SERVER ROUND; returns 2 if something else used the CPUs
run_one() {
  local sc=$1 name=$2 round=$3 json key f cpus noisy=false
  R[$sc,$name,$round,disturbed]=
  local -a args busy
  case $sc in
    echo) args=(--mode echo --conns 100 --size 64 --warmup 1 --duration 3) key=msgs_per_s ;;
    connect) args=(--mode connect --conns 50 --warmup 1 --duration 3) key=handshakes_per_s ;;
    hold) args=(--mode hold --conns 1000 --ramp 64 --duration 1) key=rss_per_conn_bytes ;;
  esac
  start_server "$name" || return 0
  timeout 200 taskset -c "$LOAD_CPU" "$LOAD" --url "wss://127.0.0.1:$SRV_PORT/echo" \
    "${args[@]}" --server-pid "$SRV_PID" >"$TMP/out.json" 2>"$TMP/load.err"
  stop_server
  json=$(tail -n 1 "$TMP/out.json")
  if [ "${json:0:1}" != "{" ]; then
    echo "  round $round  $name: wss-load gave no result:" >&2; tail -n 3 "$TMP/load.err" >&2
    return 0
  fi
  for f in $key lat_p50_us lat_p99_us hs_p50_us hs_p99_us server_cpu_pct loadgen_cpu_pct errors; do
    R[$sc,$name,$round,$f]=$(json_num "$f" "$json")
  done
  R[$sc,$name,$round,rate]=${R[$sc,$name,$round,$key]}
  # CPU busy (anyone's) on the load's and the server's CPU: more than
  # wss-load and the server use means something else ran there
  cpus=$(sed -n 's/.*"cpus_busy_pct":\[\([^]]*\)\].*/\1/p' <<<"$json" | tr , ' ')
  read -r -a busy <<<"$cpus"
  printf '  %-7s round %s  %-8s %10s %-18s srv %5s%%  load %5s%%  CPU%s/%s busy %5s%%/%5s%%  errors %s\n' \
    "$sc" "$round" "$name" "${R[$sc,$name,$round,rate]:-null}" "$key" \
    "${R[$sc,$name,$round,server_cpu_pct]}" "${R[$sc,$name,$round,loadgen_cpu_pct]}" \
    "$SERVER_CPU" "$LOAD_CPU" "${busy[$SERVER_CPU]:-?}" "${busy[$LOAD_CPU]:-?}" \
    "${R[$sc,$name,$round,errors]}" >&2
  # hold measures memory, which other work on the machine does not change
  if [ "$sc" != hold ] &&
     awk -v b1="${busy[$SERVER_CPU]:-0}" -v s="${R[$sc,$name,$round,server_cpu_pct]:-0}" \
         -v b0="${busy[$LOAD_CPU]:-0}" -v l="${R[$sc,$name,$round,loadgen_cpu_pct]:-0}" \
         'BEGIN{exit !(b1 - s > 20 || b0 - l > 20)}'; then
    echo "      (the CPUs were busier than server and wss-load: something else ran)" >&2
    noisy=true
    R[$sc,$name,$round,disturbed]=1
  fi
  echo "{\"scenario\":\"$sc\",\"server\":\"$name\",\"round\":$round,\"disturbed\":$noisy,${json:1}" >>"$RESULTS"
  ERRORS=$((ERRORS + ${R[$sc,$name,$round,errors]:-0}))
  [ "${R[$sc,$name,$round,errors]}" = 0 ] || sed 's/^/      /' "$TMP/load.err" | head -n 3 >&2
  [ $noisy = false ] || return 2
}


# row LABEL SCENARIO FIELD: every round and the median of each server, and the
# ratio. A run still disturbed after its repeats is marked * and left out of
# the median, unless every round was (then the median is marked *).
row() {
  local label=$1 sc=$2 field=$3 name r m v owl="-" soup="-" line
  for name in "${SERVERS[@]}"; do
    local -a vals=() all=()
    line=$(printf '%-34s %-8s' "$label" "$name")
    for r in $(seq "$ROUNDS"); do
      v=${R[$sc,$name,$r,$field]:-}
      all+=("$v")
      if [ -n "${R[$sc,$name,$r,disturbed]:-}" ]; then
        line+=$(printf ' %10s' "$v*")
      else
        vals+=("$v")
        line+=$(printf ' %10s' "${v:--}")
      fi
    done
    if [ ${#vals[@]} -gt 0 ]; then m=$(median "${vals[@]}"); else m=$(median "${all[@]}")"*"; fi
    [ "$name" = owlsock ] && owl=${m%\*} || soup=${m%\*}
    printf '%s %10s\n' "$line" "$m"
    label=""
  done
  printf '%-34s %-8s %*s %10s\n' "" "ratio" $((11 * ROUNDS)) "" \
    "$(awk -v a="$owl" -v b="$soup" 'BEGIN{if(a!="-" && b!="-" && b>0) printf "%.2f", a/b; else print "-"}')"
}

echo "# wss benchmark: owlsock (examples/bench-server) vs plain libsoup (tests/bench/wss-soup-server)"
echo "# libsoup $(pkg-config --modversion libsoup-3.0 2>/dev/null), GnuTLS $(pkg-config --modversion gnutls 2>/dev/null)," \
  "glib $(pkg-config --modversion glib-2.0 2>/dev/null); $(nproc) CPUs" \
  "($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), kernel $(uname -r)"
echo "# server on CPU $SERVER_CPU, wss-load on CPU $LOAD_CPU; $ROUNDS rounds; load average at start:" \
  "$(cut -d' ' -f1-3 /proc/loadavg)"

for r in $(seq "$ROUNDS"); do
  for sc in "${SCENARIOS[@]}"; do
    for i in $(seq 0 $((${#SERVERS[@]} - 1))); do   # the order alternates each round
      for attempt in $(seq 0 "$RETRIES"); do
        run_one "$sc" "${SERVERS[$(((i + r - 1) % ${#SERVERS[@]}))]}" "$r" && break
        if [ "$attempt" -lt "$RETRIES" ]; then
          echo "      repeating it" >&2; REPEATED=$((REPEATED + 1)); sleep 2
        else
          NOISY=$((NOISY + 1))
        fi
      done
      sleep 0.3
    done
  done
done

TLS=$(sed -n 's/.*"tls":"\([^"]*\)".*/\1/p' "$RESULTS" 2>/dev/null | head -n 1)
echo "# TLS: ${TLS:-?}; load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
printf '%-34s %-8s' "" "server"
for r in $(seq "$ROUNDS"); do printf ' %10s' "round $r"; done
printf ' %10s\n' "median"
row "echo msgs/s (100 conns, 64 B)" echo rate
row "echo p50 us" echo lat_p50_us
row "echo p99 us" echo lat_p99_us
row "echo server CPU %" echo server_cpu_pct
row "echo wss-load CPU %" echo loadgen_cpu_pct
row "connect handshakes/s (50 loops)" connect rate
row "connect p50 us (connect to 101)" connect hs_p50_us
row "connect p99 us" connect hs_p99_us
row "connect server CPU %" connect server_cpu_pct
row "connect wss-load CPU %" connect loadgen_cpu_pct
row "hold RSS B per conn (1000 conns)" hold rate
echo
[ "$NOISY" = 0 ] || echo "* disturbed by other work on the machine even after $RETRIES repeats; left out of the median"
echo "errors over all runs: $ERRORS; runs repeated because something else used the CPUs:" \
  "$REPEATED; in the table despite that: $NOISY"
echo "raw results: $RESULTS"
