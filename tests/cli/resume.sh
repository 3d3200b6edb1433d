#!/usr/bin/env bash
# Crash-proof crawls (--state): a crawl of `arachne site` killed with SIGKILL
# at random points and resumed each time records exactly the reachable set,
# every URL once except those taken up at a kill (marked "resumed"); sinks
# stay consistent (JSONL lines, SQLite, WARC records); foreign, corrupted
# and mismatched state directories are one-line errors; a full disk stops the
# crawl cleanly and its state resumes.
# Usage: resume.sh PATH/TO/arachne PATH/TO/tests/warc
set -u
bin=$1
warc_dir=$2
. "$(dirname "$0")/checks.sh"
use_seed
one_line_error() { [ "$(wc -l <"$work/err")" -eq 1 ]; }

. "$(dirname "$0")/../../scripts/lib/site.sh"
# About 2,200 URLs at 20 ms each, 12 at a time: a few seconds to kill into.
# (The site serves for at most 10 minutes: under TSan the crawl alone takes
# about 10 seconds.)
start_site "$bin" "$work" --hosts=6 --pages=150 --trap=false --crawl-delay=0 --latency=20ms \
  --truth-out="$work/truth.tsv" --serve-for=600s || exit 1
port=$site_port
for _ in $(seq 100); do [ -s "$work/truth.tsv" ] && break; sleep 0.05; done
cut -f1 "$work/truth.tsv" | sort >"$work/truth.txt"
reachable=$(wc -l <"$work/truth.txt")
concurrency=32
crawl_args() { # crawl_args STATE PREFIX [options...]: sets args
  local state=$1 prefix=$2
  shift 2
  args=("$bin" crawl "http://127.0.1.1:$port/" --threads=2 --state="$state" --per-host-delay=0
    --user-agent=arachne --concurrency=$concurrency --progress=false
    --out=jsonl:"$prefix.jsonl" --out=sqlite:"$prefix.db" --out=warc:"$prefix.warc.gz"
    --warc-max-size=256k "$@")
}
crawl() { crawl_args "$@" && "${args[@]}"; }

# Every URL once, except URLs recorded again after a kill, which say so.
only_marked_duplicates() { # FILE.jsonl
  jq -r '[.url, (if .resumed then 1 else 0 end)] | @tsv' "$1" |
    awk -F'\t' '{ if ($2 == 0) plain[$1]++ } END { for (u in plain) if (plain[u] > 1) bad++; exit bad > 0 }'
}

# -- killed at random points, resumed each time --------------------------------
kills=4
max_taken=0
for k in $(seq $kills); do
  crawl_args "$work/state" "$work/out"
  before=$(wc -l <"$work/out.jsonl" 2>/dev/null || echo 0)
  "${args[@]}" >"$work/run$k.log" 2>&1 &
  pid=$!
  # Killed once it records again (it crawls), at a random moment within 0.5 s.
  grown "$work/out.jsonl" "$before" "$pid"
  sleep "0.$((RANDOM % 6))"
  if [ "$k" -eq 1 ]; then
    check "a second crawl on the same state exits 2" \
      [ "$(exit_code crawl "$work/state" "$work/second")" -eq 2 ]
    check "... saying it is in use" grep -q "in use by another crawl" "$work/err"
  fi
  kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  check "kill $k: arachne state reads the killed crawl's state" \
    [ "$(exit_code "$bin" state "$work/state")" -eq 0 ]
  taken=$(sed -n 's/.*taken up (fetched again on resume) \([0-9]*\),.*/\1/p' "$work/out")
  [ "${taken:-0}" -gt "$max_taken" ] && max_taken=${taken:-0}
done
check "the last run finishes the crawl" [ "$(exit_code crawl "$work/state" "$work/out")" -eq 0 ]
check "the last run says it resumed" grep -q "resuming the crawl in" "$work/err"
jq -r .url "$work/out.jsonl" | sort -u >"$work/got.txt"
check "every line of the JSONL file is whole JSON" jq -e . "$work/out.jsonl" >/dev/null
check "the JSONL file records exactly the reachable set" cmp -s "$work/truth.txt" "$work/got.txt"
check "only URLs taken up at a kill are recorded twice, marked resumed" only_marked_duplicates "$work/out.jsonl"
resumed=$(jq -r 'select(.resumed) | .url' "$work/out.jsonl" | wc -l)
echo "resume: $kills kills, $resumed records marked resumed, at most $max_taken taken up at a kill"
# In flight at a kill: fetching (at most --concurrency) or recorded and not yet
# acknowledged by every sink (at most 4 batches of 64 per sink and shard).
check "URLs taken up at a kill are bounded by what can be in flight" \
  [ "$max_taken" -le $((concurrency + 2 * 4 * 64)) ]
