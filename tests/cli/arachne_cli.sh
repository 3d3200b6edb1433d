#!/usr/bin/env bash
# Tests the arachne command line as users see it: help, exit codes, one-line
# errors, and 'arachne site' serving, logging and stopping on SIGTERM.
# Usage: arachne_cli.sh PATH/TO/arachne PATH/TO/docs/configuration.md PATH/TO/example_hello
#                      PATH/TO/example_custom_sink PATH/TO/example_router
set -u
bin=$1
docs=$2
hello=$3
custom_sink=$4
router=$5
. "$(dirname "$0")/checks.sh"
one_line_error() { [ "$(wc -l <"$work/err")" -eq 1 ] && [ ! -s "$work/out" ]; }

check "help exits 0" [ "$(exit_code "$bin" --help)" -eq 0 ]
check "help lists the site command" grep -q '^  site ' "$work/out"
check "help lists options with defaults" grep -q -- '--threads=N .*(default: 0)' "$work/out"
check "help keeps every command apart from its summary" grep -q '^  cluster-ca  make a cluster CA' "$work/out"
check "--progress shows one default" \
  [ "$("$bin" crawl --help | grep -- '--progress' | grep -o '(default:' | wc -l)" -eq 1 ]
check "fetch --help lists --concurrency once" [ "$("$bin" fetch --help | grep -c -- '^  --concurrency=')" -eq 1 ]
check "--version exits 0" [ "$(exit_code "$bin" --version)" -eq 0 ]
check "... printing the version" grep -qE '^arachne [0-9]+\.[0-9]+\.[0-9]+$' "$work/out"
check "no command exits 2" [ "$(exit_code "$bin")" -eq 2 ]
check "unknown command exits 2" [ "$(exit_code "$bin" frobnicate)" -eq 2 ]
check "unknown command is one line" one_line_error
check "site help exits 0" [ "$(exit_code "$bin" site --help)" -eq 0 ]
for opt in hosts pages seed tls ca-file crawl-delay port threads latency access-log print-truth truth-max-depth; do
  check "site help lists --$opt" grep -q -- "--$opt" "$work/out"
done
check "unknown option exits 2" [ "$(exit_code "$bin" site --nope=1)" -eq 2 ]
check "unknown option is one line" one_line_error
check "bad duration exits 2" [ "$(exit_code "$bin" site --latency=5)" -eq 2 ]
check "bad duration is one line" one_line_error
check "bad number exits 2" [ "$(exit_code "$bin" site --hosts=many)" -eq 2 ]
check "out-of-range value exits 2" [ "$(exit_code "$bin" site --port=70000)" -eq 2 ]
check "print-truth without port exits 2" [ "$(exit_code "$bin" site --print-truth)" -eq 2 ]

# Every option of every command is documented in the options table.
for cmd in "" site fetch crawl sink-node state; do
  # shellcheck disable=SC2086
  "$bin" $cmd --help | grep -o -- '^  --[a-z0-9-]*' | sed 's/^  //' | sort -u >"$work/opts"
  while read -r opt; do
    case "$opt" in --config | --help | --help-markdown) continue ;; esac
    check "docs list $cmd $opt" grep -q -- "\`$opt[=\`]" "$docs"
  done <"$work/opts"
done
check "fetch of a bad URL exits 1" [ "$(exit_code "$bin" fetch 'ftp://x.test/')" -eq 1 ]
check "fetch failure is one line on stderr" [ "$(wc -l <"$work/err")" -eq 1 ]
check "fetch failure still prints its record" grep -q '"error":"unsupported_scheme"' "$work/out"
check "fetch without a URL exits 2" [ "$(exit_code "$bin" fetch)" -eq 2 ]
check "fetch with an unreadable CA exits 2" [ "$(exit_code "$bin" fetch --ca-file=/nonexistent http://x.test/)" -eq 2 ]
check "a throttle ratio below 1 exits 2" [ "$(exit_code "$bin" crawl --throttle-ratio=0.5 http://x.test/)" -eq 2 ]
check "a throttle ratio below 1 is one line" one_line_error
check "--sitemap with --sitemaps=off exits 2" \
  [ "$(exit_code "$bin" crawl --sitemaps=off --sitemap=http://x.test/s.xml http://x.test/)" -eq 2 ]
check "... with one line" one_line_error
check "a --sitemap that is not a URL exits 2" [ "$(exit_code "$bin" crawl --sitemap=ftp://x.test/s http://x.test/)" -eq 2 ]
check "... with one line naming it" sh -c "[ \$(wc -l <'$work/err') -eq 1 ] && grep -q -- '--sitemap' '$work/err'"
check "--recrawl without --state exits 2" [ "$(exit_code "$bin" crawl --recrawl http://x.test/)" -eq 2 ]
check "... with one line naming --state" sh -c "[ \$(wc -l <'$work/err') -eq 1 ] && grep -q -- '--state' '$work/err'"
check "--recrawl-every without --state exits 2" [ "$(exit_code "$bin" crawl --recrawl-every=1h http://x.test/)" -eq 2 ]
check "--recrawl-min=0 exits 2" \
  [ "$(exit_code "$bin" crawl --state="$work/rc-state" --recrawl-every=1h --recrawl-min=0 http://x.test/)" -eq 2 ]
