#!/usr/bin/env bash
# The built-in sinks under a fast crawl: the same CPU-bound crawl of the demo
# site (no latency, no per-host delay, no calendar trap) with --out=null as
# the baseline, then JSONL, gzip JSONL, SQLite and WARC (gzip) sinks, each in
# the same run. Prints pages/s and the ratio to the baseline.
# Usage: bench/sinks.sh [HOSTS] [PAGES]
set -euo pipefail
cd "$(dirname "$0")/.."
hosts=${1:-40}
pages=${2:-200}
bin=build/bin/arachne
[ -x "$bin" ] || scripts/build
work=$(mktemp -d)
. scripts/lib/site.sh
trap 'stop_site; rm -rf "$work"' EXIT
start_site "$bin" "$work" --hosts="$hosts" --pages="$pages" --crawl-delay=0 --trap=false --threads=1
seed="http://127.0.1.1:$site_port/"
echo "site: $hosts hosts x $pages pages; crawl: 2 threads, per-host delay 0, 8 per host"

base=0
for out in null jsonl:"$work/c.jsonl" jsonl:"$work/c.jsonl.gz" sqlite:"$work/c.db" warc:"$work/c.warc.gz"; do
  rm -f "$work"/c.*
  report=$("$bin" crawl "$seed" --threads=2 --io-threads=1 --per-host-delay=0 \
    --per-host-concurrency=8 --concurrency=128 --out="$out")
  rate=$(sed -n 's/.*pages\/s \([0-9.]*\).*/\1/p' <<<"$report")
  size=$(du -sh "$work" | cut -f1)
  [ "$base" = 0 ] && base=$rate
  label=${out%%:*}; case "$out" in *.gz) label="$label.gz" ;; esac
  awk -v o="$label" -v r="$rate" -v b="$base" -v s="$size" \
    'BEGIN { printf "%-10s %8.0f pages/s  %.2f of null   output %s\n", o, r, r / b, s }'
done