check "the state is complete" grep -q "queued 0, taken up (fetched again on resume) 0, done $reachable (the crawl is complete" \
  <("$bin" state "$work/state")
sql() { sqlite3 "$work/out.db" "$1"; }
check "the SQLite sink holds the reachable set" \
  [ "$(sql 'SELECT count(DISTINCT url) FROM (SELECT url FROM pages UNION ALL SELECT url FROM failures)')" -eq "$reachable" ]
check "the SQLite sink repeats only resumed URLs" \
  [ "$(sql 'SELECT count(*) FROM (SELECT url FROM (SELECT url, resumed FROM pages UNION ALL SELECT url, resumed FROM failures) WHERE resumed = 0 GROUP BY url HAVING count(*) > 1)')" -eq 0 ]
check "the SQLite sink is intact" [ "$(sql 'PRAGMA integrity_check')" = ok ]
if [ -d "$warc_dir/node_modules/warcio" ] && command -v node >/dev/null; then
  check "every WARC file reads whole (warcio)" node "$warc_dir/check.mjs" "$work"/out*.warc.gz >"$work/warc.json"
else
  echo "SKIPPED: WARC check (warcio not installed: run scripts/install-deps)"
fi
lines=$(wc -l <"$work/out.jsonl")
check "a finished crawl run again records nothing" [ "$(exit_code crawl "$work/state" "$work/out")" -eq 0 ]
check "... and leaves its output as it was" [ "$(wc -l <"$work/out.jsonl")" -eq "$lines" ]

# -- killed during a re-crawl -----------------------------------------------------
# --recrawl on the finished state, killed once it records again, then the
# same command: the pass is resumed (not begun anew) and ends with every URL
# the first crawl fetched visited again; the demo site answers 304.
crawl_args "$work/state" "$work/re" --recrawl
"${args[@]}" >"$work/re1.log" 2>&1 &
pid=$!
grown "$work/re.jsonl" 0 "$pid"
sleep "0.$((RANDOM % 4))"
kill -KILL "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
check "killed during a re-crawl: it had begun pass 2" grep -q "(pass 2)" "$work/re1.log"
check "... the same command finishes it" [ "$(exit_code crawl "$work/state" "$work/re" --recrawl)" -eq 0 ]
check "... resuming the pass, not beginning another" grep -q "resuming the crawl in" "$work/err"
check "... arachne state says pass 2, complete" \
  grep -q "pass 2 .*" <("$bin" state "$work/state")
check "... with nothing left" grep -q "queued 0, taken up (fetched again on resume) 0, done $reachable" \
  <("$bin" state "$work/state")
jq -r 'select(.status > 0) | .url' "$work/out.jsonl" | sort -u >"$work/fetched.txt"
jq -r .url "$work/re.jsonl" | sort -u >"$work/re-got.txt"
check "... every URL fetched before is visited again" \
  [ -z "$(comm -23 "$work/fetched.txt" "$work/re-got.txt")" ]
check "... every URL once unless marked resumed" only_marked_duplicates "$work/re.jsonl"
check "... the unchanged pages cost a 304" \
  [ "$(jq -r 'select(.not_modified) | .url' "$work/re.jsonl" | wc -l)" -gt 0 ]
check "... and none changed" [ -z "$(jq -r 'select(.change == "changed") | .url' "$work/re.jsonl")" ]
if [ -d "$warc_dir/node_modules/warcio" ] && command -v node >/dev/null; then
  check "... its WARC files, revisit records and all, read whole (warcio)" \
    node "$warc_dir/check.mjs" "$work"/re*.warc.gz >"$work/re-warc.json"
  check "... with revisit records" grep -q '"revisit":' "$work/re-warc.json"
