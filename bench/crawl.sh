#!/usr/bin/env bash
# A CPU-bound crawl of the demo site (no latency, no per-host delay, no
# calendar trap, responses cached by the site): Arachne with 1 and 2
# scheduler threads, and Debian's wget2, each over the same site in one run.
# For each: responses the server gave (its access log), wall time,
# responses/s, CPU-ms per response, peak RSS. Scaling across cores is
# bench/scaling.sh.
# Usage: bench/crawl.sh [HOSTS] [PAGES]
# BASELINE=path/to/other/arachne also runs that binary, in turn with this
# one (ROUNDS=3 rounds), for a before/after comparison in one run.
# ARGS=... adds options to this binary's crawls only (e.g. --metrics=127.0.0.1:19464);
# SCRAPE=URL fetches URL once a second while they run (a Prometheus scraping it).
set -euo pipefail
cd "$(dirname "$0")/.."
hosts=${1:-40}
pages=${2:-400}
bin=build/bin/arachne
[ -x "$bin" ] || scripts/build
command -v /usr/bin/time >/dev/null || { echo "bench/crawl.sh needs GNU time (apt-get install time)" >&2; exit 1; }
work=$(mktemp -d)
. scripts/lib/site.sh
trap 'stop_site; rm -rf "$work"' EXIT
start_site "$bin" "$work" --hosts="$hosts" --pages="$pages" --crawl-delay=0 --trap=false \
  --threads=1 --cache=1g --access-log="$work/access.log"
seed="http://127.0.1.1:$site_port/"
echo "site: $hosts hosts x $pages pages, one IO thread; every crawler starts at $seed"
# A first crawl, not measured, fills the site's cache.
"$bin" crawl "$seed" --per-host-delay=0 --per-host-concurrency=8 --concurrency=128 --out=null >/dev/null

# run LABEL COMMAND...: runs a crawler and reports what the server saw.
run() {
  local label=$1
  shift
  sleep 0.6 # the access log is flushed every 0.5 s
  local before
  before=$(wc -l <"$work/access.log")
  /usr/bin/time -f '%e %U %S %M' -o "$work/time" "$@" >/dev/null 2>"$work/err" || true
  sleep 0.6
  local after
  after=$(wc -l <"$work/access.log")
  read -r wall user sys maxrss < <(tail -n 1 "$work/time")
  awk -v l="$label" -v n="$((after - before))" -v w="$wall" -v u="$user" -v s="$sys" -v m="$maxrss" \
    'BEGIN { printf "%-28s %7d responses in %6.2f s: %7.0f /s, %.3f CPU-ms each, peak RSS %d MiB\n",
             l, n, w, n / w, (u + s) * 1000 / n, m / 1024 }'
}

crawl_with() { # crawl_with LABEL BINARY THREADS [OPTIONS...]
  local label=$1 binary=$2 threads=$3
  shift 3
  run "$label --threads=$threads" "$binary" crawl "$seed" --threads="$threads" --io-threads=1 \
    --per-host-delay=0 --per-host-concurrency=8 --concurrency=128 --out=jsonl:/dev/null "$@"
}
read -r -a extra <<<"${ARGS:-}"
if [ -n "${SCRAPE:-}" ]; then
  (for _ in $(seq 3600); do curl -s -o /dev/null --max-time 1 "$SCRAPE" || true; sleep 1; done) &
  scraper=$!
  trap 'kill "$scraper" 2>/dev/null; stop_site; rm -rf "$work"' EXIT
fi
if [ -n "${BASELINE:-}" ]; then
  for round in $(seq "${ROUNDS:-3}"); do
    for threads in 1 2; do
      crawl_with arachne "$bin" "$threads" "${extra[@]}"
      crawl_with baseline "$BASELINE" "$threads"
    done
  done
else
  for threads in 1 2; do
    crawl_with arachne "$bin" "$threads" "${extra[@]}"
  done
fi
if command -v wget2 >/dev/null; then
  mkdir -p "$work/wget2"
  run "wget2 --max-threads=128" wget2 -r -l inf -H --robots=on --max-threads=128 --no-verbose \
    --delete-after --tries=1 -P "$work/wget2" "$seed"
fi
