#include "arachne/options.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <fstream>
#include <sstream>

#include "arachne/config.hpp"

using namespace arachne;
using namespace std::chrono_literals;

TEST_CASE("durations read 0, 250ms, 1.5s and friends", "[options]") {
  CHECK(parse_duration("0") == caf::timespan{0});
  CHECK(parse_duration("250ms") == caf::timespan{250ms});
  CHECK(parse_duration("1.5s") == caf::timespan{1500ms});
  CHECK(parse_duration("2m") == caf::timespan{120s});
  CHECK(parse_duration("1h") == caf::timespan{3600s});
  CHECK(parse_duration("100us") == caf::timespan{100us});
  CHECK(parse_duration(" 3s ") == caf::timespan{3s});
  CHECK(!parse_duration("5"));     // a unit is never guessed
  CHECK(!parse_duration("ms"));
  CHECK(!parse_duration("1.5 parsecs"));
  CHECK(!parse_duration("-1s"));
  CHECK(!parse_duration(""));
  CHECK(format_duration(caf::timespan{1500ms}) == "1.5s");
  CHECK(format_duration(caf::timespan{250ms}) == "250ms");
  CHECK(format_duration(caf::timespan{0}) == "0");
  CHECK(format_duration(caf::timespan{90s}) == "1.5m");
  for (auto d : {caf::timespan{7ms}, caf::timespan{1500ms}, caf::timespan{42s}, caf::timespan{3us}})
    CHECK(parse_duration(format_duration(d)) == d);
}

TEST_CASE("sizes read 512k, 8m and friends", "[options]") {
  CHECK(parse_size("0") == 0u);
  CHECK(parse_size("100") == 100u);
  CHECK(parse_size("512k") == 512u * 1024);
  CHECK(parse_size("8m") == 8u * 1024 * 1024);
  CHECK(parse_size("8M") == 8u * 1024 * 1024);
  CHECK(parse_size("1g") == 1024ull * 1024 * 1024);
  CHECK(parse_size("1.5k") == 1536u);
  CHECK(parse_size("2KiB") == 2048u);
  CHECK(!parse_size("1.3"));
  CHECK(!parse_size("12q"));
  CHECK(!parse_size("k"));
  CHECK(!parse_size("-1k"));
  CHECK(format_size(8u * 1024 * 1024) == "8m");
  CHECK(format_size(512u * 1024) == "512k");
  CHECK(format_size(1000) == "1000");
}