fi

# -- continuous mode, killed and resumed -------------------------------------------
# --recrawl-every: killed once URLs came round again, run again with the same
# command (it goes on where it was: URLs keep their due times), then stopped
# with SIGTERM once it records more: every line whole, every URL recorded,
# the repeat visits conditional.
crawl_args "$work/cont" "$work/cont" --recrawl-every=300ms --recrawl-min=200ms --recrawl-max=1s
"${args[@]}" >"$work/cont1.log" 2>&1 &
pid=$!
grown "$work/cont.jsonl" "$((reachable + 200))" "$pid"
kill -KILL "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
before=$(wc -l <"$work/cont.jsonl")
check "continuous mode: URLs came due again before the kill" [ "$before" -gt "$reachable" ]
"${args[@]}" >"$work/cont2.log" 2>&1 &
pid=$!
# (Until every URL has its record and 500 more came: at most a minute.)
for _ in $(seq 300); do
  if [ "$(wc -l <"$work/cont.jsonl")" -gt "$((before + 500))" ] &&
    jq -r .url "$work/cont.jsonl" 2>/dev/null | sort -u | cmp -s "$work/truth.txt" -; then
    break
  fi
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.2
done
kill -TERM "$pid" 2>/dev/null
wait "$pid"
check "... run again and stopped, it exits 130" [ "$?" -eq 130 ]
check "... saying it resumed" grep -q "resuming the crawl in" "$work/cont2.log"
check "... and what came due" grep -q "continuous: [0-9]* URLs came due again" "$work/cont2.log"
check "... every line of its JSONL is whole JSON" jq -e . "$work/cont.jsonl" >/dev/null
jq -r .url "$work/cont.jsonl" | sort -u >"$work/cont-got.txt"
check "... every URL of the site recorded" cmp -s "$work/truth.txt" "$work/cont-got.txt"
check "... pages asked again answered 304" \
  [ "$(jq -r 'select(.not_modified) | .url' "$work/cont.jsonl" | wc -l)" -gt 500 ]
check "... its state readable" [ "$(exit_code "$bin" state "$work/cont")" -eq 0 ]

# -- killed while reading sitemaps ----------------------------------------------
# Killed as soon as the first sitemap's record is out (the sitemap index of
# a host: its parts not yet read, their URLs not yet crawled), resumed: the
# sitemaps are read again, and no URL they list is lost or recorded twice
# (unless taken up at the kill, and marked).
crawl_args "$work/mid-sitemap" "$work/sm"
"${args[@]}" >"$work/sm.log" 2>&1 &
pid=$!
for _ in $(seq 1200); do
  grep -q '"sitemap":' "$work/sm.jsonl" 2>/dev/null && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.05
done
kill -KILL "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
check "killed while reading sitemaps: a sitemap was read before the kill" \
  grep -q '"sitemap":' "$work/sm.jsonl"
listed_before=$(grep -c '/archive/' "$work/sm.jsonl")
check "... the resumed crawl finishes" [ "$(exit_code crawl "$work/mid-sitemap" "$work/sm")" -eq 0 ]
jq -r .url "$work/sm.jsonl" | sort -u >"$work/sm-got.txt"
check "... records exactly the reachable set, sitemap pages included" cmp -s "$work/truth.txt" "$work/sm-got.txt"
check "... every URL once unless marked resumed" only_marked_duplicates "$work/sm.jsonl"
echo "killed while reading sitemaps: $listed_before sitemap-only pages recorded before the kill," \
  "$(grep -c '/archive/' "$work/sm-got.txt") in all"
check "... the sitemap-only pages are there" [ "$(grep -c '/archive/' "$work/sm-got.txt")" -gt 0 ]

# -- killed, then its journal damaged ----------------------------------------------
# SQLite replays its write-ahead log after a crash up to the first damaged
# frame and drops the rest without a word, committed changes too: URLs done
# before the kill came back as never fetched, and their second records did
# not say "resumed". A byte flipped in the first frame's page after a kill:
# the crawl says what was lost and marks this run's records resumed.
crawl_args "$work/wal" "$work/wal"
"${args[@]}" >"$work/wal.log" 2>&1 &
pid=$!
grown "$work/wal.jsonl" 0 "$pid"
sleep 0.5
kill -KILL "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
wal_file="$work/wal/shard-0.db-wal"
check "killed with committed changes in its journal" \
  [ "$(stat -c %s "$wal_file" 2>/dev/null || echo 0)" -gt 10000 ]
