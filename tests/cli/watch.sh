#!/usr/bin/env bash
# Watching and steering a crawl (--metrics, --control-token): /metrics
# scraped mid-crawl parses with a real Prometheus parser (Debian's
# python3-prometheus-client) and its counters grow between two scrapes; the
# control API refuses a missing or wrong token, pauses (nothing more is
# recorded), resumes, takes seeds (a bad URL is a 400), reports /status as
# JSON and stops the crawl gracefully; a sink-node and a node serve their
# own metrics, the node's labelled with its name.
# Usage: watch.sh PATH/TO/arachne
set -u
bin=$1
. "$(dirname "$0")/checks.sh"
. "$(dirname "$0")/../../scripts/lib/site.sh"
python=/usr/bin/python3 # Debian's, with python3-prometheus-client

# parse_metrics FILE: the samples as "name{labels} value" lines, sorted, if
# the Prometheus parser accepts the whole text; fails otherwise.
parse_metrics() {
  "$python" - "$1" <<'EOF'
import sys
from prometheus_client.parser import text_string_to_metric_families
text = open(sys.argv[1]).read()
out = []
for family in text_string_to_metric_families(text):
    assert family.type in ("counter", "gauge", "histogram"), family.type
    for s in family.samples:
        labels = ",".join(f'{k}="{v}"' for k, v in sorted(s.labels.items()))
        out.append(f"{s.name}{{{labels}}} {s.value:g}")
    if family.type == "histogram":
        # Buckets are cumulative and end with +Inf, which equals _count.
        groups = {}
        for s in family.samples:
            key = tuple(sorted((k, v) for k, v in s.labels.items() if k != "le"))
            groups.setdefault(key, {})[(s.name, s.labels.get("le"))] = s.value
        for key, g in groups.items():
            buckets = sorted(((float(le), v) for (n, le), v in g.items() if n.endswith("_bucket")))
            values = [v for _, v in buckets]
            assert values == sorted(values), (family.name, values)
            assert buckets[-1][0] == float("inf"), family.name
            assert buckets[-1][1] == g[(family.name + "_count", None)], family.name
print("\n".join(sorted(out)))
EOF
}
# sample PARSED NAME{LABELS}: the value of one sample (0 if absent).
sample() { awk -v k="$2" '$1 == k { print $2; found = 1 } END { if (!found) print 0 }' "$1"; }
# first_match FILE SED: the first thing SED prints of FILE, waited for up to 10 s.
first_match() {
  local m=""
  for _ in $(seq 200); do
    m=$(sed -n "$2" "$1" | head -1)
    [ -n "$m" ] && break
    sleep 0.05
  done
  echo "$m"
}
# metrics_port ERR: the port a process writing to ERR serves metrics on.
metrics_port() { first_match "$1" 's|.*metrics at http://127\.0\.0\.1:\([0-9]*\)/metrics.*|\1|p'; }
# listening_on OUT: the HOST:PORT a node or sink-node writing to OUT listens on.
listening_on() { first_match "$1" 's/^listening on \([^ ]*\).*/\1/p'; }
# http METHOD URL [curl args...]: prints the status code; the body goes to $work/body.
http() {
  local method=$1 url=$2
  shift 2
  curl -s -o "$work/body" -w '%{http_code}' -X "$method" --max-time 10 "$@" "$url"
}

start_site "$bin" "$work" --hosts=6 --pages=60 --trap=false --crawl-delay=0 --latency=5ms \
  --serve-for=300s || exit 1
port=$site_port
# A second site: a seed added through the control API for its own origin
# (no queue before it) is fetched soon after the crawl resumes.
mkdir -p "$work/second"
first_site_pid=$site_pid
start_site "$bin" "$work/second" --hosts=1 --pages=5 --trap=false --crawl-delay=0 \
  --serve-for=300s || exit 1
more_pids+=("$site_pid")
second_port=$site_port
site_pid=$first_site_pid
token=0123456789abcdef-watch-token
echo "$token" >"$work/token"
echo "not-the-token-but-long-enough" >"$work/wrong"

# -- a crawl: metrics and the control API -------------------------------------------------
# (Slow enough to watch: 100 ms between requests per host.)
"$bin" crawl "http://127.0.1.1:$port/" --per-host-delay=100ms --per-host-jitter=0 --progress=false \
  --metrics=127.0.0.1:0 --control-token="$work/token" --out=jsonl:"$work/crawl.jsonl" \
  >"$work/crawl.report" 2>"$work/crawl.err" &
