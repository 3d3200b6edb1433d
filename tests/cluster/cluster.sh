#!/usr/bin/env bash
# Distributed crawls with real processes on loopback: three `arachne node`s
# and a coordinator (`arachne crawl --cluster`) over mutual TLS with
# certificates from `arachne cluster-ca`. The crawl records exactly the
# reachable set, each URL once; the site's access log shows every host served
# by one node only (each node connects from its own --source-address) and no
# host asked faster than its delay or more than its concurrency; a node killed
# with SIGKILL mid-crawl, or hung with SIGSTOP, loses no URL (only those in
# flight there are recorded twice, marked "resumed"); a node that joins mid-crawl takes over
# its share of the hosts without a URL fetched twice or a host's pace broken;
# clients and joining nodes without a certificate of the cluster CA are
# refused; a coordinator killed mid-crawl and started again (--state)
# resumes it on the nodes with nothing lost and nothing fetched twice; hosts
# on one address share --per-ip-concurrency across the nodes; a node out of
# work takes hosts with queued URLs from the busiest node, each host moving
# once, its pace kept; a node flooded with connections that never finish
# their TLS handshake lives and holds few descriptors.
# Usage: cluster.sh PATH/TO/arachne
set -u
bin=$1
. "$(dirname "$0")/../cli/checks.sh"
use_seed
. "$(dirname "$0")/../../scripts/lib/site.sh"

# The nodes and coordinators run niced, so the site keeps up; its stamps
# are the kernel's receive times anyway (SO_TIMESTAMPNS), which a site read
# late does not shift.
crawler=(nice -n 10 "$bin")

ca=$work/ca
"$bin" cluster-ca "$ca" --names=n1,n2,n3,n4,coord,stranger --hosts=127.0.0.1 >/dev/null || exit 1
"$bin" cluster-ca "$work/other-ca" --names=x >/dev/null || exit 1
# A killed node is noticed when its connections close. The heartbeat timeout
# (for hung nodes) is long here: under TSan a busy node answers slowly.
tls() { echo "--cluster-cert=$ca/$1.pem" "--cluster-key=$ca/$1.key" "--cluster-ca=$ca/ca.pem" --cluster-timeout=60s; }

# About 2,900 URLs on 12 hosts at 20 ms each: a few seconds to kill a node in.
start_site "$bin" "$work" --hosts=12 --pages=100 --trap=false --crawl-delay=0 --latency=20ms \
  --truth-out="$work/truth.tsv" --access-log="$work/access.log" --serve-for=600s || exit 1
port=$site_port
for _ in $(seq 100); do [ -s "$work/truth.tsv" ] && break; sleep 0.05; done
cut -f1 "$work/truth.tsv" | sort >"$work/truth.txt"
seed="http://127.0.1.1:$port/"