TEST_CASE("option_set parses --name=value, lists, flags and reports one-line errors", "[options]") {
  bool flag = false;
  std::string text = "a";
  uint32_t n = 3;
  int64_t depth = -1;
  double ratio = 0.5;
  std::vector<std::string> list{"default"};
  caf::timespan delay{500ms};
  uint64_t size = 1024;
  std::string mode = "keep";
  std::vector<std::string> headers;
  option_set opts;
  opts.add_repeatable("header", headers, "repeatable");
  opts.add("flag", flag, "a flag")
    .add("text", text, "text")
    .add("n", n, "count")
    .add("depth", depth, "depth")
    .add("ratio", ratio, "ratio")
    .add("proxy", list, "list")
    .add("delay", delay, "delay")
    .add_size("max-body", size, "size")
    .add_choice("query", mode, {"keep", "sort", "drop"}, "mode");
  SECTION("values") {
    auto r = opts.parse({"--flag", "--text=hello world", "--n=7", "--depth=-2", "--ratio=0.25",
                         "--proxy=A", "--proxy=B,C", "--delay=1.5s", "--max-body=8m",
                         "--query=sort", "seed1", "--", "--seed2"});
    CHECK(r.error.empty());
    CHECK(flag);
    CHECK(text == "hello world");
    CHECK(n == 7);
    CHECK(depth == -2);
    CHECK(ratio == 0.25);
    CHECK(list == std::vector<std::string>{"A", "B", "C"});
    CHECK(delay == caf::timespan{1500ms});
    CHECK(size == 8u * 1024 * 1024);
    CHECK(mode == "sort");
    CHECK(r.positional == std::vector<std::string>{"seed1", "--seed2"});
    auto h = opts.parse({"--header=Accept: a, b", "--header=X-Y: 1"});
    CHECK(h.error.empty());
    CHECK(headers == std::vector<std::string>{"Accept: a, b", "X-Y: 1"});
    CHECK(!r.help);
  }
  SECTION("errors") {
    auto err = [&](std::vector<std::string> args) { return opts.parse(args).error; };
    CHECK(err({"--bogus=1"}) == "unknown option --bogus (see --help)");
    CHECK(err({"--n=x"}).find("option --n expects") == 0);
    CHECK(err({"--n=-1"}).find("option --n expects") == 0);
    CHECK(err({"--n=99999999999"}).find("option --n expects") == 0);
    CHECK(err({"--delay=5"}) == "option --delay expects a duration such as 0, 250ms or 1.5s, not '5'");
    CHECK(err({"--max-body=big"}).find("option --max-body expects a size") == 0);
    CHECK(err({"--query=shuffle"}) == "option --query expects one of keep|sort|drop, not 'shuffle'");
    CHECK(err({"--flag=maybe"}).find("option --flag expects true or false") == 0);
    CHECK(err({"--text"}) == "option --text needs a value: --text=TEXT");
    CHECK(err({"-x"}).find("unknown option -x") == 0);
    for (auto& args : std::vector<std::vector<std::string>>{{"--bogus"}, {"--n=x"}})
      CHECK(err(args).find('\n') == std::string::npos);
  }
  SECTION("help and defaults") {
    auto r = opts.parse({"--help"});
    CHECK(r.help);
    std::ostringstream out;
    opts.print_help(out);
    auto help = out.str();
    CHECK(help.find("--delay=DURATION") != std::string::npos);
    CHECK(help.find("(default: 500ms)") != std::string::npos);
    CHECK(help.find("(default: 1k)") != std::string::npos);
    CHECK(help.find("(default: default)") != std::string::npos);
    std::ostringstream md;
    opts.print_markdown(md);
    CHECK(md.str().find("| `--query=keep\\|sort\\|drop` | `keep` | mode |") != std::string::npos);
  }
  SECTION("config file, overridden by the command line") {
    auto path = std::string{"options-test.conf"};
    {
      std::ofstream f{path};
      f << "# comment\nn = 9\ntext = from file  # trailing comment\nproxy = F1, F2\nflag\n";
    }
    auto r = opts.parse({"--config=" + path, "--n=10"});
    CHECK(r.error.empty());
    CHECK(n == 10);
    CHECK(text == "from file");
    CHECK(list == std::vector<std::string>{"F1", "F2"});
    CHECK(flag);
    {
      std::ofstream f{path};
      f << "n = 9\nnope = 1\n";
    }
    CHECK(opts.parse({"--config=" + path}).error == path + ":2: unknown option --nope (see --help)");
    std::remove(path.c_str());
    CHECK(opts.parse({"--config=" + path}).error == "cannot read config file '" + path + "'");
  }
}

TEST_CASE("config registers the crawl options and hands threads to CAF", "[options]") {
  config cfg;
  auto err = cfg.parse_args({"--threads=3", "--query=sort", "--strip-params=utm_*,sid",
                             "http://seed.test/"});
  CHECK(err.empty());
  CHECK(cfg.crawl.threads == 3);
  CHECK(caf::get_or(cfg, "scheduler.max-threads", size_t{0}) == 3u);
  CHECK(cfg.positional == std::vector<std::string>{"http://seed.test/"});
  auto rules = cfg.crawl.url_rules();
  CHECK(rules.query == url_options::query_mode::sort);
  CHECK(rules.strip_params == std::vector<std::string>{"utm_*", "sid"});
  CHECK(!cfg.parse_args({"--threads=lots"}).empty());
}

TEST_CASE("config hands CAF how idle scheduler threads wait", "[options]") {
  using namespace std::chrono_literals;
  config cfg;
  // The defaults: no 50 us polling phase, a sleeping thread wakes every 100 ms.
  CHECK(caf::get_or(cfg, "work-stealing.moderate-poll-attempts", size_t{1}) == 0u);
  CHECK(caf::get_or(cfg, "work-stealing.relaxed-sleep-duration", caf::timespan{0}) == 100ms);
  REQUIRE(cfg.parse_args({"--scheduler-spin=7", "--scheduler-backoff=25ms",
                          "--scheduler-wake=10ms"})
            .empty());
  CHECK(caf::get_or(cfg, "work-stealing.aggressive-poll-attempts", size_t{0}) == 7u);
  CHECK(caf::get_or(cfg, "work-stealing.moderate-poll-attempts", size_t{0}) == 500u); // 25 ms / 50 us
  CHECK(caf::get_or(cfg, "work-stealing.relaxed-sleep-duration", caf::timespan{0}) == 10ms);
  // Never woken by time at all would leave work queued on a busy thread.
  CHECK(config{}.parse_args({"--scheduler-wake=0"})
        == "option --scheduler-wake expects a duration of at least 1ms");
}
