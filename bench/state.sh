#!/usr/bin/env bash
# What --state costs: the same CPU-bound crawl of the demo site with and
# without a state store, alternating, in one run. For each: responses, wall
# time, responses/s, CPU-ms per response, and the state's size on disk.
# Usage: bench/state.sh [HOSTS] [PAGES] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
hosts=${1:-40}
pages=${2:-400}
rounds=${3:-2}
bin=build/bin/arachne
[ -x "$bin" ] || scripts/build
command -v /usr/bin/time >/dev/null || { echo "bench/state.sh needs GNU time (apt-get install time)" >&2; exit 1; }
work=$(mktemp -d)
. scripts/lib/site.sh
trap 'stop_site; rm -rf "$work"' EXIT
start_site "$bin" "$work" --hosts="$hosts" --pages="$pages" --crawl-delay=0 --trap=false --threads=1
seed="http://127.0.1.1:$site_port/"
echo "site: $hosts hosts x $pages pages; arachne --threads=2, per-host delay 0, JSONL to a file"

run() { # run LABEL [options...]
  local label=$1
  shift
  rm -rf "$work/state" "$work/out.jsonl"
  /usr/bin/time -f '%e %U %S %M' -o "$work/time" "$bin" crawl "$seed" --threads=2 --io-threads=1 \
    --per-host-delay=0 --per-host-concurrency=8 --concurrency=128 --progress=false \
    --out=jsonl:"$work/out.jsonl" "$@" >"$work/report" 2>&1
  local n state_bytes=0
  n=$(wc -l <"$work/out.jsonl")
  [ -d "$work/state" ] && state_bytes=$(du -sb "$work/state" | cut -f1)
  read -r wall user sys maxrss < <(tail -n 1 "$work/time")
  awk -v l="$label" -v n="$n" -v w="$wall" -v u="$user" -v s="$sys" -v m="$maxrss" -v b="$state_bytes" \
    'BEGIN { printf "%-16s %7d records in %6.2f s: %7.0f /s, %.3f CPU-ms each, peak RSS %d MiB, state %.1f MiB (%.0f B/URL)\n",
             l, n, w, n / w, (u + s) * 1000 / n, m / 1024, b / 1048576, b / n }'
}

for _ in $(seq "$rounds"); do
  run "no state"
  run "--state" --state="$work/state"
done
