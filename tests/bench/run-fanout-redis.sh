#!/usr/bin/env bash
# run-fanout-redis.sh: what crossing Redis costs a broadcast
#
#   tests/bench/run-fanout-redis.sh [BUILD_DIR]   (from the repository's root; default: build)
#
# The harness's fanout scenario (../shared/bench: 1000 subscribers, one
# publisher, 64-byte messages with a timestamp marker, as fast as a window
# of 8 undelivered messages allows) in three set-ups, each run ROUNDS times:
#
#   one         one bench-server, the in-process broker (the baseline)
#   one-redis   one bench-server whose broker is Redis: every publish also
#               goes to Redis, nobody elsewhere listens
#   three       three bench-servers sharing one Redis, the 1000 subscribers
#               spread over them (334/333/333), the publisher on the first:
#               two thirds of the deliveries cross Redis
#
# and, for latency without queues (the closed loop above keeps every queue
# full, so its p99 is queueing), one and three again with the publisher at
# a fixed LAT_RATE (200) messages/s: one@rate, three@rate.
#
# The bench-servers share CPU SERVER_CPU (1): three processes get the
# same CPU as the single one, so deliveries/s compare the same budget;
# redis-server and the load generators run on LOAD_CPU (0). Printed per
# run and as medians: total deliveries/s, p99 delivery latency of the
# subscribers on the publisher's node and of those elsewhere. Then Redis's
# memory per history entry and per presence member (bench-server's /hsub
# and /psub modules, filled by wsload). Environment: ROUNDS (3),
# DURATION (3), LAT_RATE (200), SERVER_CPU, LOAD_CPU, WSLOAD, HARNESS,
# REDIS_SERVER.
set -u -o pipefail

BUILD=${1:-build}
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-3}
LAT_RATE=${LAT_RATE:-200}
SERVER_CPU=${SERVER_CPU:-1}
LOAD_CPU=${LOAD_CPU:-0}
ROOT=$(pwd)
SERVER=$BUILD/examples/bench-server
WSLOAD=${WSLOAD:-$BUILD/tests/bench/wsload}
HARNESS=${HARNESS:-$ROOT/../shared/bench}/wsload.c
REDIS_SERVER=${REDIS_SERVER:-redis-server}
PAYLOAD='{"type":"pub","ts":"{ts}","data":"{pad}"}'

die() { echo "run-fanout-redis.sh: $*" >&2; exit 1; }

[ -x "$SERVER" ] || die "$SERVER missing: build first (meson setup $BUILD && meson compile -C $BUILD)"
command -v "$REDIS_SERVER" >/dev/null || die "needs redis-server (scripts/install-deps.sh)"
command -v redis-cli >/dev/null || die "needs redis-cli (package redis-tools)"
if [ ! -x "$WSLOAD" ]; then
  [ -f "$HARNESS" ] || die "no $WSLOAD and no $HARNESS to build it from"
  cc -O2 -g -o "$WSLOAD" "$HARNESS" -lm || die "could not build wsload"
fi
command -v taskset >/dev/null || die "needs taskset"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/owlsock-fanout-redis.XXXXXX") || die "no temporary folder"
# shellcheck source=bench-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/bench-lib.sh"

