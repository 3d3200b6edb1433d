#!/usr/bin/env bash
# Distributed crawls on this machine: the same crawl of the demo site on 1, 2
# and 3 nodes (each node pinned to a core with taskset, round robin), over
# mutual TLS. For each: pages/s, messages between shards per page (link and
# guard batches, from the report), and TCP payload bytes per page between
# nodes and between nodes and the coordinator (bytes_sent of their sockets,
# from ss, TLS included).
# Usage: bench/cluster.sh [HOSTS] [PAGES] [LATENCY]
# NODES="1 2 3" chooses the cluster sizes; BIN another arachne binary. QUOTA=0.25 (as root, cgroup v1
# cpu controller) runs each node in its own cgroup capped at that share of
# one core (cpu.cfs_quota_us) instead of pinning it, so that N nodes never
# need more than N x QUOTA cores (the site and the coordinator uncapped);
# NODES then defaults to "1 2 4". SINKS=local keeps the records on the
# nodes (--cluster-sinks=local; default: coordinator). ARGS adds options
# to the coordinator's crawl (--cluster-rebalance=true, say); REPORTS=DIR
# keeps each crawl's report there. Each line also gives the nodes' CPU per
# page (all their threads, from /proc).
set -euo pipefail
cd "$(dirname "$0")/.."
hosts=${1:-40}
pages=${2:-200}
latency=${3:-0}
bin=${BIN:-build/bin/arachne}
[ -x "$bin" ] || scripts/build
command -v ss >/dev/null || { echo "bench/cluster.sh needs ss (apt-get install iproute2)" >&2; exit 1; }
work=$(mktemp -d)
. scripts/lib/site.sh
node_pids=()
trap 'kill "${node_pids[@]}" 2>/dev/null || true; stop_site; rm -rf "$work"' EXIT
start_site "$bin" "$work" --hosts="$hosts" --pages="$pages" --crawl-delay=0 --trap=false \
  --latency="$latency" --threads=1
seed="http://127.0.1.1:$site_port/"
tls() { echo "--cluster-cert=$work/ca/$1.pem --cluster-key=$work/ca/$1.key --cluster-ca=$work/ca/ca.pem"; }
cores=$(nproc)
quota=${QUOTA:-}
sinks=${SINKS:-coordinator}
cgroups=()
if [ -n "$quota" ]; then
  cpu_root=/sys/fs/cgroup/cpu
  [ -w "$cpu_root/cgroup.procs" ] || { echo "QUOTA needs root and the cgroup v1 cpu controller at $cpu_root" >&2; exit 1; }
  echo "site: $hosts hosts x $pages pages, latency $latency; each node --threads=1 in a cgroup of $quota core"
else
  echo "site: $hosts hosts x $pages pages, latency $latency; each node --threads=1 on core (i mod $cores)"