/usr/bin/python3 - "$wal_file" <<'PY'
import sys
with open(sys.argv[1], "r+b") as f:
    f.seek(32 + 24 + 200)  # WAL header, first frame's header, into its page
    b = f.read(1)
    f.seek(32 + 24 + 200)
    f.write(bytes([b[0] ^ 0xFF]))
PY
check "... its journal damaged, the crawl resumes and finishes" \
  [ "$(exit_code crawl "$work/wal" "$work/wal")" -eq 0 ]
check "... saying what was lost" grep -q "shard-0.db-wal' (its journal) was damaged: frame 1 of" "$work/err"
jq -r .url "$work/wal.jsonl" | sort -u >"$work/wal-got.txt"
check "... records exactly the reachable set" cmp -s "$work/truth.txt" "$work/wal-got.txt"
check "... every URL once unless marked resumed" only_marked_duplicates "$work/wal.jsonl"

# -- killed while it makes its state ---------------------------------------------
# The state files are made one per shard before the crawl starts: killed
# right after the first is in place (polled for), the crawl takes up its
# seeds again. (Killed a little later, it resumes as above: either way it
# must end with the reachable set.)
crawl_args "$work/early" "$work/early"
"${args[@]}" >/dev/null 2>&1 &
pid=$!
for _ in $(seq 5000); do [ -e "$work/early/shard-0.db" ] && break; sleep 0.001; done
kill -KILL "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
echo "killed while making its state: $("$bin" state "$work/early" 2>&1 | head -n 2 | tr '\n' ' ')"
check "a crawl killed while making its state runs again: exit 0" \
  [ "$(exit_code crawl "$work/early" "$work/early")" -eq 0 ]
jq -r .url "$work/early.jsonl" | sort -u >"$work/early-got.txt"
check "... and records exactly the reachable set" cmp -s "$work/truth.txt" "$work/early-got.txt"

# -- directories that are not this crawl's state --------------------------------
echo keep >"$work/kept.jsonl"
mkdir "$work/foreign" && echo hello >"$work/foreign/notes.txt"
check "a foreign directory exits 2" \
  [ "$(exit_code crawl "$work/foreign" "$work/kept")" -eq 2 ]
check "... with one line naming it" sh -c "one_line() { [ \$(wc -l <'$work/err') -eq 1 ]; }; one_line && grep -q 'not an Arachne state directory' '$work/err'"
check "... before any output is touched" [ "$(cat "$work/kept.jsonl")" = keep ]
cp -r "$work/state" "$work/corrupt"
head -c 8192 /dev/urandom >"$work/corrupt/shard-0.db"
rm -f "$work/corrupt/shard-0.db-wal" "$work/corrupt/shard-0.db-shm"
check "a corrupted state file exits 2" [ "$(exit_code crawl "$work/corrupt" "$work/kept")" -eq 2 ]
check "... with one line" one_line_error
check "... saying it is not a state file" grep -q "is not an Arachne state file" "$work/err"
check "arachne state on it exits 1" [ "$(exit_code "$bin" state "$work/corrupt")" -eq 1 ]
check "... with one line" one_line_error
# Damage inside a state file (its header intact): found at start, before
# any output is touched, with advice that fits (not "free space").
cp -r "$work/state" "$work/damaged"
size=$(stat -c %s "$work/damaged/shard-0.db")
dd if=/dev/urandom of="$work/damaged/shard-0.db" bs=1024 seek=$((size / 2048)) count=8 conv=notrunc 2>/dev/null
rm -f "$work/damaged/shard-0.db-wal" "$work/damaged/shard-0.db-shm"
check "a state file damaged inside exits 2" [ "$(exit_code crawl "$work/damaged" "$work/kept")" -eq 2 ]
check "... with one line saying it is damaged and what to do" \
  sh -c "[ \$(wc -l <'$work/err') -eq 1 ] && grep -q 'is damaged (.*): restore the state directory' '$work/err'"