PIDS=()
REDIS_PID=""
stop_all() {
  local p
  for p in "${PIDS[@]}"; do SRV_PID=$p stop_server; done
  PIDS=()
}
cleanup() {
  stop_all
  [ -n "$REDIS_PID" ] && kill -TERM "$REDIS_PID" 2>/dev/null && wait "$REDIS_PID" 2>/dev/null
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'echo "interrupted" >&2; exit 130' INT TERM

mkdir -p "$BUILD/fanout-redis-bench" || die "cannot write into $BUILD"
RESULTS=$BUILD/fanout-redis-bench/$(date +%Y%m%d-%H%M%S).jsonl

# A free loopback port for Redis (redis-server cannot take port 0).
REDIS_PORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
taskset -c "$LOAD_CPU" "$REDIS_SERVER" --port "$REDIS_PORT" --bind 127.0.0.1 --save "" \
  --appendonly no >"$TMP/redis.log" 2>&1 &
REDIS_PID=$!
for _ in $(seq 200); do
  redis-cli -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG && break
  sleep 0.05
done
redis-cli -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG || die "redis-server did not start"
rcli() { redis-cli -p "$REDIS_PORT" "$@"; }

# start_node BROKER N -> PORTS[N] (BROKER: "" for the in-process broker)
declare -a PORTS
start_node() {
  local log=$TMP/server-$2.log
  : >"$log"
  OWLSOCK_BENCH_BROKER=$1 taskset -c "$SERVER_CPU" "$SERVER" --port 0 >"$log" 2>&1 </dev/null &
  SRV_PID=$!
  wait_listening "bench-server $2" "$log" || return 1
  PIDS+=("$SRV_PID")
  PORTS[$2]=$SRV_PORT
}

# load N SUBS NODE PUB_URL RATE -> TMP/load-N.json (runs in the background)
load() {
  timeout 120 taskset -c "$LOAD_CPU" "$WSLOAD" --mode fanout --conns "$2" --size 64 \
    --url "ws://127.0.0.1:${PORTS[$3]}/sub" --pub-url "$4" --rate "$5" --payload "$PAYLOAD" \
    --warmup 1 --duration "$DURATION" >"$TMP/load-$1.json" 2>"$TMP/load-$1.err"
}

declare -A R
run_setup() {
  local setup=$1 round=$2 broker="" nodes=1 rate=0 i json
  case $setup in
    one) ;;
    one@rate) rate=$LAT_RATE ;;
    one-redis) broker=redis://127.0.0.1:$REDIS_PORT ;;
    three) broker=redis://127.0.0.1:$REDIS_PORT; nodes=3 ;;
    three@rate) broker=redis://127.0.0.1:$REDIS_PORT; nodes=3; rate=$LAT_RATE ;;
  esac
  for i in $(seq 0 $((nodes - 1))); do start_node "$broker" "$i" || { stop_all; return 0; }; done
  if [ "$nodes" = 1 ]; then
    load 0 1000 0 "ws://127.0.0.1:${PORTS[0]}/pub" "$rate"
  else
    # The other nodes' loads publish once a second to /echo (wsload's
    # fanout mode needs a publisher): their subscribers count the first
    # load's publications, marker latency included.
    load 1 333 1 "ws://127.0.0.1:${PORTS[1]}/echo" 1 &
    local l1=$!
    load 2 333 2 "ws://127.0.0.1:${PORTS[2]}/echo" 1 &
    local l2=$!
    load 0 334 0 "ws://127.0.0.1:${PORTS[0]}/pub" "$rate"
    wait "$l1" "$l2"
  fi
  stop_all
  local total=0 remote_p99=0 f
  for i in $(seq 0 $((nodes - 1))); do
    json=$(tail -n 1 "$TMP/load-$i.json")
    if [ "${json:0:1}" != "{" ]; then
      echo "  round $round $setup: load $i gave no result:" >&2; tail -n 3 "$TMP/load-$i.err" >&2
      return 0
    fi
    echo "{\"setup\":\"$setup\",\"round\":$round,\"load\":$i,${json:1}" >>"$RESULTS"
    f=$(json_num deliveries_per_s "$json")
    total=$(awk -v a="$total" -v b="$f" 'BEGIN{printf "%.0f", a+b}')
    if [ "$i" = 0 ]; then
      R[$setup,$round,p99_local]=$(json_num lat_p99_us "$json")
      R[$setup,$round,errors]=$(json_num errors "$json")
    else
      f=$(json_num lat_p99_us "$json")
      remote_p99=$(awk -v a="$remote_p99" -v b="$f" 'BEGIN{print (b>a)?b:a}')
    fi
  done
  R[$setup,$round,dps]=$total
  R[$setup,$round,p99_remote]=$([ "$nodes" = 1 ] && echo - || echo "$remote_p99")
  printf '  round %s  %-10s %10s deliveries/s  p99 here %8s us  p99 elsewhere %8s us  errors %s\n' \
    "$round" "$setup" "$total" "${R[$setup,$round,p99_local]}" "${R[$setup,$round,p99_remote]}" \
    "${R[$setup,$round,errors]}" >&2
}