check "... with one line" sh -c "[ \$(wc -l <'$work/err') -eq 1 ]"
check "--recrawl-min above --recrawl-max exits 2" \
  [ "$(exit_code "$bin" crawl --state="$work/rc-state" --recrawl-every=1h --recrawl-min=2h --recrawl-max=1h http://x.test/)" -eq 2 ]
check "--recrawl with --cluster exits 2" \
  [ "$(exit_code "$bin" crawl --recrawl --state="$work/rc-state" --cluster=127.0.0.1:1 --insecure-cluster http://x.test/)" -eq 2 ]
# Cluster certificates are checked at start: a key that is not the
# certificate's, or no key at all, is one line and exit 2 (not a coordinator
# hanging in its first connection, nor a node aborting at its first peer).
"$bin" cluster-ca "$work/ca1" --names=n1,coord >/dev/null
"$bin" cluster-ca "$work/ca2" --names=n1 >/dev/null
wrong_key=(--cluster-cert="$work/ca1/n1.pem" --cluster-key="$work/ca2/n1.key" --cluster-ca="$work/ca1/ca.pem")
check "a node whose key is not its certificate's exits 2" \
  [ "$(exit_code timeout 20 "$bin" node --listen=127.0.0.1:0 "${wrong_key[@]}")" -eq 2 ]
check "... saying so in one line" \
  sh -c "[ \$(wc -l <'$work/err') -eq 1 ] && grep -q 'is not the private key of --cluster-cert' '$work/err'"
check "a coordinator whose key is not its certificate's exits 2" \
  [ "$(exit_code timeout 20 "$bin" crawl --cluster=127.0.0.1:1 "${wrong_key[@]}" http://x.test/)" -eq 2 ]
check "... saying so" grep -q 'is not the private key of --cluster-cert' "$work/err"
check "a certificate given as the key exits 2" \
  [ "$(exit_code timeout 20 "$bin" node --listen=127.0.0.1:0 --cluster-cert="$work/ca1/n1.pem" \
        --cluster-key="$work/ca1/n1.pem" --cluster-ca="$work/ca1/ca.pem")" -eq 2 ]
check "... saying it holds no key" grep -q 'holds no PEM private key' "$work/err"
check "a coordinator with --insecure-cluster warns" \
  sh -c "'$bin' crawl --cluster=127.0.0.1:1 --insecure-cluster --cluster-timeout=1s --progress=false --out=null \
           http://x.test/ 2>&1 >/dev/null | grep -q 'warning: --insecure-cluster'"
check "a bad --sitemaps mode exits 2" [ "$(exit_code "$bin" crawl --sitemaps=maybe http://x.test/)" -eq 2 ]
check "a bad proxy URL exits 2" [ "$(exit_code "$bin" crawl --proxy=http://u:hunter2@h:x http://x.test/)" -eq 2 ]
check "a bad proxy URL is one line" [ "$(wc -l <"$work/err")" -eq 1 ]
check "a bad proxy URL error masks the password" sh -c "! grep -q hunter2 '$work/err'"
check "a missing proxy file exits 2" [ "$(exit_code "$bin" fetch --proxy-file=/nonexistent http://x.test/)" -eq 2 ]
check "a --cookie without a host exits 2" [ "$(exit_code "$bin" fetch --cookie=session=abc http://x.test/)" -eq 2 ]
check "... with one line naming --cookie" sh -c "[ \$(wc -l <'$work/err') -eq 1 ] && grep -q -- '--cookie' '$work/err'"
check "a missing cookie file exits 2" [ "$(exit_code "$bin" crawl --cookie-file=/nonexistent http://x.test/)" -eq 2 ]
printf 'x.test\tTRUE\t/\tFALSE\t0\tok\t1\nnot a cookie line\n' >"$work/cookies.txt"
check "a broken cookie file exits 2" [ "$(exit_code "$bin" crawl --cookie-file="$work/cookies.txt" http://x.test/)" -eq 2 ]
check "... with one line naming the line" sh -c "[ \$(wc -l <'$work/err') -eq 1 ] && grep -q 'line 2' '$work/err'"
check "--cookie with --cookies=off exits 2" [ "$(exit_code "$bin" fetch --cookies=off --cookie=x.test:a=1 http://x.test/)" -eq 2 ]
check "a --dns-server that is not an address exits 2" [ "$(exit_code "$bin" crawl --dns-server=nowhere http://x.test/)" -eq 2 ]
check "... with one line naming --dns-server" sh -c "[ \$(wc -l <'$work/err') -eq 1 ] && grep -q -- '--dns-server' '$work/err'"
check "a bad --ip-version exits 2" [ "$(exit_code "$bin" fetch --ip-version=5 http://x.test/)" -eq 2 ]
check "--dns-min-ttl above --dns-max-ttl exits 2" [ "$(exit_code "$bin" fetch --dns-min-ttl=2h http://x.test/)" -eq 2 ]
check "a dead proxy is proxy_failed" [ "$(exit_code "$bin" fetch --proxy=http://127.0.0.1:9 --proxy-wait=0 http://127.0.0.1:9/)" -eq 1 ]
check "a dead proxy's record names it" grep -q '"proxy":"http://127.0.0.1:9"' "$work/out"