# listening OUT: the endpoint a node writing to OUT listens on (10 s at most).
listening() {
  local ep=""
  for _ in $(seq 200); do
    ep=$(awk '/^listening on/{print $3}' "$1" 2>/dev/null)
    [ -n "$ep" ] && break
    sleep 0.05
  done
  echo "$ep"
}
# start_nodes: three nodes, node i connecting from 127.0.2.i; sets endpoints
# and node_pid[1..3].
start_nodes() {
  local i
  # (No old "listening on" line may be read for a new node.)
  rm -f "$work"/node[123].out
  for i in 1 2 3; do
    # shellcheck disable=SC2046
    "${crawler[@]}" node --listen=127.0.0.1:0 --threads=1 --source-address=127.0.2.$i $(tls n$i) \
      --out=jsonl:"$work/local$i.jsonl" >"$work/node$i.out" 2>&1 &
    node_pid[$i]=$!
    more_pids+=("$!")
  done
  endpoints=""
  for i in 1 2 3; do
    local ep
    ep=$(listening "$work/node$i.out")
    [ -n "$ep" ] || { echo "node $i did not start:" >&2; cat "$work/node$i.out" >&2; return 1; }
    endpoints+=${endpoints:+,}$ep
  done
}
stop_nodes() { kill "${node_pid[@]}" 2>/dev/null; wait "${node_pid[@]}" 2>/dev/null; }
coordinator() { # coordinator OUT.jsonl [options...]
  local out=$1
  shift
  # shellcheck disable=SC2046
  "${crawler[@]}" crawl "$seed" --cluster="$endpoints" $(tls coord) --user-agent=arachne \
    --per-host-delay=0 --progress=false --out=jsonl:"$out" "$@"
}
# The site writes its access log every 0.5 s: let it catch up.
log_settled() { sleep 0.7; }
same_set() { jq -r .url "$1" | sort -u | cmp -s "$work/truth.txt" -; }
once_each() { [ "$(jq -r .url "$1" | sort | uniq -d | wc -l)" -eq 0 ]; }
# one_node_per_host LOG: each host's requests came from one source address.
one_node_per_host() {
  awk -F'\t' '{ split($7, p, ":"); if (!(($3, p[1]) in seen)) { seen[$3, p[1]] = 1; n[$3]++ } }
    END { for (h in n) if (n[h] > 1) { print "host " h " served by " n[h] " nodes" > "/dev/stderr"; bad = 1 }
          exit bad }' "$1"
}
# one_switch_per_host LOG: a host's requests come from one node, then maybe
# from another (a node joined, or the load was balanced): never back and
# forth, never from two at once.
one_switch_per_host() {
  awk -F'\t' '{ split($7, p, ":"); print $3 "\t" $1 "\t" p[1] }' "$1" | sort -k1,1 -k2,2n |
    awk -F'\t' '$1 != h { h = $1; from = $3; n = 0 } $3 != from { from = $3; n++ }
                 n > 1 { print "host " h " switched nodes " n " times" > "/dev/stderr"; bad = 1 }
                 END { exit bad }'
}

# -- a crawl on three nodes ------------------------------------------------------
start_nodes || exit 1
check "a 3-node crawl over TLS exits 0" [ "$(exit_code coordinator "$work/c1.jsonl")" -eq 0 ] ||
  tail -n 3 "$work/out" "$work/err" >&2
cp "$work/out" "$work/c1.report"
check "... records exactly the reachable set" same_set "$work/c1.jsonl"
check "... each URL once" once_each "$work/c1.jsonl"
check "... the report shows the three nodes' shares" \
  [ "$(grep -c '^    127.0.0.1:[0-9]*: weight' "$work/c1.report")" -eq 3 ]
log_settled
check "... every host was served by one node only" one_node_per_host "$work/access.log"
check "... by more than one node in all" \
  [ "$(cut -f7 "$work/access.log" | cut -d: -f1 | sort -u | wc -l)" -ge 2 ]

# Records in the nodes' own sinks instead; hosts stay where rendezvous
# hashing puts them.
: >"$work/access.log"
check "with --cluster-sinks=local --cluster-rebalance=false the crawl exits 0" \
  [ "$(exit_code coordinator "$work/c2.jsonl" --cluster-sinks=local --cluster-rebalance=false)" -eq 0 ] ||
  tail -n 3 "$work/out" "$work/err" >&2
log_settled
check "... every host was served by one node only" one_node_per_host "$work/access.log"
check "... no host moved" [ "$(grep -c "moved" "$work/out")" -eq 0 ]
cat "$work"/local[123].jsonl >"$work/c2-all.jsonl"
check "... the nodes' files hold the reachable set" same_set "$work/c2-all.jsonl"
check "... each URL once" once_each "$work/c2-all.jsonl"
check "... and the coordinator's --out is left alone" [ ! -e "$work/c2.jsonl" ]

