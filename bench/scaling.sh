#!/usr/bin/env bash
# Scaling across cores in CPU-bound crawls of the demo site (no latency, no
# per-host delay, responses cached by the site): one scheduler thread on
# CPU 0 against two on CPUs 0-1, the site pinned to CPU 1, run in
# alternating pairs (the machine is shared and noisy: a ratio is taken
# within a pair, and the median of the pairs is reported).
#
# Two crawls:
#   links    `arachne crawl --out=null`: links followed, nothing else done
#            with a page. The site's own work is a large part of the total.
#   handler  example_hello: the page handler reads each page's title by
#            XPath (a libxml2 tree per page), the work of a crawl that
#            extracts data. The crawler's work dominates.
#
# For each pair: pages/s of both runs and their ratio, the ratio of their
# CPU per page, and the share of CPU 1 the site used during the two-thread
# run. With the site on CPU 1, the two-thread run has 2 - that share of a
# core to itself at most: the ratio of rates cannot exceed that bound.
# Usage: bench/scaling.sh [PAIRS] [HOSTS] [PAGES]
set -euo pipefail
cd "$(dirname "$0")/.."
pairs=${1:-5}
hosts=${2:-40}
pages=${3:-400}
bin=build/bin/arachne
hello=build/bin/example_hello
[ -x "$bin" ] && [ -x "$hello" ] || scripts/build
command -v /usr/bin/time >/dev/null || { echo "bench/scaling.sh needs GNU time (apt-get install time)" >&2; exit 1; }
command -v taskset >/dev/null || { echo "bench/scaling.sh needs taskset (util-linux)" >&2; exit 1; }
[ "$(nproc)" -ge 2 ] || { echo "bench/scaling.sh needs two CPUs" >&2; exit 1; }
bin=$(realpath "$bin")
hello=$(realpath "$hello")
work=$(mktemp -d)
. scripts/lib/site.sh
trap 'stop_site; rm -rf "$work"' EXIT
start_site "$bin" "$work" --hosts="$hosts" --pages="$pages" --crawl-delay=0 --trap=false \
  --threads=1 --cache=1g --access-log="$work/access.log"
taskset -a -p -c 1 "$site_pid" >/dev/null
seed="http://127.0.1.1:$site_port/"
echo "site: $hosts hosts x $pages pages, one IO thread, on CPU 1; $pairs pairs of runs per crawl"
crawl_opts=(--io-threads=1 --per-host-delay=0 --per-host-concurrency=8 --concurrency=128)
# A first crawl, not measured, fills the site's cache.
"$bin" crawl "$seed" "${crawl_opts[@]}" --out=null >/dev/null

site_ticks() { awk '{ print $14 + $15 }' "/proc/$site_pid/stat"; }

# measure CPUS THREADS COMMAND...: sets wall, cpu (s), responses, site_cpu (s)
measure() {
  local cpus=$1 threads=$2
  shift 2
  sleep 0.6 # the access log is flushed every 0.5 s
  local before ticks
  before=$(wc -l <"$work/access.log")
  ticks=$(site_ticks)
  (cd "$work" && /usr/bin/time -f '%e %U %S' -o "$work/time" taskset -c "$cpus" "$@" \
    --threads="$threads" "${crawl_opts[@]}" "$seed" >/dev/null 2>"$work/err") || {
    echo "the crawl failed:" >&2
    cat "$work/err" >&2
    exit 1
  }
  site_cpu=$(awk -v t="$(($(site_ticks) - ticks))" -v hz="$(getconf CLK_TCK)" 'BEGIN { print t / hz }')
  sleep 0.6
  responses=$(($(wc -l <"$work/access.log") - before))
  read -r wall user sys < <(tail -n 1 "$work/time")
  cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN { print u + s }')
}

# median: of the numbers on stdin
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

for crawl in links handler; do
  if [ "$crawl" = links ]; then
    cmd=("$bin" crawl --out=null --progress=false)
  else
    cmd=("$hello")
  fi
  echo "$crawl:"
  : >"$work/ratios"
  for i in $(seq "$pairs"); do
    measure 0 1 "${cmd[@]}"
    read -r w1 c1 n1 <<<"$wall $cpu $responses"
    measure 0,1 2 "${cmd[@]}"
    read -r w2 c2 n2 s2 <<<"$wall $cpu $responses $site_cpu"
    awk -v i="$i" -v w1="$w1" -v c1="$c1" -v n1="$n1" -v w2="$w2" -v c2="$c2" -v n2="$n2" -v s2="$s2" \
      'BEGIN { r1 = n1 / w1; r2 = n2 / w2; share = s2 / w2
               printf "  pair %d: 1 thread %6.0f pages/s %.3f CPU-ms each | 2 threads %6.0f pages/s %.3f CPU-ms each | rate x%.2f, CPU per page x%.2f, site %2.0f%% of CPU 1 (bound x%.2f)\n",
                      i, r1, c1 * 1000 / n1, r2, c2 * 1000 / n2, r2 / r1, (c2 / n2) / (c1 / n1), 100 * share, 2 - share
               printf "%.4f %.4f %.4f\n", r2 / r1, (c2 / n2) / (c1 / n1), 2 - share > "/dev/stderr" }' \
      2>>"$work/ratios"
  done
  echo "  median: rate x$(cut -d' ' -f1 "$work/ratios" | median), CPU per page x$(cut -d' ' -f2 "$work/ratios" | median), bound x$(cut -d' ' -f3 "$work/ratios" | median)"
done
