# Sourced by the command-line tests: a work directory removed at exit (and
# the demo site and the PIDs in more_pids stopped), and `check NAME COMMAND...` counting passes and
# failures. Call `checks_summary` last: its status is the test's.
work=$(mktemp -d)
site_pid=""
more_pids=() # other processes the test started
cleanup() {
  [ -n "$site_pid" ] && kill "$site_pid" 2>/dev/null
  for p in "${more_pids[@]}"; do kill -9 "$p" 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT
failures=0
passes=0
check() { # check NAME COMMAND...: the command must succeed
  local name=$1
  shift
  if "$@"; then
    passes=$((passes + 1))
  else
    echo "FAILED: $name" >&2
    failures=$((failures + 1))
    return 1
  fi
}
# use_seed: the test's random choices (kill moments) come from one seed,
# printed, so that a failing run can be replayed: ARACHNE_TEST_SEED=N.
use_seed() {
  test_seed=${ARACHNE_TEST_SEED:-$(($(od -An -N2 -tu2 /dev/urandom) % 32768))}
  RANDOM=$test_seed
  echo "$(basename "$0"): seed $test_seed (ARACHNE_TEST_SEED=$test_seed replays its random choices)"
}
# grown FILE LINES PID: waits (at most 60 s) until FILE has more than LINES
# lines, or process PID has ended.
grown() {
  for _ in $(seq 600); do
    [ "$(wc -l <"$1" 2>/dev/null || echo 0)" -gt "$2" ] && return 0
    kill -0 "$3" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}
exit_code() { "$@" >"$work/out" 2>"$work/err"; echo $?; }
# In a sanitizer build (ctest says so in ARACHNE_SANITIZE) every process the
# test starts writes its sanitizer reports to $work/sanitizer/, not into an
# output a check may never read (a node's, a killed process's): any report
# there fails the test.
if [ -n "${ARACHNE_SANITIZE:-}" ]; then
  mkdir -p "$work/sanitizer"
  for v in TSAN_OPTIONS ASAN_OPTIONS UBSAN_OPTIONS; do
    export "$v=${!v:+${!v}:}log_path=$work/sanitizer/report"
  done
  # (LeakSanitizer lists the suppressions it used even when nothing is left.)
  export LSAN_OPTIONS="${LSAN_OPTIONS:+$LSAN_OPTIONS:}print_suppressions=0"
fi
# (TSan warns that its symbolizer buffer is too small for some of CAF's
# names: no report.)
sanitizer_reports() {
  cat "$work"/sanitizer/* 2>/dev/null | grep -v "^==[0-9]*==WARNING: Symbolizer buffer too small$"
}
checks_summary() {
  if [ -n "${ARACHNE_SANITIZE:-}" ] && [ -n "$(sanitizer_reports)" ]; then
    echo "FAILED: sanitizer reports from the test's processes:" >&2
    sanitizer_reports | head -n 80 >&2
    failures=$((failures + 1))
  fi
  echo "$passes passed, $failures failed"
  [ "$failures" -eq 0 ]
}