check "... before any output is touched" [ "$(cat "$work/kept.jsonl")" = keep ]
mkdir "$work/other-db" && sqlite3 "$work/other-db/shard-0.db" "CREATE TABLE t (x)"
check "another program's SQLite file exits 2" [ "$(exit_code crawl "$work/other-db" "$work/kept")" -eq 2 ]
check "a different shard count exits 2" [ "$(exit_code crawl "$work/state" "$work/kept" --shards=3)" -eq 2 ]
check "... and says which to use" grep -q -- "--shards=2" "$work/err"
check "... before any output is touched" [ "$(cat "$work/kept.jsonl")" = keep ]

# -- a full disk ------------------------------------------------------------------
# The state directory on a small tmpfs in a mount namespace of this test.
if unshare -m true 2>/dev/null; then
  mkdir "$work/small" "$work/rescued"
  unshare -m bash -c "mount -t tmpfs -o size=600k tmpfs '$work/small' || exit 99
    $(declare -f crawl_args crawl); bin='$bin'; port=$port; concurrency=$concurrency
    crawl '$work/small/state' '$work/full' >'$work/full.log' 2>&1; echo \$? >'$work/full.rc'
    '$bin' state '$work/small/state' >'$work/full.state' 2>&1; echo \$? >'$work/full.state.rc'
    cp -r '$work/small/state/.' '$work/rescued/'"
  check "a full disk stops the crawl with exit 1" [ "$(cat "$work/full.rc")" -eq 1 ]
  check "... saying the state store failed" grep -q "state store FAILED: .*full" "$work/full.log"
  check "... with the state readable" [ "$(cat "$work/full.state.rc")" -eq 0 ]
  check "... and resumable where there is room" [ "$(exit_code crawl "$work/rescued" "$work/full")" -eq 0 ]
  jq -r .url "$work/full.jsonl" | sort -u >"$work/full-got.txt"
  check "... ending with exactly the reachable set" cmp -s "$work/truth.txt" "$work/full-got.txt"
  check "... every URL once unless marked resumed" only_marked_duplicates "$work/full.jsonl"
  # A full disk under an output (not the state): the sink fails, the crawl
  # stops, and the URLs whose records it did not store are not done.
  mkdir "$work/tiny"
  unshare -m bash -c "mount -t tmpfs -o size=96k tmpfs '$work/tiny' || exit 99
    '$bin' crawl 'http://127.0.1.1:$port/' --threads=2 --state='$work/sink-state' --per-host-delay=0 \
      --user-agent=arachne --concurrency=$concurrency --progress=false \
      --out=jsonl:'$work/tiny/out.jsonl' >'$work/sink-full.log' 2>&1; echo \$? >'$work/sink-full.rc'
    cp '$work/tiny/out.jsonl' '$work/sink-full-1.jsonl'"
  check "a full disk under the JSONL output stops the crawl with exit 1" \
    [ "$(cat "$work/sink-full.rc")" -eq 1 ] || cat "$work/sink-full.log" >&2
  check "... saying records were not stored" grep -q "not stored" "$work/sink-full.log"
  check "... and resumes, writing elsewhere" \
    [ "$(exit_code "$bin" crawl "http://127.0.1.1:$port/" --threads=2 --state="$work/sink-state" \
          --per-host-delay=0 --user-agent=arachne --concurrency=$concurrency --progress=false \
          --out=jsonl:"$work/sink-full-2.jsonl")" -eq 0 ]
  # (The first file may end in a torn line: read each on its own.)
  for f in "$work/sink-full-1.jsonl" "$work/sink-full-2.jsonl"; do jq -R -r 'fromjson? | .url' "$f"; done |
    sort -u >"$work/sink-full-got.txt"
  echo "sink full: $(jq -R 'fromjson? | .url' "$work/sink-full-1.jsonl" | wc -l) stored before, $(wc -l <"$work/sink-full-2.jsonl") after"
  check "... the two outputs hold every reachable URL: none lost with the sink" \
    cmp -s "$work/truth.txt" "$work/sink-full-got.txt"
else
  echo "SKIPPED: disk-full tests (need 'unshare -m' to mount a small tmpfs: run as root)"
fi

checks_summary
