#!/usr/bin/env bash
# A latency-bound crawl: every response of the demo site waits LATENCY, the
# crawler may keep 128 requests in flight (8 per host, no per-host delay), so
# no crawler can go faster than 128 / LATENCY pages/s. Prints, from the
# site's access log, the rate over the whole crawl (first request to last
# response) and over its middle 80% (without ramp-up and tail), each as a
# share of that bound. Two runs: seeded with host 0's front page only (hosts
# are found one link after another), and with every host's front page.
# Usage: bench/latency.sh [HOSTS] [PAGES] [LATENCY]
# BASELINE=path/to/other/arachne also crawls with that binary, in turn with
# this one, for a before/after comparison in one run (the site is this one's).
set -euo pipefail
cd "$(dirname "$0")/.."
hosts=${1:-40}
pages=${2:-400}
latency=${3:-100ms}
bin=build/bin/arachne
[ -x "$bin" ] || scripts/build
work=$(mktemp -d)
. scripts/lib/site.sh
trap 'stop_site; rm -rf "$work"' EXIT
start_site "$bin" "$work" --hosts="$hosts" --pages="$pages" --crawl-delay=0 --trap=false \
  --threads=1 --cache=1g --latency="$latency" --access-log="$work/access.log"
seconds=$(awk -v l="$latency" 'BEGIN { if (l ~ /ms$/) print l / 1000; else print l + 0 }')
bound=$(awk -v s="$seconds" 'BEGIN { print 128 / s }')
echo "site: $hosts hosts x $pages pages, latency $latency; bound 128 / $latency = $bound pages/s"

# run LABEL BINARY SEED...: crawls and rates the responses it got from the access log.
run() {
  local label=$1 crawler=$2
  shift 2
  sleep 0.6 # the access log is flushed every 0.5 s
  local before
  before=$(wc -l <"$work/access.log")
  "$crawler" crawl "$@" --threads=2 --io-threads=1 --per-host-delay=0 --per-host-concurrency=8 \
    --concurrency=128 --out=null >/dev/null
  sleep 0.6
  tail -n +"$((before + 1))" "$work/access.log" >"$work/run.log"
  local first
  first=$(awk 'NR == 1 || $1 < m { m = $1 } END { printf "%.0f", m }' "$work/run.log")
  cut -f2 "$work/run.log" | sort -n | awk -v l="$label" -v b="$bound" -v first="$first" '
    { end[NR] = $1 }
    END {
      n = NR
      whole = n / ((end[n] - first) / 1e6)
      lo = int(n * 0.1) + 1; hi = int(n * 0.9)
      middle = (hi - lo) / ((end[hi] - end[lo]) / 1e6)
      printf "%-36s %6d responses: whole crawl %5.0f /s (%.1f%%), middle 80%% %5.0f /s (%.1f%%)\n",
             l, n, whole, 100 * whole / b, middle, 100 * middle / b
    }'
}

seeds=()
for ((h = 0; h < hosts; h++)); do # the site's addresses: 127.0.1.1, ..., 127.0.1.254, 127.0.2.1, ...
  seeds+=("http://127.0.$((1 + h / 254)).$((1 + h % 254)):$site_port/")
done
crawlers=("arachne:$bin")
[ -n "${BASELINE:-}" ] && crawlers+=("baseline:$BASELINE")
for c in "${crawlers[@]}"; do
  run "${c%%:*}: one seed (host 0)" "${c#*:}" "http://127.0.1.1:$site_port/"
done
for c in "${crawlers[@]}"; do
  run "${c%%:*}: every host's front page" "${c#*:}" "${seeds[@]}"
done