crawl_pid=$!
more_pids+=("$crawl_pid")
mport=$(metrics_port "$work/crawl.err")
check "a crawl with --metrics says where it serves them" [ -n "$mport" ] || cat "$work/crawl.err" >&2
base="http://127.0.0.1:$mport"
grown "$work/crawl.jsonl" 20 "$crawl_pid"
check "... /metrics answers 200" [ "$(http GET "$base/metrics")" = 200 ]
cp "$work/body" "$work/m1.txt"
check "... in the Prometheus text format" grep -q '^content-type: text/plain; version=0.0.4' \
  <(curl -s -D - -o /dev/null "$base/metrics" | tr 'A-Z' 'a-z')
check "... that the Prometheus parser reads (histograms whole)" \
  parse_metrics "$work/m1.txt" >"$work/p1.txt"
sleep 1.5
http GET "$base/metrics" >/dev/null
cp "$work/body" "$work/m2.txt"
parse_metrics "$work/m2.txt" >"$work/p2.txt"
pages1=$(sample "$work/p1.txt" 'arachne_records_total{kind="page"}')
pages2=$(sample "$work/p2.txt" 'arachne_records_total{kind="page"}')
echo "pages: $pages1 then $pages2"
check "... counters grow between two scrapes" [ "${pages2%.*}" -gt "${pages1%.*}" ]
check "... 2xx responses counted" [ "$(sample "$work/p2.txt" 'arachne_responses_total{class="2xx"}' | cut -d. -f1)" -gt 0 ]
check "... fetch durations observed" [ "$(sample "$work/p2.txt" 'arachne_fetch_duration_seconds_count{}' | cut -d. -f1)" -gt 0 ]
check "... time to first byte observed" [ "$(sample "$work/p2.txt" 'arachne_time_to_first_byte_seconds_count{}' | cut -d. -f1)" -gt 0 ]
check "... URLs queued, a gauge" grep -q '^arachne_urls_queued{} ' "$work/p2.txt"
check "... hosts waiting for politeness" grep -q '^arachne_hosts{state="politeness"} ' "$work/p2.txt"
check "... and the role" grep -q '^arachne_info{role="crawl",version="[0-9.]*"} 1' "$work/p2.txt"

# The control API: the token first.
check "/status without a token: 401" [ "$(http GET "$base/status")" = 401 ]
check "... with a wrong one: 401" [ "$(http GET "$base/status" -H "Authorization: Bearer $(cat "$work/wrong")")" = 401 ]
auth=(-H "Authorization: Bearer $token")
check "/status with the token: 200" [ "$(http GET "$base/status" "${auth[@]}")" = 200 ]
check "... JSON saying it runs, with queues" \
  [ "$(jq -r '.state + " " + (.longest_queues | length > 0 | tostring)' "$work/body")" = "running true" ]
check "an unknown path: 404" [ "$(http GET "$base/nothing" "${auth[@]}")" = 404 ]
check "GET /pause: 405" [ "$(http GET "$base/pause" "${auth[@]}")" = 405 ]
check "POST /pause: 200" [ "$(http POST "$base/pause" "${auth[@]}")" = 200 ]
sleep 1 # (requests already under way end)
before=$(wc -l <"$work/crawl.jsonl")
sleep 1.5
after=$(wc -l <"$work/crawl.jsonl")
echo "paused: $before then $after records"
check "... and nothing more is recorded while paused" [ "$after" -eq "$before" ]
http GET "$base/metrics" >/dev/null
check "... which /metrics says" grep -q '^arachne_paused 1$' "$work/body"
http GET "$base/status" "${auth[@]}" >/dev/null
check "... and /status" [ "$(jq -r .state "$work/body")" = paused ]
check "POST /seeds with a bad URL: 400, nothing added" \
  [ "$(http POST "$base/seeds" "${auth[@]}" --data-binary $'http://127.0.1.1:'"$port"$'/control-seed-1\nhttp://[bad')" = 400 ]
