#!/usr/bin/env bash
# The README's test command: installs what is missing, builds, runs every test.
#
#   1. build/       -Dwerror=true -Ddocumentation=true: the c, python, gjs and docs suites
#   2. build-asan/  AddressSanitizer + UndefinedBehaviorSanitizer, leak checking on: the C
#                   tests (introspection is off there: python3 and gjs cannot load an
#                   ASan-built library without preloading the runtime into the interpreter;
#                   no -Werror: sanitizer instrumentation makes GCC warn spuriously)
#   3. build-fuzz/  the libFuzzer targets of tests/fuzz, built with clang (-Werror: clang
#                   builds the whole tree without a warning), 20 s each
#
# A stage whose setup or build fails counts as one failed test, and its tests still run
# (those that could not be built fail too). Ends with one line "N passed, N failed" summed
# over all stages; exits non-zero when anything failed or no test ran.
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
root=$(pwd)

bash scripts/install-deps.sh || exit 1

passed=0
failed=0
skipped=0

# setup DIR OPTIONS...: configures DIR, or reconfigures it with OPTIONS when it exists.
setup() {
  local dir=$1
  shift
  if [[ -f $dir/meson-private/coredata.dat ]]; then
    meson setup --reconfigure "$dir" "$@" && return 0
    echo "run-tests: reconfiguring $dir failed; wiping it" >&2
    meson setup --wipe "$dir" "$@"
  else
    meson setup "$dir" "$@"
  fi
}

# count DIR: adds the results of DIR's last `meson test` to the totals.
# testlog.json has one JSON object per test; OK and EXPECTEDFAIL pass, SKIP is skipped.
count() {
  local log=$1/meson-logs/testlog.json counts
  if [[ ! -s $log ]]; then
    echo "run-tests: $1: no test log" >&2
    return
  fi
  counts=$(/usr/bin/python3 - "$log" <<'PY'
import json, sys
p = f = s = 0
with open(sys.argv[1]) as log:
    for line in log:
        if not line.strip():
            continue
        result = json.loads(line).get("result")
        if result in ("OK", "EXPECTEDFAIL"):
            p += 1
        elif result == "SKIP":
            s += 1
        else:
            f += 1
print(p, f, s)
PY
  ) || { echo "run-tests: cannot read $log" >&2; failed=$((failed + 1)); return; }
  read -r p f s <<<"$counts"
  echo "run-tests: $1: $p passed, $f failed, $s skipped"
  passed=$((passed + p))
  failed=$((failed + f))
  skipped=$((skipped + s))
}

# run DIR SETUP-OPTIONS... -- TEST-OPTIONS...: setup, build, test, count.
# A setup or build failure counts as one failed test, so it cannot pass unnoticed.
run() {
  local dir=$1 setup_args=() test_args=()
  shift
  while (($#)) && [[ $1 != -- ]]; do setup_args+=("$1"); shift; done
  (($#)) && shift
  test_args=("$@")

  echo "run-tests: === $dir ==="
  if ! setup "$dir" "${setup_args[@]}"; then
    echo "run-tests: $dir: setup failed" >&2
    failed=$((failed + 1))
    return
  fi
  if ! meson compile -C "$dir"; then
    echo "run-tests: $dir: build failed; running what was built" >&2
    failed=$((failed + 1))
  fi
  rm -f "$dir/meson-logs/testlog.json"
  meson test -C "$dir" --no-rebuild --print-errorlogs "${test_args[@]}"
  count "$dir"
}

run build -Dwerror=true -Ddocumentation=true

# fast_unwind_on_malloc=0: Debian's GLib has no frame pointers, and the suppressions in
# lsan.supp need whole stacks to match.
# G_SLICE: GLib 2.74's slice allocator hides allocations from ASan.
# GIO_USE_VFS: keep gvfs modules (and their one-time allocations) out of the tests.
# --timeout-multiplier 2: ASan makes the C tests 2-4 times slower; test-limits takes 80 s
# of its 120 s there on a busy machine. Every wait inside a test keeps its own watchdog.
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:print_summary=1:fast_unwind_on_malloc=0 \
LSAN_OPTIONS=suppressions=$root/scripts/lsan.supp:print_suppressions=0 \
UBSAN_OPTIONS=halt_on_error=1:abort_on_error=1:print_stacktrace=1:print_summary=1 \
G_SLICE=always-malloc \
GIO_USE_VFS=local \
  run build-asan -Db_sanitize=address,undefined -Db_lundef=false \
    -Dintrospection=false -Ddocumentation=false -- --timeout-multiplier 2

if [[ -f tests/fuzz/meson.build ]]; then
  CC=clang run build-fuzz -Dwerror=true -Dfuzzing=true -Dintrospection=false -Ddocumentation=false \
    -- --suite fuzz
fi

total=$((passed + failed))
if ((skipped)); then
  echo "run-tests: $skipped skipped"
fi
echo "$passed passed, $failed failed"
if ((failed > 0 || total == 0)); then
  exit 1
fi