# Serve a small site; the truth written while serving equals --print-truth.
. "$(dirname "$0")/../../scripts/lib/site.sh"
start_site "$bin" "$work" --hosts=3 --pages=10 --crawl-delay=0 --access-log="$work/access.log" \
  --truth-out="$work/truth.tsv" --serve-for=300s
port=$site_port
check "site reports its port" [ -n "$port" ]
if [ -n "$port" ]; then
  check "front page is served" [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.1.2:$port/")" = 200 ]
  check "robots.txt is served" curl -sf "http://127.0.1.1:$port/robots.txt" -o "$work/robots.txt"
  check "redirect has a Location" [ "$(curl -s -o /dev/null -w '%{redirect_url}' "http://127.0.1.1:$port/old/4")" = "http://127.0.1.1:$port/p/4" ]
  check "redirects lead to a page" [ "$(curl -sL -o /dev/null -w '%{http_code}' "http://127.0.1.1:$port/moved/5")" = 200 ]
  check "the loop never ends" [ "$(curl -sL --max-redirs 6 -o /dev/null -w '%{http_code}' "http://127.0.1.1:$port/loop/a")" = 302 ]
  "$bin" fetch "http://127.0.1.3:$port/moved/4" --body >"$work/fetched.json"
  check "fetch follows the redirect chain" grep -q "\"final_url\":\"http://127.0.1.3:$port/p/4\"" "$work/fetched.json"
  check "fetch prints the body with --body" grep -q '"body":"<!DOCTYPE html>' "$work/fetched.json"
  # Trying selectors without compiling: fetch --xpath / --css.
  check "fetch --css prints what a CSS selector selects" \
    [ "$("$bin" fetch "http://127.0.1.1:$port/" --css='head > title')" = '"Page 0 of host 0"' ]
  check "fetch --xpath prints what an XPath selects" \
    [ "$("$bin" fetch "http://127.0.1.1:$port/" --xpath='//title')" = '"Page 0 of host 0"' ]
  check "... one JSON string a line (::attr)" \
    [ "$("$bin" fetch "http://127.0.1.1:$port/" --css='a::attr(href)' | jq -r . | grep -c .)" -eq \
      "$(curl -s "http://127.0.1.1:$port/" | grep -o '<a href=' | wc -l)" ]
  check "fetch --css with a selector it cannot read exits 2" \
    [ "$(exit_code "$bin" fetch "http://127.0.1.1:$port/" --css='a:hover')" -eq 2 ]
  check "... saying why" grep -q "unsupported pseudo-class :hover" "$work/err"
  check "fetch --xpath with a bad expression exits 2" \
    [ "$(exit_code "$bin" fetch "http://127.0.1.1:$port/" --xpath='//a[')" -eq 2 ]
  check "fetch --css that selects nothing exits 0, saying so" \
    [ "$(exit_code "$bin" fetch "http://127.0.1.1:$port/" --css='.nothing')" -eq 0 -a "$(cat "$work/err")" = "arachne fetch: no match" ]
  # A proxy that rejects the credentials is wrong for the whole run: fetch
  # says so at once (it waited out --proxy-wait, 30 s, before).
  socks_port=$((20000 + RANDOM % 20000))
  microsocks -i 127.0.0.1 -p "$socks_port" -u bob -P right >/dev/null 2>&1 &
  more_pids+=("$!")
  for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$socks_port") 2>/dev/null && break; sleep 0.05; done
  started=$(date +%s%N)
  timeout 60 "$bin" fetch "http://127.0.1.1:$port/" --proxy="socks5://bob:wrongpw@127.0.0.1:$socks_port" \
    >"$work/retired.json" 2>"$work/retired.err"
  took_ms=$((($(date +%s%N) - started) / 1000000))
  check "fetch through a proxy rejecting the credentials reports it in under 5 s (${took_ms} ms)" \
    [ "$took_ms" -lt 5000 ]
  check "... saying the proxy is retired, password masked" \
    grep -q "every proxy is retired: socks5://\*\*\*@127.0.0.1:$socks_port rejected the credentials" "$work/retired.err"
  check "... never echoing it" [ "$(grep -c wrongpw "$work/retired.err" "$work/retired.json" | awk -F: '{ s += $2 } END { print s }')" -eq 0 ]
  # arachne shell on a pseudo-terminal (script(1)), through the SOCKS5 proxy:
  # fetch, an XPath and a CSS expression, a move, history (the up arrow
  # too), exit.
  printf '//title\ncss title\nfetch catalog/item?id=2\nspan.price\n\033[A\nh2:hover\nhistory\nexit\n' |
    timeout 60 script -qfec "$bin shell http://127.0.1.1:$port/ --proxy=socks5://bob:right@127.0.0.1:$socks_port" \
      /dev/null | tr -d '\r' >"$work/shell.txt"
  check "arachne shell on a terminal exits 0" [ "${PIPESTATUS[1]}" -eq 0 ]
  check "... fetched its page through the proxy" \
    grep -q "^fetched http://127.0.1.1:$port/: 200 text/html, .* through socks5://" "$work/shell.txt"
  check "... answered an XPath expression at its prompt" \
    [ "$(grep -A1 '^arachne> //title$' "$work/shell.txt" | tail -1)" = '"Page 0 of host 0"' ]
  check "... and a CSS selector" [ "$(grep -A1 '^arachne> css title$' "$work/shell.txt" | tail -1)" = '"Page 0 of host 0"' ]
  check "... moved to a relative URL" \
    grep -q "^fetched http://127.0.1.1:$port/catalog/item?id=2: 200 text/html" "$work/shell.txt"
  check "... selected on the new page, twice (the up arrow)" \
    [ "$(grep -cE '^"[0-9]+\.[0-9]{2}"$' "$work/shell.txt")" -eq 2 ]
  check "... said why it cannot read a selector, and went on" grep -q "unsupported pseudo-class :hover" "$work/shell.txt"
  check "... kept the history" grep -qE '^ +7  history$' "$work/shell.txt"
  check "arachne shell without a URL exits 2" [ "$(exit_code "$bin" shell)" -eq 2 ]
  # A whole crawl records exactly the truth, and the hello example runs.
  timeout 120 "$bin" crawl "http://127.0.1.1:$port/" --per-host-delay=0 --deny=/calendar/ \
    --out=jsonl:"$work/crawl.jsonl" >"$work/report.txt"
  check "crawl exits 0" [ $? -eq 0 ]
  check "crawl prints a report" grep -q "^crawl finished after" "$work/report.txt"
  cut -f1 "$work/truth.tsv" | sort >"$work/truth-urls"
  sed 's/.*"url":"\([^"]*\)".*/\1/' "$work/crawl.jsonl" | sort >"$work/crawled-urls"
  check "crawl records exactly the truth" cmp -s "$work/truth-urls" "$work/crawled-urls"
  # An existing output is never replaced unasked.
  check "a crawl onto an existing JSONL file exits 2" [ "$(exit_code "$bin" crawl "http://127.0.1.1:$port/" \
    --per-host-delay=0 --deny=/calendar/ --out=jsonl:"$work/crawl.jsonl")" -eq 2 ]
  check "... saying how to replace or add to it" grep -q "exists (.*): --overwrite replaces it, --append adds to it" "$work/err"
  check "... leaving it as it was" cmp -s "$work/truth-urls" \
    <(sed 's/.*"url":"\([^"]*\)".*/\1/' "$work/crawl.jsonl" | sort)
  timeout 120 "$bin" crawl "http://127.0.1.1:$port/" --per-host-delay=0 --deny=/calendar/ \
    --out=jsonl:"$work/crawl.jsonl" --append >/dev/null
  check "--append adds a second run's records" [ "$(wc -l <"$work/crawl.jsonl")" -eq $((2 * $(wc -l <"$work/truth-urls"))) ]
  check "... every record with its crawl_id, one per run" [ "$(jq -r .crawl_id "$work/crawl.jsonl" | sort -u | grep -c .)" -eq 2 ]
  timeout 120 "$bin" crawl "http://127.0.1.1:$port/" --per-host-delay=0 --deny=/calendar/ \
    --out=jsonl:"$work/crawl.jsonl" --overwrite >/dev/null
  check "--overwrite replaces it" [ "$(wc -l <"$work/crawl.jsonl")" -eq "$(wc -l <"$work/truth-urls")" ]
  check "--overwrite with --append exits 2" [ "$(exit_code "$bin" crawl http://x.test/ --overwrite --append)" -eq 2 ]
  # Records on standard output: the report goes to standard error, so the
  # output pipes into jq whole.
  timeout 120 "$bin" crawl "http://127.0.1.1:$port/" --per-host-delay=0 --deny=/calendar/ \
    --out=jsonl:- >"$work/stdout.jsonl" 2>"$work/stdout.err"
  check "--out=jsonl:- writes only records to standard output" \
    [ "$(jq -c .kind "$work/stdout.jsonl" | wc -l)" -eq "$(wc -l <"$work/truth-urls")" ]
  check "... and the report to standard error" grep -q "^crawl finished after" "$work/stdout.err"
  check "a WARC file that cannot be written exits 2" \
    [ "$(exit_code "$bin" crawl "http://127.0.1.1:$port/" --out=warc:"$work/none/x.warc.gz")" -eq 2 ]
  check "... in one line of words, not CAF's error format" \
    [ "$(cat "$work/err")" = "arachne crawl: a sink failed to open: cannot write WARC file '$work/none/x.warc.gz': No such file or directory" ]
  # The README's plain crawl, without --deny (the pacing aside): trap
  # defence cuts the endless calendar, and every other page is recorded.
  timeout 120 "$bin" crawl "http://127.0.1.1:$port/" --per-host-delay=0 \
    --out=jsonl:"$work/trap.jsonl" >"$work/trap.txt"
  check "a crawl into the endless calendar ends, exit 0" [ $? -eq 0 ]
  sed 's/.*"url":"\([^"]*\)".*/\1/' "$work/trap.jsonl" | grep -v /calendar/ | sort >"$work/trap-urls"
  check "... recording exactly the truth besides the calendar" cmp -s "$work/truth-urls" "$work/trap-urls"
  calendar=$(grep -c '"url":"[^"]*/calendar/' "$work/trap.jsonl")
  check "... and at most 2 x --trap-chain + 1 calendar pages per host ($calendar)" \
    [ "$calendar" -gt 3 -a "$calendar" -le $((3 * 101)) ]
  check "... counting the links cut as traps in the report" grep -q "traps [1-9]" "$work/trap.txt"
  check "--trap-repeats=1 exits 2" [ "$(exit_code "$bin" crawl http://x.test/ --trap-repeats=1)" -eq 2 ]
  (cd "$work" && timeout 120 "$hello" --per-host-delay=0 --deny=/calendar/ "http://127.0.1.1:$port/" >"$work/hello.txt")
  check "hello example emits an item per page" \
    [ "$(grep -c '"kind":"item"' "$work/pages.jsonl")" -eq "$(grep -c '"status":200' "$work/pages.jsonl")" ]
  # Programs built on the framework (run_app): arachne crawl's options,
  # one-line errors and exit codes.
  timeout 120 "$hello" --per-host-delay=0 --deny=/calendar/ --out=jsonl:"$work/hello-out.jsonl" \
    "http://127.0.1.1:$port/" >"$work/hello2.txt"
  check "hello takes --out" [ "$(grep -c '"kind":"item"' "$work/hello-out.jsonl")" -gt 0 ]
  check "... and prints the report" grep -q "^crawl finished after" "$work/hello2.txt"
  check "hello without a seed exits 2" [ "$(exit_code "$hello")" -eq 2 ]
  check "... saying so in one line" [ "$(cat "$work/err")" = "example_hello: expects at least one seed URL (see --help)" ]
  check "hello with a bad option exits 2 in one line" \
    [ "$(exit_code "$hello" --max-depth=x http://x.test/)" -eq 2 -a "$(grep -c . "$work/err")" -eq 1 ]
  check "... naming the option, not CAF's error format" grep -q "^example_hello: .*--max-depth" "$work/err"
  check "hello whose output cannot be written exits 2" \
    [ "$(exit_code "$hello" --out=jsonl:"$work/none/pages.jsonl" "http://127.0.1.1:$port/")" -eq 2 ]
  # The router example: labelled requests with data, their own handler, the pipeline.
  (cd "$work" && timeout 120 "$router" --per-host-delay=0 "http://127.0.1.1:$port/" >"$work/router.txt")
  check "router example exits 0" [ $? -eq 0 ]
  check "... emits items of product pages" \
    [ "$(jq -c 'select(.kind == "item" and (.url | contains("/catalog/item?id=")))' "$work/products.jsonl" | wc -l)" -gt 10 ]
  check "... each with where it was listed (its data) and its price (from the pipeline)" \
    [ "$(jq -c 'select(.kind == "item" and ((.fields.listed_on | startswith("http://")) | not) or (.kind == "item" and ((.fields.price | startswith("EUR ")) | not)))' "$work/products.jsonl" | wc -l)" -eq 0 ]
  check "custom sink example without a seed exits 2" [ "$(exit_code "$custom_sink")" -eq 2 ]
  mkdir -p "$work/blocked/products.csv" # (its CSV cannot be opened: a directory is in the way)
  check "a sink that throws as it is made: exit 1, not an abort" \
    [ "$(cd "$work/blocked" && exit_code "$custom_sink" --per-host-delay=0 "http://127.0.1.1:$port/")" -eq 1 ]
  check "... saying why in one line" [ "$(cat "$work/err")" = "example_custom_sink: cannot write products.csv" ]
  # Every built-in sink kind, on one crawl: SQLite and WARC agree with JSONL.
  timeout 120 "$bin" crawl "http://127.0.1.1:$port/" --per-host-delay=0 --deny=/calendar/ \
    --out=jsonl:"$work/all.jsonl.gz" --out=sqlite:"$work/all.db" --out=warc:"$work/all.warc.gz" --out=null \
    --out=jsonl:/dev/null >"$work/all.txt" 2>&1
  check "every sink kind at once exits 0 (JSONL to /dev/null too)" [ $? -eq 0 ]
  check "no sink failed" [ "$(grep -c FAILED "$work/all.txt")" -eq 0 ]
  check "gzip JSONL has a line per record" [ "$(zcat "$work/all.jsonl.gz" | wc -l)" -eq "$(wc -l <"$work/truth-urls")" ]
  check "WARC holds a response per fetched page" [ "$(zcat "$work/all.warc.gz" | grep -ac '^WARC-Type: response')" -eq "$(zcat "$work/all.jsonl.gz" | grep -c '"kind":"page"')" ]
  # Ctrl-C: in-flight requests finish, every sink is flushed, exit code 130.
  "$bin" crawl "http://127.0.1.1:$port/" --per-host-delay=300ms --deny=/calendar/ \
    --out=jsonl:"$work/int.jsonl" --out=sqlite:"$work/int.db" >"$work/int.txt" 2>/dev/null &
  crawl_pid=$!
  grown "$work/int.jsonl" 0 "$crawl_pid" # (interrupted once it records)
  kill -INT "$crawl_pid"; wait "$crawl_pid"
  check "SIGINT exits 130" [ $? -eq 130 ]
  check "SIGINT still prints the report" grep -q "^crawl interrupted after" "$work/int.txt"
  check "SIGINT leaves whole JSON lines" [ "$(grep -vc '^{.*}$' "$work/int.jsonl")" -eq 0 ]
  check "SIGINT flushed the sinks alike" \
    [ "$(sqlite3 "$work/int.db" 'SELECT (SELECT count(*) FROM pages) + (SELECT count(*) FROM failures)')" -eq "$(wc -l <"$work/int.jsonl")" ]
  check "SIGINT stopped a crawl in the middle" [ "$(wc -l <"$work/int.jsonl")" -lt "$(wc -l <"$work/truth-urls")" ]
  # A sink in another process (CAF remoting) gets every record of a crawl.
  "$bin" sink-node --listen=127.0.0.1:0 --out=jsonl:"$work/remote.jsonl" >"$work/node.out" 2>&1 &
  node_pid=$!
  for _ in $(seq 1 100); do grep -q "^listening on" "$work/node.out" && break; sleep 0.1; done
  node_port=$(sed -n 's/^listening on 127.0.0.1:\([0-9]*\)$/\1/p' "$work/node.out")
  check "sink-node reports where it listens" [ -n "$node_port" ]
  timeout 120 "$bin" crawl "http://127.0.1.1:$port/" --per-host-delay=0 --deny=/calendar/ \
    --out=jsonl:"$work/local.jsonl" --sink-remote=127.0.0.1:"$node_port" >/dev/null
  check "crawl with a remote sink exits 0" [ $? -eq 0 ]
  kill -TERM "$node_pid"; wait "$node_pid"
  check "sink-node stops on SIGTERM with 0" [ $? -eq 0 ]
  check "the remote sink got exactly the local sink's records" \
    cmp -s <(sort "$work/local.jsonl") <(sort "$work/remote.jsonl")
  check "the remote sink got every record" [ "$(wc -l <"$work/remote.jsonl")" -eq "$(wc -l <"$work/truth-urls")" ]
  # A remote sink that dies mid-crawl fails the crawl (exit 1), it does not hang it.
  "$bin" sink-node --listen=127.0.0.1:0 --out=null >"$work/node2.out" 2>&1 &
  node_pid=$!
  for _ in $(seq 1 100); do grep -q "^listening on" "$work/node2.out" && break; sleep 0.1; done
  node_port=$(sed -n 's/^listening on 127.0.0.1:\([0-9]*\)$/\1/p' "$work/node2.out")
  timeout 60 "$bin" crawl "http://127.0.1.1:$port/" --per-host-delay=400ms --deny=/calendar/ --out=null \
    --progress=true --sink-remote=127.0.0.1:"$node_port" >"$work/lost.txt" 2>&1 &
  crawl_pid=$!
  # Killed once the crawl runs (its sinks are open: the progress line shows).
  for _ in $(seq 1 600); do grep -q "pages/s" "$work/lost.txt" && break; sleep 0.1; done
  kill -KILL "$node_pid"; wait "$node_pid" 2>/dev/null
  wait "$crawl_pid"
  check "a crawl whose remote sink died exits 1" [ $? -eq 1 ]
  check "the report names the lost sink" grep -q "remote:127.0.0.1:$node_port FAILED" "$work/lost.txt"
  check "an unreachable remote sink exits 2" [ "$(exit_code "$bin" crawl http://x.test/ --out=null --sink-remote=127.0.0.1:9)" -eq 2 ]
  (cd "$work" && timeout 120 "$custom_sink" --per-host-delay=0 --deny=/calendar/ "http://127.0.1.1:$port/" >"$work/custom.txt")
  check "custom sink example writes a CSV row per product page" \
    [ "$(($(wc -l <"$work/products.csv") - 1))" -eq "$(zcat "$work/all.warc.gz" | grep -ac 'class="price"')" ]
  check "custom sink CSV rows carry name and price" grep -qE '^http://[^,]+,Product [0-9]+-[0-9]+,[0-9]+\.[0-9]+$' "$work/products.csv"
  check "crawl without a seed exits 2" [ "$(exit_code "$bin" crawl)" -eq 2 ]
  check "crawl with a bad --out exits 2" [ "$(exit_code "$bin" crawl http://x.test/ --out=csv:x)" -eq 2 ]
  check "crawl with a bad pattern exits 2" [ "$(exit_code "$bin" crawl http://127.0.1.1:$port/ --deny='(' --out=jsonl:/dev/null)" -eq 2 ]
  check "a seed without a scheme exits 2" [ "$(exit_code "$bin" crawl 127.0.1.1:$port/ --out=jsonl:"$work/noscheme.jsonl")" -eq 2 ]
  check "... saying how to write it" grep -q "has no scheme: give it as http://127.0.1.1:$port/" "$work/err"
  check "... before any output" [ ! -e "$work/noscheme.jsonl" ]
  # A seed whose site refuses connections: its robots.txt cannot be had.
  check "a crawl in which every seed failed exits 1" \
    [ "$(exit_code "$bin" crawl http://127.0.0.1:9/ --retry-delay=10ms --out=jsonl:"$work/dead.jsonl")" -eq 1 ]
  check "... saying so" grep -q "every seed failed" "$work/err"
  check "... its record names the cause, not robots_denied" \
    [ "$(jq -r .error "$work/dead.jsonl")" = connect_failed ]
  # A self-signed HTTPS seed (the demo site's own CA): tls_failed, with the
  # way out in its message; trusted with --ca-file it is crawled.
  mkdir -p "$work/tls"
  first_site_pid=$site_pid
  start_site "$bin" "$work/tls" --tls --ca-file="$work/tls/ca.pem" --hosts=1 --pages=5 \
    --crawl-delay=0 --serve-for=120s || exit 1
  more_pids+=("$site_pid")
  tls_port=$site_port
  site_pid=$first_site_pid
  check "a crawl of an untrusted HTTPS seed exits 1" \
    [ "$(exit_code "$bin" crawl "https://127.0.1.1:$tls_port/" --retry-delay=10ms --out=jsonl:"$work/tls.jsonl")" -eq 1 ]
  check "... its record says tls_failed" [ "$(jq -r .error "$work/tls.jsonl")" = tls_failed ]
  check "... and how to trust the CA" grep -q -- "--ca-file" <(jq -r .error_message "$work/tls.jsonl")
  check "... which crawls it" [ "$(exit_code "$bin" crawl "https://127.0.1.1:$tls_port/" --per-host-delay=0 \
    --ca-file="$work/tls/ca.pem" --out=jsonl:"$work/tls-ok.jsonl")" -eq 0 ]
  # Links on pages at --max-depth are counted in the report.
  timeout 60 "$bin" crawl "http://127.0.1.1:$port/" --per-host-delay=0 --max-depth=0 --out=null >"$work/depth.txt"
  check "a crawl at --max-depth=0 counts the front page's links it did not follow" \
    grep -qE "links on pages at --max-depth [1-9]" "$work/depth.txt"
  "$bin" site --hosts=3 --pages=10 --crawl-delay=0 --print-truth --port="$port" >"$work/printed.tsv" 2>/dev/null
  check "print-truth equals truth-out" cmp -s "$work/truth.tsv" "$work/printed.tsv"
  check "truth is not empty" [ "$(wc -l <"$work/truth.tsv")" -gt 30 ]
  paths=(/ /robots.txt /old/4 /p/4 /articles/2.html /nope.html)
  for p in "${paths[@]}"; do curl -s -i "http://127.0.1.1:$port$p" >>"$work/uncached.txt"; done
  kill -TERM "$site_pid"
  wait "$site_pid"
  rc=$?
  site_pid=""
  check "site stops on SIGTERM with exit 0" [ "$rc" -eq 0 ]
  served=$(sed -n 's/.*stopped after \([0-9]*\) responses.*/\1/p' "$work/site.out")
  check "site reports what it served" [ -n "$served" ]
  check "access log has a line per response" [ "$(wc -l <"$work/access.log")" -eq "${served:-0}" ]
  # --cache: the same site on the same port answers the same bytes, from the
  # cache (asked twice) or generated (pages that no longer fit in 24k).
  start_site "$bin" "$work" --hosts=3 --pages=10 --crawl-delay=0 --port="$port" --cache=24k --serve-for=60s
  for round in 1 2; do
    for p in "${paths[@]}"; do curl -s -i "http://127.0.1.1:$port$p" >>"$work/cached-$round.txt"; done
  done
  check "the compared answers hold pages, a redirect and a 404" \
    [ "$(grep -c -e '^HTTP/1.1 200' -e '^HTTP/1.1 30' -e '^HTTP/1.1 404' "$work/uncached.txt")" -eq 6 ]
  check "a cached site answers what a generating one does" cmp -s "$work/uncached.txt" "$work/cached-1.txt"
  check "answers from the cache are the same" cmp -s "$work/uncached.txt" "$work/cached-2.txt"
fi

# -- stopping: Ctrl-C waits only for what is under way; a second one stops at once --
stop_site
start_site "$bin" "$work" --hosts=1 --pages=40 --crawl-delay=0 --trap=false --serve-for=120s || exit 1
# ms_since START_NS: milliseconds since then.
ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }
# A host paced at 30 s: after its robots.txt the next slot is 30 s away.
"$bin" crawl "http://127.0.1.1:$site_port/" --per-host-delay=30s --per-host-jitter=0 --progress=false \
  --out=jsonl:"$work/paced.jsonl" >"$work/paced.report" 2>&1 &
paced=$!
more_pids+=("$paced")
sleep 1 # (robots.txt fetched: the first page is 30 s away)
started=$(date +%s%N)
kill -INT "$paced"
wait "$paced"
rc=$?
took=$(ms_since "$started")
check "Ctrl-C during a politeness gap ends the crawl without waiting it out (${took} ms)" [ "$took" -lt 5000 ]
check "... exit 130, with the report" sh -c "[ $rc -eq 130 ] && grep -q '^crawl interrupted' '$work/paced.report'"
stop_site
# Responses that take 30 s: Ctrl-C waits for them; a second one does not.
start_site "$bin" "$work" --hosts=1 --pages=5 --crawl-delay=0 --trap=false --latency=30s --serve-for=120s || exit 1
"$bin" crawl "http://127.0.1.1:$site_port/" --per-host-delay=0 --progress=false --ttfb-timeout=60s \
  --out=jsonl:"$work/slow.jsonl" >"$work/slow.report" 2>&1 &
slow=$!
more_pids+=("$slow")
sleep 1 # (robots.txt is under way)
kill -INT "$slow"
sleep 1
check "one Ctrl-C waits for the requests under way" kill -0 "$slow"
started=$(date +%s%N)
kill -INT "$slow"
wait "$slow"
rc=$?
took=$(ms_since "$started")
check "a second Ctrl-C stops at once (${took} ms)" [ "$took" -lt 5000 ]
check "... exit 130, with the report" sh -c "[ $rc -eq 130 ] && grep -q '^crawl interrupted' '$work/slow.report'"
kill -KILL "$site_pid" # (it would finish its 30 s answers first)
wait "$site_pid" 2>/dev/null
site_pid=""
# -- few file descriptors ---------------------------------------------------------
# Under ulimit -n 160 (soft and hard), --concurrency=5000 across 120 hosts
# would run out of descriptors: connects failed and hosts whose robots.txt
# could not be fetched were denied (a fifth of the URLs lost, exit 0). The
# crawl fits itself to the limit instead, and says so.
start_site "$bin" "$work" --hosts=120 --pages=4 --trap=false --crawl-delay=0 --latency=30ms \
  --truth-out="$work/fd-truth.tsv" --serve-for=120s || exit 1
for _ in $(seq 100); do [ -s "$work/fd-truth.tsv" ] && break; sleep 0.05; done
(
  ulimit -n 160
  exec timeout 120 "$bin" crawl "http://127.0.1.1:$site_port/" --concurrency=5000 --per-host-delay=0 \
    --per-host-concurrency=4 --progress=false --out=jsonl:"$work/fd.jsonl" >"$work/fd.report" 2>"$work/fd.err"
)
check "a crawl under ulimit -n 160 with --concurrency=5000 exits 0" [ $? -eq 0 ]
check "... saying it lowered --concurrency to fit" grep -q "file descriptors (ulimit -n): --concurrency lowered" "$work/fd.err"
cut -f1 "$work/fd-truth.tsv" | sort >"$work/fd-truth.txt"
jq -r .url "$work/fd.jsonl" | sort >"$work/fd-got.txt"
check "... and records exactly the reachable set" cmp -s "$work/fd-truth.txt" "$work/fd-got.txt"
stop_site
# -- descriptors running out mid-crawl ----------------------------------------------
# Another part of the process (or the system) may take the last descriptors:
# here the soft limit is lowered under what the crawl holds, for 1.5 s. A
# connect that cannot get a socket waits for one (idle connections are let
# go) and is never the site's failure: before, each such URL ended as
# connect_failed ("Operation canceled") and a host whose robots.txt met it
# was denied. (Not under a sanitizer: UBSan checks a virtual call through a
# pipe, and with no descriptor left it reports a false error and aborts.)
if [ -n "${ARACHNE_SANITIZE:-}" ]; then
  echo "skipped: descriptors running out mid-crawl (UBSan needs descriptors of its own)"
else
start_site "$bin" "$work" --hosts=40 --pages=40 --trap=false --crawl-delay=0 --latency=50ms \
  --truth-out="$work/emfile-truth.tsv" --serve-for=120s || exit 1
for _ in $(seq 100); do [ -s "$work/emfile-truth.tsv" ] && break; sleep 0.05; done
timeout 120 "$bin" crawl "http://127.0.1.1:$site_port/" --concurrency=16 --per-host-delay=0 \
  --retries=0 --pool-per-host=0 --progress=false --out=jsonl:"$work/emfile.jsonl" >"$work/emfile.report" 2>"$work/emfile.err" &
timeout_pid=$!
for _ in $(seq 200); do [ -s "$work/emfile.jsonl" ] && break; sleep 0.02; done
crawl_pid=$(pgrep -P "$timeout_pid")
limits=$(prlimit --pid "$crawl_pid" --nofile --output=SOFT,HARD --noheadings | awk '{print $1 ":" $2}')
# (Under what it holds: ten of its sockets must close before one opens.)
prlimit --pid "$crawl_pid" --nofile="$(( $(ls "/proc/$crawl_pid/fd" | wc -l) - 10 )):${limits#*:}"
during=$(wc -l <"$work/emfile.jsonl")
sleep 1.5
prlimit --pid "$crawl_pid" --nofile="$limits"
wait "$timeout_pid"
check "a crawl whose descriptors run out for 1.5 s exits 0" [ $? -eq 0 ]
check "... it was crawling when they ran out" [ "$during" -lt "$(wc -l <"$work/emfile-truth.tsv")" ]
cut -f1 "$work/emfile-truth.tsv" | sort >"$work/emfile-truth.txt"
jq -r .url "$work/emfile.jsonl" | sort >"$work/emfile-got.txt"
check "... records exactly the reachable set" cmp -s "$work/emfile-truth.txt" "$work/emfile-got.txt"
failed='select(.error and .error_message != "disallowed by robots.txt")' # (the site's own rules)
check "... none of it a failure" [ "$(jq -r "$failed | .url" "$work/emfile.jsonl" | wc -l)" -eq 0 ] ||
  jq -c "$failed | [.url, .error, .error_message]" "$work/emfile.jsonl" | head -3 >&2
stop_site
fi

checks_summary
