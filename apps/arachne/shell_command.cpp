// `arachne shell URL`: fetch a page once, then try CSS selectors and XPath
// expressions on it, move to other pages, over every option a fetch has.

#include <iomanip>
#include <iostream>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <unistd.h>

#include <editline/readline.h>

#include "arachne/config.hpp"
#include "arachne/css.hpp"
#include "arachne/json.hpp"
#include "arachne/page.hpp"
#include "arachne/url.hpp"

#include "commands.hpp"
#include "fetch_session.hpp"

namespace arachne::cli {

namespace {

constexpr const char* help_text =
  "  SELECTOR        a CSS selector: h2.name, a::attr(href), p::text\n"
  "  /EXPR or (EXPR) an XPath expression: //title, count(//a)\n"
  "  css SELECTOR    a CSS selector, said so\n"
  "  xpath EXPR      an XPath expression, said so\n"
  "  fetch URL       fetch another page (relative to this one) and go there\n"
  "  links           the page's links, resolved\n"
  "  headers         the response's headers\n"
  "  body            the response's body\n"
  "  history         what was typed in this shell\n"
  "  help            this text (these words come before CSS: 'css body' selects <body>)\n"
  "  exit            leave (or Ctrl-D)\n";

// The page the shell is on: the request, the response and the page over
// them (whose DOM is built at the first selector).
struct current {
  crawl_request req;
  fetch_result res;
  std::unique_ptr<page> p;
};

std::string trim(std::string s) {
  auto b = s.find_first_not_of(" \t\r\n");
  auto e = s.find_last_not_of(" \t\r\n");
  return b == std::string::npos ? std::string{} : s.substr(b, e - b + 1);
}

void print_json_string(std::string_view s) {
  std::string line;
  append_json_string(line, s);
  std::cout << line << "\n";
}

// Fetches `url` and, if it answered (any status), makes it the current page.
void go(fetch_session& session, current& at, const std::string& url, const url_options& rules) {
  auto res = session.fetch(url);
  if (res.error != crawl_errc::none) {
    std::cout << "fetch failed: " << to_string_view(res.error) << ": " << res.error_message
              << " (still on " << (at.p ? at.req.url : std::string{"no page"}) << ")\n";
    return;
  }
  at.p.reset();
  at.req = crawl_request{};
  at.req.url = url;
  at.res = std::move(res);
  auto scan = scan_html(at.res.body.view());
  std::vector<std::string> links;
  std::set<std::string> seen;
  if (auto base = parse_url(at.res.final_url.empty() ? url : at.res.final_url, rules))
    for (auto& l : scan.links)
      if (auto u = resolve_url(*base, l.href, rules); u && seen.insert(u->str()).second)
        links.push_back(u->str());
  at.p = std::make_unique<page>(at.req, at.res, std::move(scan), std::move(links));
  std::cout << "fetched " << at.res.final_url << ": " << at.res.status << " "
            << (at.res.content_type.empty() ? "(no type)" : at.res.content_type) << ", "
            << at.res.body.size() << " bytes, " << std::fixed << std::setprecision(0)
            << std::chrono::duration<double, std::milli>(at.res.timings.total).count() << " ms"
            << (at.res.proxy.empty() ? "" : ", through " + at.res.proxy) << "\n";
}

// Prints what `xpath` selects, or why it cannot.
void select(const current& at, const std::string& xpath) {
  if (!at.p) {
    std::cout << "no page yet: fetch URL\n";
    return;
  }
  if (auto why = xpath_error(xpath); !why.empty()) {
    std::cout << why << "\n";
    return;
  }
  auto matches = at.p->xpath_all(xpath);
  for (auto& m : matches)
    print_json_string(m);
  std::cout << "(" << matches.size() << (matches.size() == 1 ? " match" : " matches") << ")\n";
}

// Reads a line: with line editing and history on a terminal, plainly from
// a pipe. False at the end of input.
bool read_line(bool tty, std::string& line) {
  if (!tty) {
    std::cout << std::flush;
    return static_cast<bool>(std::getline(std::cin, line));
  }
  char* got = ::readline("arachne> ");
  if (got == nullptr)
    return false;
  line = got;
  std::free(got);
  return true;
}

} // namespace

int shell_main(const std::vector<std::string>& args) {
  config cfg;
  if (auto done = parse_command(cfg, args, "shell",
                                "usage: arachne shell URL [--option=value ...]\n\n"
                                "Fetches URL, then reads CSS selectors and XPath expressions and\n"
                                "prints what they select on the page; 'fetch URL' moves, 'help' says\n"
                                "the rest. Every option of a fetch applies (--proxy, --user-agent, ...).\n"))
    return *done;
  if (cfg.positional.size() != 1) {
    std::cerr << "arachne shell: expects one URL (see --help)\n";
    return usage_error;
  }
  auto session = fetch_session::make(cfg);
  if (!session) {
    std::cerr << "arachne shell: " << error_text(session.error()) << "\n";
    return usage_error;
  }
  auto rules = cfg.crawl.url_rules();
  bool tty = ::isatty(0) != 0;
  current at;
  go(**session, at, cfg.positional.front(), rules);
  std::cout << "type a CSS selector or an XPath expression; 'help' for more\n";
  std::vector<std::string> history;
  std::string line;
  while (read_line(tty, line)) {
    line = trim(line);
    if (line.empty())
      continue;
    history.push_back(line);
    if (tty)
      ::add_history(line.c_str());
    auto space = line.find(' ');
    auto word = line.substr(0, space);
    auto rest = space == std::string::npos ? std::string{} : trim(line.substr(space + 1));
    if (word == "exit" || word == "quit")
      break;
    if (word == "help") {
      std::cout << help_text;
    } else if (word == "history") {
      for (std::size_t i = 0; i < history.size(); ++i)
        std::cout << std::setw(4) << i + 1 << "  " << history[i] << "\n";
    } else if (word == "fetch" && !rest.empty()) {
      auto target = rest;
      if (at.p)
        if (auto base = parse_url(at.res.final_url, rules))
          if (auto u = resolve_url(*base, rest, rules))
            target = u->str();
      go(**session, at, target, rules);
    } else if ((word == "links" || word == "headers" || word == "body") && rest.empty()) {
      if (!at.p) {
        std::cout << "no page yet: fetch URL\n";
      } else if (word == "links") {
        for (auto& l : at.p->links())
          std::cout << l << "\n";
        std::cout << "(" << at.p->links().size() << " links)\n";
      } else if (word == "headers") {
        for (auto& [name, value] : at.res.headers)
          std::cout << name << ": " << value << "\n";
      } else {
        std::cout << at.res.body.view() << "\n";
      }
    } else if (word == "xpath" && !rest.empty()) {
      select(at, rest);
    } else if (line[0] == '/' || line[0] == '(') {
      select(at, line);
    } else {
      auto selector = word == "css" && !rest.empty() ? rest : line;
      auto x = css_to_xpath(selector);
      if (!x)
        std::cout << error_text(x.error()) << "\n";
      else
        select(at, *x);
    }
  }
  if (tty)
    std::cout << "\n";
  return 0;
}

} // namespace arachne::cli
