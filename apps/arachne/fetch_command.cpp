// `arachne fetch URL`: one request through a fetcher actor, printed as JSON;
// `--bench=N` fetches N requests with --concurrency in flight and reports speed.

#include <chrono>
#include <ctime>
#include <iomanip>
#include <iostream>
#include <map>
#include <sstream>

#include <sys/resource.h>

#include "caf/actor_system.hpp"
#include "caf/scoped_actor.hpp"

#include "arachne/config.hpp"
#include "arachne/css.hpp"
#include "arachne/json.hpp"
#include "arachne/page.hpp"

#include "commands.hpp"
#include "fetch_session.hpp"
#include "fetcher/fetcher.hpp"
#include "proxy_manager/proxy_manager.hpp"

namespace arachne::cli {

namespace {

std::string ms(caf::timespan d) {
  std::ostringstream out;
  out << std::fixed << std::setprecision(3) << std::chrono::duration<double, std::milli>(d).count();
  return out.str();
}

std::string to_json(const fetch_result& r, bool with_body) {
  std::string out = "{\"url\":";
  append_json_string(out, r.url);
  out += ",\"final_url\":";
  append_json_string(out, r.final_url);
  out += ",\"status\":" + std::to_string(r.status);
  out += ",\"error\":";
  if (r.error == crawl_errc::none) {
    out += "null";
  } else {
    append_json_string(out, to_string_view(r.error));
  }
  out += ",\"error_message\":";
  append_json_string(out, r.error_message);
  out += ",\"content_type\":";
  append_json_string(out, r.content_type);
  out += ",\"charset\":";
  append_json_string(out, r.charset);
  out += ",\"bytes\":" + std::to_string(r.body.size());
  out += ",\"truncated\":";
  out += r.truncated ? "true" : "false";
  out += ",\"wire_bytes\":" + std::to_string(r.wire_bytes);
  out += ",\"remote_address\":";
  append_json_string(out, r.remote_address);
  out += ",\"proxy\":";
  if (r.proxy.empty())
    out += "null";
  else
    append_json_string(out, r.proxy);
  out += ",\"redirects\":[";
  for (std::size_t i = 0; i < r.redirects.size(); ++i) {
    out += i == 0 ? "{\"url\":" : ",{\"url\":";
    append_json_string(out, r.redirects[i].url);
    out += ",\"status\":" + std::to_string(r.redirects[i].status) + "}";
  }
  out += "],\"timings_ms\":{\"dns\":" + ms(r.timings.dns) + ",\"connect\":" + ms(r.timings.connect)
         + ",\"tls\":" + ms(r.timings.tls) + ",\"ttfb\":" + ms(r.timings.ttfb)
         + ",\"total\":" + ms(r.timings.total) + "}";
  out += ",\"fetched_at\":";
  append_json_string(out, format_timestamp(r.fetched_at));
  out += ",\"headers\":[";
  for (std::size_t i = 0; i < r.headers.size(); ++i) {
    out += i == 0 ? "[" : ",[";
    append_json_string(out, r.headers[i].first);
    out += ',';
    append_json_string(out, r.headers[i].second);
    out += ']';
  }
  out += ']';
  if (with_body) {
    out += ",\"body\":";
    append_json_string(out, r.body.view());
  }
  out += '}';
  return out;
}

double cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec)
         + static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

int bench(caf::actor_system& sys, const fetcher_impl& f, const std::vector<std::string>& urls,
          uint64_t total, uint64_t concurrency) {
  caf::scoped_actor self{sys};
  uint64_t sent = 0;
  uint64_t received = 0;
  uint64_t failures = 0;
  std::map<uint16_t, uint64_t> statuses;
  auto send_next = [&] {
    fetch_request req;
    req.id = sent;
    req.url = urls[sent % urls.size()];
    self->send(f, fetch_atom::value, std::move(req));
    ++sent;
  };
  auto cpu0 = cpu_seconds();
  auto t0 = std::chrono::steady_clock::now();
  while (sent < std::min(total, concurrency))
    send_next();
  while (received < total) {
    self->receive([&](fetch_result& r) {
      ++received;
      ++statuses[r.status];
      if (r.error != crawl_errc::none)
        ++failures;
      if (sent < total)
        send_next();
    });
  }
  auto wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  auto cpu = cpu_seconds() - cpu0;
  std::cout << std::fixed << std::setprecision(0) << "requests: " << total
            << "\nconcurrency: " << concurrency << "\nfailures: " << failures
            << "\nrequests/s: " << static_cast<double>(total) / wall
            << "\ncpu_us_per_request: " << std::setprecision(1)
            << cpu * 1e6 / static_cast<double>(total) << "\nwall_s: " << std::setprecision(3)
            << wall << "\nstatuses:";
  for (auto& [status, n] : statuses)
    std::cout << " " << status << "=" << n;
  std::cout << std::endl;
  return failures == 0 ? 0 : 1;
}

// --xpath / --css: the matches on the fetched page, one JSON string a line;
// "no match" on stderr if none.
void print_matches(const fetch_result& r, const std::string& xpath) {
  crawl_request req;
  req.url = r.url;
  page p{req, r, html_scan{}, {}};
  auto matches = p.xpath_all(xpath);
  for (auto& m : matches) {
    std::string line;
    append_json_string(line, m);
    std::cout << line << "\n";
  }
  std::cout << std::flush;
  if (matches.empty())
    std::cerr << "arachne fetch: no match\n";
}

} // namespace