# Politeness across the cluster: a host's delay and concurrency hold, as if
# one process crawled it. Under a sanitizer the nodes and the site (which
# stamps a request when it has read it) run late and unevenly, by tens of
# ms: the delay is stretched there so that 15% of it still exceeds that.
delay_ms=50
# (A sanitizer build: GCC's links libasan/libtsan, Clang's carries its
# runtime inside, so the test's environment says it too.)
{ [ -n "${ARACHNE_SANITIZE:-}" ] || ldd "$bin" 2>/dev/null | grep -qE 'lib(t|a)san'; } && delay_ms=200
floor_us=$((delay_ms * 850))
log_settled
: >"$work/access.log"
check "a crawl with a $delay_ms ms delay per host exits 0" \
  [ "$(exit_code coordinator "$work/c3.jsonl" --per-host-delay=${delay_ms}ms --per-host-jitter=0 \
        --per-host-concurrency=2 --max-pages-per-host=30)" -eq 0 ]
log_settled
# gaps_ok LOG US: consecutive request starts to a host are US apart at least.
gaps_ok() {
  awk -F'\t' '{ print $3 "\t" $1 }' "$1" | sort -k1,1 -k2,2n |
    awk -F'\t' -v min="$2" '$1 == h && $2 - last < min { bad = 1; print "gap " ($2 - last) " us at " $1 > "/dev/stderr" }
                             { h = $1; last = $2 } END { exit bad }'
}
# concurrency_ok LOG N: no host had more than N requests at once.
concurrency_ok() {
  awk -F'\t' '{ print $3 "\t" $1 "\t1"; print $3 "\t" $2 "\t-1" }' "$1" | sort -k1,1 -k2,2n -k3,3n |
    awk -F'\t' -v max="$2" '$1 != h { h = $1; n = 0 } { n += $3; if (n > max) bad = 1 } END { exit bad }'
}
check "... no host asked sooner than 85% of its delay after the last request" \
  gaps_ok "$work/access.log" "$floor_us"
check "... nor more than 2 requests at once" concurrency_ok "$work/access.log" 2
check "... every host was served by one node, then maybe another" \
  one_switch_per_host "$work/access.log"

# Per IP address across the cluster: twelve names on one address, their
# hosts owned by shards on every node, share --per-ip-concurrency=2 (the
# address has one owner, a shard on one node, that all the others ask).
ip_seeds=()
ip_resolve=()
for i in $(seq 12); do
  ip_seeds+=("http://ip$i.test:$port/")
  ip_resolve+=("--resolve=ip$i.test:$port:127.0.1.1")
done
log_settled
: >"$work/access.log"
# shellcheck disable=SC2046
check "a crawl of 12 names on one address with --per-ip-concurrency=2 exits 0" \
  [ "$(exit_code "$bin" crawl "${ip_seeds[@]}" --cluster="$endpoints" $(tls coord) --per-host-delay=0 \
        --max-depth=0 --per-ip-concurrency=2 "${ip_resolve[@]}" --progress=false \
        --out=jsonl:"$work/c-ip.jsonl")" -eq 0 ]
log_settled
check "... records each name's front page" [ "$(jq -r .url "$work/c-ip.jsonl" | sort -u | wc -l)" -eq 12 ]
check "... from more than one node" [ "$(cut -f7 "$work/access.log" | cut -d: -f1 | sort -u | wc -l)" -ge 2 ]
check "... and the address never had more than 2 requests at once" concurrency_ok "$work/access.log" 2

# crawling OUT.jsonl: waits until the crawl writing OUT.jsonl has started on
# every node and records arrive (at most 30 s: a sanitizer build starts
# slowly), then a random moment within 0.5 s.
crawling() {
  for _ in $(seq 300); do
    [ -s "$1" ] && break
    sleep 0.1
  done
  sleep "0.$((RANDOM % 6))"
}

