#!/usr/bin/env bash
# What a polite crawl costs while it waits. Two measures, one run:
#  1. The demo site (HOSTS x PAGES, no latency) crawled without a per-host
#     delay and with DELAY: CPU-ms per record of each, and their ratio.
#  2. A crawl whose only host is waiting (one host, a 10 s delay, its
#     robots.txt and first page fetched): the crawler's CPU over 6 s of
#     waiting, as a share of one core (from /proc/PID/stat).
# Usage: bench/idle.sh [HOSTS] [PAGES] [DELAY]
# BASELINE=path/to/other/arachne measures that binary too, in turn with
# this one; ARGS="--scheduler-backoff=25ms ..." adds options to every crawl
# of this one (BASELINE_ARGS to the baseline's).
set -euo pipefail
cd "$(dirname "$0")/.."
hosts=${1:-20}
pages=${2:-10}
delay=${3:-300ms}
bin=build/bin/arachne
[ -x "$bin" ] || scripts/build
command -v /usr/bin/time >/dev/null || { echo "bench/idle.sh needs GNU time (apt-get install time)" >&2; exit 1; }
work=$(mktemp -d)
. scripts/lib/site.sh
trap 'stop_site; rm -rf "$work"' EXIT
start_site "$bin" "$work" --hosts="$hosts" --pages="$pages" --crawl-delay=0 --trap=false --threads=1
seed="http://127.0.1.1:$site_port/"
ticks=$(getconf CLK_TCK)
echo "site: $hosts hosts x $pages pages; per-host delay 0 and $delay; waiting: one host, 10 s delay"

# cpu_per_record BINARY DELAY ARGS...: prints "RECORDS CPU-MS-EACH".
cpu_per_record() {
  local crawler=$1 d=$2
  shift 2
  rm -f "$work/out.jsonl" # (a crawl does not replace an output that exists)
  /usr/bin/time -f '%e %U %S' -o "$work/time" "$crawler" crawl "$seed" --per-host-delay="$d" \
    --out=jsonl:"$work/out.jsonl" "$@" >/dev/null 2>&1
  local n
  n=$(wc -l <"$work/out.jsonl")
  read -r _ user sys < <(tail -n 1 "$work/time")
  awk -v n="$n" -v u="$user" -v s="$sys" 'BEGIN { printf "%d %.3f\n", n, (u + s) * 1000 / n }'
}

# waiting_share BINARY ARGS...: a share of one core, in percent.
waiting_share() {
  local crawler=$1
  shift
  "$crawler" crawl "$seed" --allowed-domains=127.0.1.1 --per-host-delay=10s --max-pages=3 \
    --out=null "$@" >/dev/null 2>&1 &
  local pid=$!
  sleep 3 # robots.txt and the front page are fetched; the next is 10 s away
  local a b
  a=$(awk '{ print $14 + $15 }' "/proc/$pid/stat")
  sleep 6
  b=$(awk '{ print $14 + $15 }' "/proc/$pid/stat")
  kill -INT "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  awk -v a="$a" -v b="$b" -v t="$ticks" 'BEGIN { printf "%.2f", (b - a) / t / 6 * 100 }'
}

measure() { # measure LABEL BINARY ARGS...
  local label=$1 crawler=$2
  shift 2
  read -r n0 fast < <(cpu_per_record "$crawler" 0 "$@")
  read -r n1 polite < <(cpu_per_record "$crawler" "$delay" "$@")
  local share
  share=$(waiting_share "$crawler" "$@")
  awk -v l="$label" -v n0="$n0" -v f="$fast" -v n1="$n1" -v p="$polite" -v d="$delay" -v w="$share" \
    'BEGIN { printf "%-10s no delay %d records %.3f CPU-ms each; %s delay %d records %.3f CPU-ms each (%.1fx); all waiting %.2f%% of a core\n",
             l, n0, f, d, n1, p, p / f, w }'
}

read -r -a args <<<"${ARGS:-}"
read -r -a baseline_args <<<"${BASELINE_ARGS:-}"
for round in $(seq "${ROUNDS:-1}"); do
  measure arachne "$bin" "${args[@]}"
  [ -n "${BASELINE:-}" ] && measure baseline "$BASELINE" "${baseline_args[@]}"
done
