# bench-lib.sh: what the tests/bench runners share (sourced, not run)
#
# The runner starts its server in the background as SRV_PID; stop_server
# ends it (SIGTERM, then SIGKILL after 3 s).

SRV_PID=""
stop_server() {
  [ -n "$SRV_PID" ] || return 0
  kill -TERM "$SRV_PID" 2>/dev/null
  for _ in $(seq 60); do kill -0 "$SRV_PID" 2>/dev/null || break; sleep 0.05; done
  kill -KILL "$SRV_PID" 2>/dev/null
  wait "$SRV_PID" 2>/dev/null
  SRV_PID=""
}

# wait_listening NAME LOG: SRV_PORT from the server's "listening on PORT"
# line in LOG, within 20 s; fails (and stops the server) otherwise
wait_listening() {
  SRV_PORT=""
  for _ in $(seq 400); do
    SRV_PORT=$(sed -n 's/^listening on \([0-9][0-9]*\)$/\1/p' "$2" | head -n 1)
    [ -n "$SRV_PORT" ] && return 0
    if ! kill -0 "$SRV_PID" 2>/dev/null; then
      echo "  $1 exited during start-up:" >&2; tail -n 5 "$2" >&2
      wait "$SRV_PID" 2>/dev/null; SRV_PID=""
      return 1
    fi
    sleep 0.05
  done
  echo "  $1 did not listen within 20 s" >&2
  stop_server
  return 1
}

# json_num FIELD JSON: the number in "FIELD":N of a one-line JSON object
json_num() { sed -n "s/.*\"$1\":\(-\{0,1\}[0-9.]*\).*/\1/p" <<<"$2"; }

# median VALUES...: of those that are numbers; "-" if none
median() { printf '%s\n' "$@" | grep -E '^-?[0-9.]+$' | sort -g |
  awk '{v[NR]=$1} END{if(NR==0) print "-"; else if(NR%2) print v[(NR+1)/2]; else print (v[NR/2]+v[NR/2+1])/2}'; }
