# Sourced by scripts and benchmarks: starts `arachne site` in the background.
#
#   start_site BIN WORKDIR [site options...]
#
# Starts BIN site with the options, its output in WORKDIR/site.out, waits up
# to 10 s for it to report its port, and sets site_pid and site_port. Stop it
# with stop_site. Returns 1 (after printing the site's output) if it failed.
start_site() {
  local bin=$1 work=$2
  shift 2
  : >"$work/site.out" # (read below before the site may have opened it)
  "$bin" site "$@" >"$work/site.out" 2>&1 &
  site_pid=$!
  site_port=""
  for _ in $(seq 200); do
    site_port=$(awk '/^port /{print $2}' "$work/site.out")
    [ -n "$site_port" ] && return 0
    kill -0 "$site_pid" 2>/dev/null || break
    sleep 0.05
  done
  echo "arachne site did not start:" >&2
  cat "$work/site.out" >&2
  return 1
}

stop_site() {
  [ -n "${site_pid:-}" ] || return 0
  kill "$site_pid" 2>/dev/null || true
  wait "$site_pid" 2>/dev/null || true
  site_pid=""
}