check "... saying which" grep -q "http://\[bad" "$work/body"
added="http://127.0.1.1:$second_port/control-seed-2"
check "POST /seeds: 202" [ "$(http POST "$base/seeds" "${auth[@]}" --data-binary "$added")" = 202 ]
check "POST /resume: 200" [ "$(http POST "$base/resume" "${auth[@]}")" = 200 ]
grown "$work/crawl.jsonl" "$after" "$crawl_pid"
check "... and records come again" [ "$(wc -l <"$work/crawl.jsonl")" -gt "$after" ]
for _ in $(seq 100); do grep -q "\"url\":\"$added\"" "$work/crawl.jsonl" && break; sleep 0.1; done
check "... the added seed is recorded" grep -q "\"url\":\"$added\"" "$work/crawl.jsonl"
check "... the bad request's good URL is not" [ "$(grep -c "control-seed-1" "$work/crawl.jsonl")" -eq 0 ]
check "POST /stop: 202" [ "$(http POST "$base/stop" "${auth[@]}")" = 202 ]
for _ in $(seq 200); do kill -0 "$crawl_pid" 2>/dev/null || break; sleep 0.1; done
check "... and the crawl ends gracefully, with its report" grep -q "^crawl interrupted" "$work/crawl.report"
wait "$crawl_pid" 2>/dev/null

# Options: bad values are one-line errors, exit 2.
check "--metrics=nonsense: exit 2" [ "$(exit_code "$bin" crawl http://127.0.1.1:1/ --metrics=nonsense)" -eq 2 ]
check "--control-token without --metrics: exit 2" \
  [ "$(exit_code "$bin" crawl http://127.0.1.1:1/ --control-token="$work/token")" -eq 2 ]
: >"$work/empty"
check "--control-token with an empty file: exit 2" \
  [ "$(exit_code "$bin" crawl http://127.0.1.1:1/ --metrics=127.0.0.1:0 --control-token="$work/empty")" -eq 2 ]
check "... saying so" grep -q "holds no token" "$work/err"

# A crawl without --control-token: /metrics only.
"$bin" crawl "http://127.0.1.1:$port/" --max-pages-per-host=5 --per-host-delay=100ms --progress=false \
  --metrics=127.0.0.1:0 --out=null >/dev/null 2>"$work/plain.err" &
plain_pid=$!
more_pids+=("$plain_pid")
pport=$(metrics_port "$work/plain.err")
check "without --control-token the API is off: 404" \
  [ "$(http POST "http://127.0.0.1:$pport/pause" "${auth[@]}")" = 404 ]
wait "$plain_pid"
check "... and the crawl ends as usual" [ $? -eq 0 ]

# -- a sink-node and a node serve their own metrics ------------------------------------
"$bin" sink-node --listen=127.0.0.1:0 --out=jsonl:"$work/remote.jsonl" --metrics=127.0.0.1:0 \
  >"$work/sinknode.out" 2>&1 &
more_pids+=("$!")
sport=$(metrics_port "$work/sinknode.out")
sink_ep=$(listening_on "$work/sinknode.out")
"$bin" crawl "http://127.0.1.3:$port/" --max-pages-per-host=10 --max-depth=1 --per-host-delay=0 \
  --progress=false --out=null --sink-remote="$sink_ep" >/dev/null 2>&1
http GET "http://127.0.0.1:$sport/metrics" >/dev/null
cp "$work/body" "$work/sink.txt"
check "a sink-node's /metrics count the records it got" \
  [ "$(parse_metrics "$work/sink.txt" | sample /dev/stdin 'arachne_records_total{kind="page"}' | cut -d. -f1)" \
    -eq "$(grep -c '"kind":"page"' "$work/remote.jsonl")" ]
check "... as a sink-node" grep -q 'role="sink-node"' "$work/sink.txt"

"$bin" node --listen=127.0.0.1:0 --insecure-cluster --metrics=127.0.0.1:0 >"$work/node.out" 2>&1 &
more_pids+=("$!")
nport=$(metrics_port "$work/node.out")
node_ep=$(listening_on "$work/node.out")
"$bin" crawl "http://127.0.1.4:$port/" --cluster="$node_ep" --insecure-cluster --per-host-delay=100ms \
  --progress=false --out=jsonl:"$work/cluster.jsonl" >/dev/null 2>&1 &
cluster_pid=$!
more_pids+=("$cluster_pid")
grown "$work/cluster.jsonl" 10 "$cluster_pid"
sleep 1.2 # (the node polls its shards once a second)
http GET "http://127.0.0.1:$nport/metrics" >/dev/null
cp "$work/body" "$work/node.txt"
check "a node's /metrics parse" parse_metrics "$work/node.txt" >"$work/pn.txt"
check "... labelled with the node" \
  [ "$(sample "$work/pn.txt" "arachne_records_total{kind=\"page\",node=\"$node_ep\"}" | cut -d. -f1)" -gt 0 ]
kill "$cluster_pid" 2>/dev/null
wait "$cluster_pid" 2>/dev/null

checks_summary