# -- a node killed mid-crawl -----------------------------------------------------
coordinator "$work/c4.jsonl" >"$work/c4.report" 2>"$work/c4.err" &
crawl_pid=$!
crawling "$work/c4.jsonl"
kill -KILL "${node_pid[2]}"
wait "$crawl_pid"
check "a crawl that lost a node exits 0" [ $? -eq 0 ]
check "... it says which node it lost" grep -q "^  lost node 127.0.0.1:" "$work/c4.report"
check "... it records every reachable URL" same_set "$work/c4.jsonl"
check "... only URLs marked resumed twice" \
  [ "$(jq -r 'select(.resumed | not) | .url' "$work/c4.jsonl" | sort | uniq -d | wc -l)" -eq 0 ] ||
  jq -c 'select(.resumed | not) | [.url, .depth, .fetched_at]' "$work/c4.jsonl" | sort | uniq -D -w 60 | head >&2
dups=$(( $(wc -l <"$work/c4.jsonl") - $(wc -l <"$work/truth.txt") ))
reowned=$(sed -n 's/^  \([0-9]*\) URLs of lost nodes went to the others.*/\1/p' "$work/c4.report")
echo "node killed: ${dups} URLs recorded twice, ${reowned:-?} taken over"
# In flight at the dead node: fetching (--concurrency at most) or recorded and
# not yet acknowledged by the sinks (4 batches of 64).
check "... those recorded twice are at most what can be in flight there" [ "$dups" -le $((256 + 4 * 64)) ]
stop_nodes

# -- a node that hangs (SIGSTOP) is noticed by the heartbeats ---------------------------
start_nodes || exit 1
started=$(date +%s.%N)
coordinator "$work/c9.jsonl" --cluster-heartbeat=250ms --cluster-timeout=2s \
  >"$work/c9.report" 2>"$work/c9.err" &