echo "# fanout across Redis: 1000 subscribers, one publisher, 64 B; $ROUNDS rounds of ${DURATION} s"
echo "# $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), redis" \
  "$("$REDIS_SERVER" --version | sed -n 's/.*v=\([^ ]*\).*/\1/p'); servers on CPU $SERVER_CPU," \
  "redis and loads on CPU $LOAD_CPU; load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
SETUPS=(one one-redis three one@rate three@rate)
for r in $(seq "$ROUNDS"); do
  for i in $(seq 0 $((${#SETUPS[@]} - 1))); do   # the order rotates each round
    run_setup "${SETUPS[$(((i + r - 1) % ${#SETUPS[@]}))]}" "$r"
    sleep 0.3
  done
done

echo
printf '%-10s %14s %8s %14s %18s\n' setup "deliveries/s" "x one" "p99 here us" "p99 elsewhere us"
declare -A M
for s in "${SETUPS[@]}"; do
  for f in dps p99_local p99_remote; do
    vals=()
    for r in $(seq "$ROUNDS"); do vals+=("${R[$s,$r,$f]:-}"); done
    M[$s,$f]=$(median "${vals[@]}")
  done
  printf '%-10s %14s %8s %14s %18s\n' "$s" "${M[$s,dps]}" \
    "$(awk -v a="${M[$s,dps]}" -v b="${M[one,dps]}" 'BEGIN{if(b>0 && a!="-") printf "%.2f", a/b; else print "-"}')" \
    "${M[$s,p99_local]}" "${M[$s,p99_remote]}"
done
echo "p99 added by crossing Redis at $LAT_RATE msgs/s (three@rate: elsewhere - one@rate: here):" \
  "$(awk -v a="${M[three@rate,p99_remote]}" -v b="${M[one@rate,p99_local]}" \
  'BEGIN{if(a!="-" && b!="-") printf "%.0f us", a-b; else print "-"}')"

# Memory: what Redis keeps per history entry and per presence member.
rcli flushall >/dev/null
start_node "redis://127.0.0.1:$REDIS_PORT" 0 || die "no node for the memory figures"
base=$(rcli info memory | sed -n 's/^used_memory:\([0-9]*\).*/\1/p')
timeout 60 "$WSLOAD" --mode fanout --conns 1 --size 64 --url "ws://127.0.0.1:${PORTS[0]}/hsub" \
  --pub-url "ws://127.0.0.1:${PORTS[0]}/hpub" --rate 20000 --payload "$PAYLOAD" --warmup 0 \
  --duration 1 >"$TMP/hist.json" 2>/dev/null
entries=$(rcli --scan --pattern '*.history.*' | head -n 1 | xargs -r redis-cli -p "$REDIS_PORT" xlen)
after=$(rcli info memory | sed -n 's/^used_memory:\([0-9]*\).*/\1/p')
echo "history: ${entries:-0} entries of a 64-byte message: $(awk -v a="$after" -v b="$base" \
  -v n="${entries:-0}" 'BEGIN{if(n>0) printf "%.0f", (a-b)/n; else print "-"}') bytes each in Redis"
base=$after
timeout 60 "$WSLOAD" --mode idle --conns 1000 --url "ws://127.0.0.1:${PORTS[0]}/psub" \
  --duration 2 >"$TMP/pres.json" 2>/dev/null &
lp=$!
members=0
for _ in $(seq 100); do
  members=$(rcli --scan --pattern '*.presence.*' | head -n 1 | xargs -r redis-cli -p "$REDIS_PORT" zcard)
  [ "${members:-0}" -ge 1000 ] && break
  sleep 0.05
done
after=$(rcli info memory | sed -n 's/^used_memory:\([0-9]*\).*/\1/p')
wait "$lp"
echo "presence: ${members:-0} members: $(awk -v a="$after" -v b="$base" -v n="${members:-0}" \
  'BEGIN{if(n>0) printf "%.0f", (a-b)/n; else print "-"}') bytes each in Redis"
stop_all
echo "raw results: $RESULTS"
