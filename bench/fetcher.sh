#!/usr/bin/env bash
# The fetcher against wrk (Debian's package), same server, same URL, same
# number of connections, in one run: requests/s of each and the ratio.
# Usage: bench/fetcher.sh [REQUESTS] [CONNECTIONS]
set -euo pipefail
cd "$(dirname "$0")/.."
requests=${1:-100000}
connections=${2:-64}
command -v wrk >/dev/null || { echo "bench/fetcher.sh needs wrk (apt-get install wrk)" >&2; exit 1; }
bin=build/bin/arachne
[ -x "$bin" ] || scripts/build
work=$(mktemp -d)
. scripts/lib/site.sh
trap 'stop_site; rm -rf "$work"' EXIT
start_site "$bin" "$work" --hosts=2 --pages=100 --threads=1
port=$site_port
echo "server: arachne site, 1 IO thread; clients: 1 thread each, $connections connections"
for target in /robots.txt /articles/5.html; do
  url="http://127.0.1.1:$port$target"
  wrk_rps=$(wrk -t1 -c"$connections" -d5s "$url" | awk '/Requests\/sec/{print $2}')
  out=$("$bin" fetch --bench="$requests" --concurrency="$connections" --pool-per-host="$connections" \
        --threads=1 --io-threads=1 "$url")
  rps=$(awk '/^requests\/s:/{print $2}' <<<"$out")
  cpu=$(awk '/^cpu_us_per_request:/{print $2}' <<<"$out")
  fails=$(awk '/^failures:/{print $2}' <<<"$out")
  printf '%-18s wrk %9.0f req/s | arachne fetcher %9.0f req/s, %6.1f CPU-us/req, %s failures | ratio %.2f\n' \
    "$target" "$wrk_rps" "$rps" "$cpu" "$fails" "$(awk -v a="$rps" -v b="$wrk_rps" 'BEGIN{print a/b}')"
done