crawl_pid=$!
crawling "$work/c9.jsonl"
kill -STOP "${node_pid[3]}"
hung=$(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN { print b - a }')
wait "$crawl_pid"
check "a crawl with a hung node exits 0" [ $? -eq 0 ] || cat "$work/c9.err" >&2
kill -KILL "${node_pid[3]}"
check "... it says which node it lost" grep -q "^  lost node 127.0.0.1:" "$work/c9.report"
# (The report says when, after the crawl's start, the node was dropped.)
lost_after=$(sed -n 's/^  lost node .* after \([0-9.]*\)s:.*/\1/p' "$work/c9.report" | head -n 1)
echo "node hung after $hung s, dropped after ${lost_after:-?} s"
check "... within seconds of the hang (heartbeat timeout 2 s)" \
  awk -v t="${lost_after:-999}" -v h="$hung" 'BEGIN { exit !(t - h <= 8) }'
check "... it records every reachable URL" same_set "$work/c9.jsonl"
check "... only URLs marked resumed twice" \
  [ "$(jq -r 'select(.resumed | not) | .url' "$work/c9.jsonl" | sort | uniq -d | wc -l)" -eq 0 ]
stop_nodes

# -- a node joins mid-crawl -------------------------------------------------------
# (Hosts move only for the join here: no balancing, which could move one again.)
# join_door ERR: where the coordinator writing to ERR takes joining nodes.
join_door() {
  local door=""
  for _ in $(seq 200); do
    door=$(sed -n 's/^arachne: nodes join at //p' "$1")
    [ -n "$door" ] && break
    sleep 0.05
  done
  echo "$door"
}
start_nodes || exit 1
two=$(echo "$endpoints" | cut -d, -f1,2)
log_settled
: >"$work/access.log"
# shellcheck disable=SC2046
"${crawler[@]}" crawl "$seed" --cluster="$two" --cluster-listen=127.0.0.1:0 $(tls coord) \
  --user-agent=arachne --per-host-delay=${delay_ms}ms --per-host-jitter=0 --per-host-concurrency=2 \
  --cluster-rebalance=false --progress=false --out=jsonl:"$work/c6.jsonl" >"$work/c6.report" \
  2>"$work/c6.err" &
crawl_pid=$!
desk=$(join_door "$work/c6.err")
crawling "$work/c6.jsonl" # (it joins a crawl under way)
# shellcheck disable=SC2046
# (Weight 4 of 6: it owns some of the 12 hosts, all but surely.)
"${crawler[@]}" node --listen=127.0.0.1:0 --threads=1 --weight=4 --source-address=127.0.2.4 $(tls n4) \
  --join="$desk" >"$work/node4.out" 2>&1 &
node_pid[4]=$!
more_pids+=("$!")
wait "$crawl_pid"
check "a crawl that a node joined exits 0" [ $? -eq 0 ] || cat "$work/c6.err" "$work/node4.out" >&2
check "... it says which node joined" grep -q "^  joined node 127.0.0.1:" "$work/c6.report"
check "... it records exactly the reachable set" same_set "$work/c6.jsonl"
check "... each URL once" once_each "$work/c6.jsonl"
joined_pages=$(sed -n 's/^    127.0.0.1:[0-9]*: .* pages \([0-9]*\) .*(joined during the crawl)$/\1/p' "$work/c6.report")
grep -E '^    127|joined|moved' "$work/c6.report"
check "... the joined node fetched pages" [ "${joined_pages:-0}" -gt 0 ]
check "... from its own address" grep -q $'\t127.0.2.4:' "$work/access.log"
log_settled
check "... each host moved at most once" one_switch_per_host "$work/access.log"
check "... no host asked sooner than 85% of its delay, across the move too" \
  gaps_ok "$work/access.log" "$floor_us"
check "... nor more than 2 requests at once" concurrency_ok "$work/access.log" 2
# A node without a certificate of the cluster CA cannot join.
"${crawler[@]}" crawl "$seed" --cluster="$two" --cluster-listen=127.0.0.1:0 $(tls coord) \
  --user-agent=arachne --per-host-delay=50ms --max-pages-per-host=60 --progress=false \
  --out=jsonl:"$work/c7.jsonl" >"$work/c7.report" 2>"$work/c7.err" &
crawl_pid=$!
desk=$(join_door "$work/c7.err")
check "a node with another CA's certificate cannot join: exit 1" \
  [ "$(exit_code timeout 30 "$bin" node --listen=127.0.0.1:0 --cluster-cert="$work/other-ca/x.pem" \
        --cluster-key="$work/other-ca/x.key" --cluster-ca="$ca/ca.pem" --join="$desk")" -eq 1 ]
check "... saying so" grep -q "cannot join the crawl" "$work/err"
check "... while the crawl still took joins" kill -0 "$crawl_pid"
wait "$crawl_pid"
check "... and the crawl goes on without it" grep -q "^  nodes$" "$work/c7.report"
check "... no node joined" [ "$(grep -c "joined" "$work/c7.report")" -eq 0 ]
kill "${node_pid[4]}" 2>/dev/null
stop_nodes

# -- the coordinator is killed and started again ------------------------------------
start_nodes || exit 1
log_settled
: >"$work/access.log"
restartable() { coordinator "$work/c8.jsonl" --state="$work/cstate" --per-host-delay=50ms --per-host-jitter=0; }
restartable >"$work/c8.report" 2>"$work/c8.err" &
crawl_pid=$!
# Killed mid-crawl: once it has saved its state and records arrive, at a
# random moment within 0.5 s. Waited for up to 100 s: a sanitizer build
# starts slowly.
for _ in $(seq 1000); do
  grep -qs "^crawl " "$work/cstate/coordinator.state" && [ -s "$work/c8.jsonl" ] && break
  sleep 0.1
done
sleep "0.$((RANDOM % 6))"
# (The coordinator runs in a subshell: kill the process itself.)
kill -KILL $(pgrep -P "$crawl_pid") "$crawl_pid" 2>/dev/null
wait "$crawl_pid" 2>/dev/null
check "a coordinator killed mid-crawl kept its state" grep -q "^crawl " "$work/cstate/coordinator.state"
before=$(wc -l <"$work/c8.jsonl")
check "the same command again exits 0" [ "$(exit_code restartable)" -eq 0 ] ||
  tail -n 5 "$work/err" "$work"/node[123].out >&2
cp "$work/out" "$work/c8.report"
check "... it took the crawl up where it was" grep -q "resumed by a restarted coordinator" "$work/c8.report"
check "... the output holds exactly the reachable set" same_set "$work/c8.jsonl"
dups=$(( $(wc -l <"$work/c8.jsonl") - $(wc -l <"$work/truth.txt") ))
echo "coordinator killed after $before records: $dups records written twice"
# Written twice: records the dead coordinator stored but had not acknowledged
# (each shard keeps up to 4 unacknowledged batches of 64).
check "... records written twice are at most those unacknowledged at the kill" \
  [ "$dups" -le $((3 * 4 * 64)) ]
log_settled
check "... and no URL was fetched twice" \
  [ "$(awk -F'\t' '$4 != "/robots.txt" { print $3 $4 }' "$work/access.log" | sort | uniq -d | wc -l)" -eq 0 ]
check "run once more, the finished crawl is refused: exit 2" [ "$(exit_code restartable)" -eq 2 ]
check "... saying so" grep -q "is finished" "$work/err"
stop_nodes

# -- a node out of work takes hosts from the busiest ---------------------------------
# Node 2's weight puts next to none of the 12 hosts on it: it is out of work
# from the start, and the coordinator moves hosts with queued URLs to it.
log_settled
: >"$work/access.log"
# shellcheck disable=SC2046
"${crawler[@]}" node --listen=127.0.0.1:0 --threads=1 --source-address=127.0.2.1 $(tls n1) \
  >"$work/node1.out" 2>&1 &
node_pid=([1]=$!)
more_pids+=("$!")
# shellcheck disable=SC2046
"${crawler[@]}" node --listen=127.0.0.1:0 --threads=1 --weight=0.001 --source-address=127.0.2.2 $(tls n2) \
  >"$work/node2.out" 2>&1 &
node_pid[2]=$!
more_pids+=("$!")
endpoints=""
for i in 1 2; do
  endpoints+=${endpoints:+,}$(listening "$work/node$i.out")
done
check "a crawl with a node of next to no weight exits 0" \
  [ "$(exit_code coordinator "$work/c10.jsonl" --per-host-delay=${delay_ms}ms --per-host-jitter=0 \
        --per-host-concurrency=2 --max-pages-per-host=60 --cluster-rebalance=true)" -eq 0 ] ||
  tail -n 5 "$work/err" "$work"/node[12].out >&2
cp "$work/out" "$work/c10.report"
grep -E '^    127|moved' "$work/c10.report"
check "... hosts moved to the node out of work" \
  grep -q "hosts moved from the busiest node to one out of work" "$work/c10.report"
check "... each URL once" once_each "$work/c10.jsonl"
# (The page budget moves with its host: 60 pages per host, not 60 per owner.)
check "... no host had more than --max-pages-per-host pages fetched" \
  [ "$(jq -r 'select(.error == null) | .url' "$work/c10.jsonl" | cut -d/ -f3 | sort | uniq -c |
       awk '$1 > 60' | wc -l)" -eq 0 ]
log_settled
check "... the light node fetched pages, from its own address" \
  grep -q $'\t127.0.2.2:' "$work/access.log"
check "... each host moved at most once" one_switch_per_host "$work/access.log"
check "... no host asked sooner than 85% of its delay, across the move too" \
  gaps_ok "$work/access.log" "$floor_us"
check "... nor more than 2 requests at once" concurrency_ok "$work/access.log" 2
check "... and no URL was fetched twice" \
  [ "$(awk -F'\t' '$4 != "/robots.txt" { print $3 $4 }' "$work/access.log" | sort | uniq -d | wc -l)" -eq 0 ]
stop_nodes

# -- strangers are refused -------------------------------------------------------
start_nodes || exit 1
refused() { # refused NAME OPTIONS...: a coordinator with these options is turned away
  local name=$1
  shift
  check "$name: exit 2" [ "$(exit_code "$bin" crawl "$seed" --cluster="$endpoints" --progress=false \
    --out=jsonl:"$work/x.jsonl" "$@")" -eq 2 ]
  check "$name: one line saying the node is unreachable" \
    [ "$(grep -c "cannot reach node" "$work/err")" -eq 1 ]
}
refused "a plaintext client" --insecure-cluster
refused "a certificate of another CA" --cluster-cert="$work/other-ca/x.pem" \
  --cluster-key="$work/other-ca/x.key" --cluster-ca="$work/other-ca/ca.pem"
refused "a certificate of another CA that trusts the cluster's" \
  --cluster-cert="$work/other-ca/x.pem" --cluster-key="$work/other-ca/x.key" --cluster-ca="$ca/ca.pem"
check "no certificates and not --insecure-cluster: exit 2" \
  [ "$(exit_code "$bin" crawl "$seed" --cluster="$endpoints" --out=jsonl:"$work/x.jsonl")" -eq 2 ]
check "... saying what is needed" grep -q "needs --cluster-cert" "$work/err"
check "... and no node served a page to them" [ ! -s "$work/x.jsonl" ]
# The nodes still work for the cluster's own coordinator.
check "the nodes still crawl for the cluster" [ "$(exit_code coordinator "$work/c5.jsonl")" -eq 0 ] ||
  tail -n 5 "$work/out" "$work/err" "$work"/node[123].out >&2
stop_nodes

# -- a coordinator killed without --state: its node frees itself --------------------------
# (Its DOWN does not reach the node; the node sees its shards go unasked.
# With --cluster-timeout=3s it waits 10 s, the least.)
quick_tls() { echo "--cluster-cert=$ca/$1.pem" "--cluster-key=$ca/$1.key" "--cluster-ca=$ca/ca.pem" --cluster-timeout=3s; }
# shellcheck disable=SC2046
"${crawler[@]}" node --listen=127.0.0.1:0 --threads=1 $(quick_tls n4) >"$work/node5.out" 2>&1 &
more_pids+=("$!")
lone=$(listening "$work/node5.out")
# shellcheck disable=SC2046
"${crawler[@]}" crawl "$seed" --cluster="$lone" $(quick_tls coord) --per-host-delay=200ms --progress=false \
  --out=jsonl:"$work/c11.jsonl" >/dev/null 2>&1 &
doomed=$!
grown "$work/c11.jsonl" 5 "$doomed"
kill -9 "$doomed"
wait "$doomed" 2>/dev/null
killed_at=$(date +%s)
freed=""
for _ in $(seq 30); do
  # shellcheck disable=SC2046
  if [ "$(exit_code timeout 30 "$bin" crawl "$seed" --cluster="$lone" $(quick_tls coord) --max-pages-per-host=2 \
          --progress=false --out=jsonl:"$work/c12.jsonl")" -eq 0 ]; then
    freed=$(($(date +%s) - killed_at))
    break
  fi
  grep -q "busy with another crawl" "$work/err" || break
  sleep 1
done
check "a node whose coordinator was killed takes the next crawl within 30 s (${freed:-never} s)" \
  [ -n "$freed" ] || cat "$work/err" "$work/node5.out" >&2
check "... saying why it let the old one go" grep -q "no word from the coordinator" "$work/node5.out"

# -- a flood of connections that never finish their TLS handshake ---------------
# CAF's TLS transport makes a context for each connection; the cluster's
# files are read once, so a node with no descriptor left does not abort
# (it did: "cannot load certificate", exit 134), and no more than
# --cluster-handshakes are pending: the oldest goes.
flood() { # flood HOST:PORT N SECONDS: N connections that say nothing, held SECONDS
  /usr/bin/python3 - "$@" <<'PY'
import socket, sys, time
host, port = sys.argv[1].rsplit(":", 1)
held = []
for _ in range(int(sys.argv[2])):
    try:
        held.append(socket.create_connection((host, int(port)), timeout=2))
    except OSError:
        pass
time.sleep(float(sys.argv[3]))
print(len(held))
PY
}
# most_descriptors PID SECONDS: the most descriptors PID held, sampled every 20 ms.
most_descriptors() {
  local most=0 n
  for _ in $(seq $(($2 * 50))); do
    n=$(find "/proc/$1/fd" -mindepth 1 2>/dev/null | wc -l)
    [ "$n" -gt "$most" ] && most=$n
    sleep 0.02
  done
  echo "$most"
}
# (Not under ASan/UBSan: UBSan's check of a virtual call opens a pipe, and
# with no descriptor left it reports a false error and aborts.)
if [ "${ARACHNE_SANITIZE:-}" != address ]; then
  # shellcheck disable=SC2046
  prlimit --nofile=128:128 "${crawler[@]}" node --listen=127.0.0.1:0 --threads=1 $(tls n1) \
    >"$work/node6.out" 2>&1 &
  flooded=$!
  more_pids+=("$!")
  endpoints=$(listening "$work/node6.out")
  echo "a node with 128 descriptors: $(flood "$endpoints" 600 2) connections held for 2 s"
  check "a node with 128 descriptors lives through a flood of 600 connections" kill -0 "$flooded" ||
    cat "$work/node6.out" >&2
  check "... then crawls for the cluster" \
    [ "$(exit_code coordinator "$work/c13.jsonl" --max-pages-per-host=5)" -eq 0 ] ||
    tail -n 5 "$work/err" "$work/node6.out" >&2
  check "... its pages" [ "$(jq -r 'select(.status == 200) | .url' "$work/c13.jsonl" | wc -l)" -ge 12 ]
  kill "$flooded" 2>/dev/null
fi
# shellcheck disable=SC2046
"${crawler[@]}" node --listen=127.0.0.1:0 --threads=1 --cluster-handshakes=16 --cluster-cert="$ca/n1.pem" \
  --cluster-key="$ca/n1.key" --cluster-ca="$ca/ca.pem" --cluster-timeout=2s >"$work/node7.out" 2>&1 &
flooded=$!
more_pids+=("$!")
endpoints=$(listening "$work/node7.out")
before=$(find "/proc/$flooded/fd" -mindepth 1 | wc -l)
most_descriptors "$flooded" 3 >"$work/most" &
flood "$endpoints" 600 2 >/dev/null
wait $!
echo "a flooded node with --cluster-handshakes=16: $before descriptors before, $(cat "$work/most") at most"
check "with --cluster-handshakes=16 a flooded node holds not many more descriptors than 16" \
  [ "$(cat "$work/most")" -le $((before + 2 * 16)) ]
check "... saying it drops handshakes" grep -q "TLS handshakes dropped" "$work/node7.out"
# Fewer than the cap, held silent: dropped after --cluster-timeout (2 s).
flood "$endpoints" 8 5 >/dev/null &
held=$!
sleep 4
check "... and silent handshakes after --cluster-timeout" \
  [ "$(find "/proc/$flooded/fd" -mindepth 1 | wc -l)" -le $((before + 2)) ]
wait "$held"
check "... and crawls for the cluster" \
  [ "$(exit_code coordinator "$work/c14.jsonl" --max-pages-per-host=5)" -eq 0 ] ||
  tail -n 5 "$work/err" "$work/node7.out" >&2
kill "$flooded" 2>/dev/null

checks_summary
