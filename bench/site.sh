#!/usr/bin/env bash
# Measures how fast `arachne site` answers on one IO thread, with wrk (Debian's
# package) as the client: small responses (robots.txt) and full pages.
# Usage: bench/site.sh [SECONDS] [CONNECTIONS]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-5}
connections=${2:-64}
command -v wrk >/dev/null || { echo "bench/site.sh needs wrk (apt-get install wrk)" >&2; exit 1; }
bin=build/bin/arachne
[ -x "$bin" ] || scripts/build
work=$(mktemp -d)
. scripts/lib/site.sh
trap 'stop_site; rm -rf "$work"' EXIT
start_site "$bin" "$work" --hosts=4 --pages=100 --threads=1 --access-log="$work/access.log"
port=$site_port
run() {
  local label=$1 url=$2
  local rps
  rps=$(wrk -t1 -c"$connections" -d"${seconds}s" "$url" | awk '/Requests\/sec/{print $2}')
  printf '%-34s %12s responses/s\n' "$label" "$rps"
}
echo "arachne site, 1 IO thread, access log on; wrk -t1 -c$connections -d${seconds}s"
run "small (robots.txt, 45 bytes)" "http://127.0.1.1:$port/robots.txt"
run "404 page (250 bytes)" "http://127.0.1.1:$port/missing/1"
run "full page (/articles/5.html, 23 KB)" "http://127.0.1.1:$port/articles/5.html"