fi
# (Each step may fail, the nodes being gone already: none may stop the rest.)
cleanup() {
  kill "${node_pids[@]}" 2>/dev/null || true
  wait "${node_pids[@]}" 2>/dev/null || true
  stop_site
  for g in "${cgroups[@]}"; do rmdir "$g" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# in_cgroup I PID: moves PID (all its threads) into node I's capped cgroup.
in_cgroup() {
  local g="$cpu_root/arachne-bench-$$-$1"
  if [ ! -d "$g" ]; then
    mkdir "$g"
    cgroups+=("$g")
    echo 100000 >"$g/cpu.cfs_period_us"
    awk -v q="$quota" 'BEGIN { printf "%d\n", q * 100000 }' >"$g/cpu.cfs_quota_us"
  fi
  echo "$2" >"$g/cgroup.procs"
}

# bytes_sent of the established sockets of PID whose peer port is in PORTS.
sent_to() { # sent_to PID PORTS...
  local pid=$1
  shift
  ss -tinpH state established 2>/dev/null | awk -v pid="pid=$pid," -v ports=" $* " '
    /^[0-9]/ { split($4, peer, ":"); split($3, local_, ":"); keep = index($0, pid) > 0 &&
               (index(ports, " " peer[length(peer)] " ") > 0 || index(ports, " " local_[length(local_)] " ") > 0); next }
    keep { if (match($0, /bytes_sent:[0-9]+/)) total += substr($0, RSTART + 11, RLENGTH - 11); keep = 0 }
    END { print total + 0 }'
}

sizes=${NODES:-$([ -n "$quota" ] && echo "1 2 4" || echo "1 2 3")}
"$bin" cluster-ca "$work/ca" --names="$(seq -s, -f 'n%g' "$(echo "$sizes" | tr ' ' '\n' | sort -n | tail -1)"),coord" \
  --hosts=127.0.0.1 >/dev/null
for n in $sizes; do
  node_pids=()
  eps=""
  ports=()
  for i in $(seq "$n"); do
    if [ -n "$quota" ]; then
      # shellcheck disable=SC2046
      "$bin" node --listen=127.0.0.1:0 --threads=1 --io-threads=1 --out=null $(tls n$i) >"$work/node$i.out" 2>&1 &
      in_cgroup "$i" "$!"
    else
      # shellcheck disable=SC2046
      taskset -c $(( (i - 1) % cores )) "$bin" node --listen=127.0.0.1:0 --threads=1 --io-threads=1 --out=null \
        $(tls n$i) >"$work/node$i.out" 2>&1 &
    fi
    node_pids+=("$!")
    for _ in $(seq 200); do grep -q '^listening' "$work/node$i.out" && break; sleep 0.05; done
    ep=$(awk '/^listening on/{print $3}' "$work/node$i.out")
    eps+=${eps:+,}$ep
    ports+=("${ep##*:}")
  done
  # shellcheck disable=SC2046
  "$bin" crawl "$seed" --cluster="$eps" $(tls coord) --per-host-delay=0 --per-host-concurrency=8 \
    --concurrency=128 --progress=false --out=null --cluster-sinks="$sinks" ${ARGS:-} >"$work/report" 2>&1 &
  crawl_pid=$!
  # Sample the sockets just before the coordinator hangs up: poll until it ends.
  node_bytes=0
  coord_bytes=0
  while kill -0 "$crawl_pid" 2>/dev/null; do
    nb=0
    for p in "${node_pids[@]}"; do nb=$((nb + $(sent_to "$p" "${ports[@]}"))); done
    cb=$(sent_to "$crawl_pid" "${ports[@]}")
    [ "$nb" -gt "$node_bytes" ] && node_bytes=$nb
    [ "$cb" -gt "$coord_bytes" ] && coord_bytes=$cb
    sleep 0.2
  done
  wait "$crawl_pid" || true
  # The nodes' CPU (user + system, all threads) over the whole crawl.
  node_ticks=0
  for p in "${node_pids[@]}"; do
    node_ticks=$((node_ticks + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0)))
  done
  node_cpu=$(awk -v t="$node_ticks" -v hz="$(getconf CLK_TCK)" 'BEGIN { print t / hz }')
  [ -n "${REPORTS:-}" ] && cp "$work/report" "$REPORTS/cluster-$n.report"
  pages_n=$(sed -n 's/^  records .*(pages \([0-9]*\),.*/\1/p' "$work/report")
  secs=$(sed -n 's/^crawl finished after \([0-9.]*\)s/\1/p' "$work/report")
  msgs=$(sed -n 's/.*messages between shards: .*(\([0-9.]*\) per page).*/\1/p' "$work/report")
  coord_cpu=$(sed -n 's/^  cpu \([0-9.]*\)s .*/\1/p' "$work/report")
  awk -v n="$n" -v p="$pages_n" -v s="$secs" -v m="$msgs" -v nb="$node_bytes" -v cb="$coord_bytes" -v cc="$coord_cpu" -v nc="$node_cpu" \
    'BEGIN { printf "%d node(s): %6d pages in %5.1f s: %6.0f pages/s, %s shard messages/page, %6.0f B/page node<->node+coordinator (%0.f B/page sent by nodes, %.0f by the coordinator), nodes %.3f and coordinator %.3f CPU-ms/page\n",
             n, p, s, p / s, m, (nb + cb) / p, nb / p, cb / p, nc * 1000 / p, cc * 1000 / p }'
  # Each node's share of the pages, from the report's nodes section.
  shares=$(sed -n 's/^    .*pages [0-9]* (\([0-9.]*%\)).*/\1/p' "$work/report" | paste -sd/ -)
  [ "$n" -gt 1 ] && echo "  pages per node: $shares"
  kill "${node_pids[@]}" 2>/dev/null || true
  wait "${node_pids[@]}" 2>/dev/null || true
done
