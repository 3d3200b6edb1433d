#!/usr/bin/env bash
# What a re-crawl (--recrawl) costs against the first crawl: the demo site
# (which sends ETag and Last-Modified and answers conditional requests with
# 304) crawled into a state store, then crawled again unchanged. For each
# pass: responses, wall time, responses/s, CPU-ms per response, the body
# bytes the site sent (its access log) and the bytes that crossed the
# loopback interface (requests, responses and TCP/IP: everything moved;
# other traffic on lo counts too, so run it on a quiet machine). One run;
# rounds alternate.
# Usage: bench/recrawl.sh [HOSTS] [PAGES] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
hosts=${1:-40}
pages=${2:-400}
rounds=${3:-1}
bin=build/bin/arachne
[ -x "$bin" ] || scripts/build
command -v /usr/bin/time >/dev/null || { echo "bench/recrawl.sh needs GNU time (apt-get install time)" >&2; exit 1; }
work=$(mktemp -d)
. scripts/lib/site.sh
trap 'stop_site; rm -rf "$work"' EXIT
start_site "$bin" "$work" --hosts="$hosts" --pages="$pages" --crawl-delay=0 --trap=false --threads=1 \
  --access-log="$work/access.log"
seed="http://127.0.1.1:$site_port/"
echo "site: $hosts hosts x $pages pages; arachne --threads=2, per-host delay 0, JSONL to a file"

lo_bytes() { awk '$1 == "lo:" { print $2 }' /proc/net/dev; }

run() { # run LABEL [options...]
  local label=$1
  shift
  rm -f "$work/out.jsonl"
  : >"$work/access.log"
  local lo_before lo_after
  lo_before=$(lo_bytes)
  /usr/bin/time -f '%e %U %S %M' -o "$work/time" "$bin" crawl "$seed" --threads=2 --io-threads=1 \
    --per-host-delay=0 --per-host-concurrency=8 --concurrency=128 --progress=false \
    --out=jsonl:"$work/out.jsonl" --state="$work/state" "$@" >"$work/report" 2>&1
  lo_after=$(lo_bytes)
  sleep 1 # (the site flushes its log every 0.5 s)
  local n sent s304
  n=$(wc -l <"$work/out.jsonl")
  sent=$(awk -F'\t' '{ b += $6 } END { print b + 0 }' "$work/access.log")
  s304=$(awk -F'\t' '$5 == 304 { n++ } END { print n + 0 }' "$work/access.log")
  read -r wall user sys maxrss < <(tail -n 1 "$work/time")
  awk -v l="$label" -v n="$n" -v w="$wall" -v u="$user" -v s="$sys" -v m="$maxrss" -v b="$sent" -v c="$s304" \
    -v lo=$((lo_after - lo_before)) \
    'BEGIN { printf "%-12s %7d records in %6.2f s: %7.0f /s, %.3f CPU-ms each, peak RSS %d MiB, %d answered 304, body bytes %.1f MiB, on the wire %.1f MiB\n",
             l, n, w, n / w, (u + s) * 1000 / n, m / 1024, c, b / 1048576, lo / 1048576 }'
  grep -E "re-crawl" "$work/report" || true
}

for _ in $(seq "$rounds"); do
  rm -rf "$work/state"
  run "first crawl"
  run "re-crawl" --recrawl
done
