#!/usr/bin/env bash
# A CPU-bound crawl of the demo site (no latency, no per-host delay): Arachne
# with 1 and 2 scheduler threads, and Debian's wget2 on the same site, in one
# run. Prints pages/s, CPU per page and peak memory of each.
# Usage: bench/crawl.sh [HOSTS] [PAGES]
set -euo pipefail
cd "$(dirname "$0")/.."
hosts=${1:-40}
pages=${2:-400}
bin=build/bin/arachne
[ -x "$bin" ] || scripts/build
work=$(mktemp -d)
. scripts/lib/site.sh
trap 'stop_site; rm -rf "$work"' EXIT
start_site "$bin" "$work" --hosts="$hosts" --pages="$pages" --crawl-delay=0 --threads=1
seed="http://127.0.1.1:$site_port/"
echo "site: $hosts hosts x $pages pages, one IO thread; crawls from $seed, calendar trap denied"
for threads in 1 2; do
  "$bin" crawl "$seed" --threads="$threads" --io-threads=1 --per-host-delay=0 \
    --per-host-concurrency=8 --concurrency=128 --deny=/calendar/ --out=jsonl:/dev/null \
    >"$work/report-$threads.txt"
  pages_s=$(awk '/pages\/s/{print $NF}' "$work/report-$threads.txt")
  records=$(awk '/^  records/{print $2}' "$work/report-$threads.txt")
  cpu=$(sed -n 's/.*(\([0-9.]*\) ms per page).*/\1/p' "$work/report-$threads.txt")
  rss=$(sed -n 's/.*peak rss \([0-9]*\) MiB.*/\1/p' "$work/report-$threads.txt")
  printf 'arachne --threads=%s: %s records, %8s pages/s, %s CPU-ms/page, peak RSS %s MiB\n' \
    "$threads" "$records" "$pages_s" "$cpu" "$rss"
done
if command -v wget2 >/dev/null; then
  start=$(date +%s.%N)
  /usr/bin/env time -f '%U %S %M' -o "$work/wget2.time" \
    wget2 -r -l inf -H --robots=on --max-threads=128 --spider --no-verbose --reject-regex=/calendar/ \
    --tries=1 -o "$work/wget2.log" "$seed" || true
  end=$(date +%s.%N)
  read -r user sys maxrss <"$work/wget2.time"
  fetched=$(grep -c -E '^(HTTP response|.* 200 )' "$work/wget2.log" || true)
  lines=$(wc -l <"$work/wget2.log")
  awk -v s="$start" -v e="$end" -v u="$user" -v y="$sys" -v m="$maxrss" -v n="$lines" \
    'BEGIN { printf "wget2 --max-threads=128: %d log lines, %.1f s, %.3f CPU-ms/line, peak RSS %d MiB\n", n, e-s, (u+y)*1000/n, m/1024 }'
fi
