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
exit_code() { "$@" >"$work/out" 2>"$work/err"; echo $?; }
checks_summary() {
  echo "$passes passed, $failures failed"
  [ "$failures" -eq 0 ]
}