int fetch_main(const std::vector<std::string>& args) {
  config cfg;
  bool body = false;
  uint64_t bench_requests = 0;
  std::string xpath;
  std::string css;
  cfg.options()
    .section("fetch")
    .add("body", body, "include the body in the JSON record")
    .add("xpath", xpath,
         "print what this XPath 1.0 expression selects on the page, one JSON string a line, "
         "instead of the record")
    .add("css", css,
         "print what this CSS selector selects (h2.name, a::attr(href), p::text), as --xpath does")
    .add("bench", bench_requests,
         "benchmark: fetch this many requests over the URLs, --concurrency at a time, report speed");
  if (auto done = parse_command(cfg, args, "fetch",
                                "usage: arachne fetch URL [--option=value ...]\n"
                                "       arachne fetch URL --xpath=EXPR | --css=SELECTOR\n"
                                "       arachne fetch --bench=N [--concurrency=C] URL...\n\n"
                                "Fetches URL with the crawl's fetcher and prints the result as one JSON\n"
                                "object; exits 1 if the fetch failed (the error kind is on stderr).\n"))
    return *done;
  auto& urls = cfg.positional;
  if (urls.empty() || (bench_requests == 0 && urls.size() != 1)) {
    std::cerr << "arachne fetch: expects " << (bench_requests == 0 ? "one URL" : "URLs")
              << " (see --help)\n";
    return usage_error;
  }
  if (!xpath.empty() && !css.empty()) {
    std::cerr << "arachne fetch: --xpath and --css exclude each other\n";
    return usage_error;
  }
  if (!css.empty()) {
    auto x = css_to_xpath(css);
    if (!x) {
      std::cerr << "arachne fetch: --css: " << error_text(x.error()) << "\n";
      return usage_error;
    }
    xpath = std::move(*x);
  } else if (auto why = xpath.empty() ? std::string{} : xpath_error(xpath); !why.empty()) {
    std::cerr << "arachne fetch: --xpath: " << why << "\n";
    return usage_error;
  }
  // (One --concurrency: the common option, requests in flight in all.)
  uint64_t concurrency = cfg.crawl.run.concurrency;
  if (concurrency == 0) {
    std::cerr << "arachne fetch: option --concurrency expects at least 1\n";
    return usage_error;
  }
  if (bench_requests == 0) {
    auto session = fetch_session::make(cfg);
    if (!session) {
      std::cerr << "arachne fetch: " << error_text(session.error()) << "\n";
      return usage_error;
    }
    auto r = (*session)->fetch(urls.front());
    if (xpath.empty() || r.error != crawl_errc::none)
      std::cout << to_json(r, body) << std::endl;
    else
      print_matches(r, xpath);
    if (r.error == crawl_errc::none)
      return 0;
    std::cerr << "arachne fetch: " << to_string_view(r.error) << ": " << r.error_message << "\n";
    return 1;
  }
  auto client = http_client::make(cfg.crawl.http);
  if (!client) {
    std::cerr << "arachne fetch: " << error_text(client.error()) << "\n";
    return usage_error;
  }
  int rc = 0;
  {
    caf::actor_system sys{cfg};
    auto proxies = spawn_proxy_manager(sys, cfg.crawl.proxies);
    auto f = sys.spawn(fetcher, client->get(), make_fetcher_options(cfg.crawl.proxies, proxies));
    rc = bench(sys, f, urls, bench_requests, concurrency);
    caf::anon_send_exit(f, caf::exit_reason::user_shutdown);
    if (proxies)
      caf::anon_send_exit(proxies, caf::exit_reason::user_shutdown);
  }
  (*client)->stop();
  return rc;
}

} // namespace arachne::cli
