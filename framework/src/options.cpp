#include "arachne/options.hpp"

#include "text.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <iomanip>
#include <ostream>
#include <sstream>

namespace arachne {

namespace {

using text::lower;
using text::trim;

// A decimal number at the start of `text`; the rest is left in `text`.
std::optional<double> leading_number(std::string_view& text) {
  std::size_t i = 0;
  bool digits = false;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9')
    ++i, digits = true;
  if (i < text.size() && text[i] == '.') {
    ++i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9')
      ++i, digits = true;
  }
  if (!digits)
    return std::nullopt;
  auto value = std::strtod(std::string(text.substr(0, i)).c_str(), nullptr);
  text.remove_prefix(i);
  return value;
}

std::string format_number(double x) {
  std::ostringstream out;
  out << std::setprecision(6) << x;
  return out.str();
}

} // namespace

std::optional<caf::timespan> parse_duration(std::string_view text) {
  text = trim(text);
  auto number = leading_number(text);
  if (!number)
    return std::nullopt;
  auto unit = lower(trim(text));
  double ns_per_unit;
  if (unit.empty()) {
    if (*number != 0)
      return std::nullopt;
    ns_per_unit = 1;
  } else if (unit == "ns") {
    ns_per_unit = 1;
  } else if (unit == "us") {
    ns_per_unit = 1e3;
  } else if (unit == "ms") {
    ns_per_unit = 1e6;
  } else if (unit == "s") {
    ns_per_unit = 1e9;
  } else if (unit == "m" || unit == "min") {
    ns_per_unit = 60e9;
  } else if (unit == "h") {
    ns_per_unit = 3600e9;
  } else {
    return std::nullopt;
  }
  double ns = *number * ns_per_unit;
  if (ns > 9.2e18)
    return std::nullopt;
  return caf::timespan{static_cast<int64_t>(std::llround(ns))};
}

std::string format_duration(caf::timespan d) {
  auto ns = d.count();
  if (ns == 0)
    return "0";
  struct unit {
    const char* name;
    double ns;
  };
  static constexpr unit units[] = {{"h", 3600e9}, {"m", 60e9}, {"s", 1e9},
                                   {"ms", 1e6},   {"us", 1e3}, {"ns", 1}};
  for (auto& u : units)
    if (static_cast<double>(ns) >= u.ns) {
      double v = static_cast<double>(ns) / u.ns;
      // Prefer a unit that gives a short exact number (1.5s, not 1500ms).
      if (std::fabs(v * 1000 - std::round(v * 1000)) < 1e-6 || u.ns == 1)
        return format_number(v) + u.name;
    }
  return std::to_string(ns) + "ns";
}

std::optional<uint64_t> parse_size(std::string_view text) {
  text = trim(text);
  auto number = leading_number(text);
  if (!number)
    return std::nullopt;
  auto unit = lower(trim(text));
  double factor;
  if (unit.empty() || unit == "b")
    factor = 1;
  else if (unit == "k" || unit == "kb" || unit == "kib")
    factor = 1024.0;
  else if (unit == "m" || unit == "mb" || unit == "mib")
    factor = 1024.0 * 1024;
  else if (unit == "g" || unit == "gb" || unit == "gib")
    factor = 1024.0 * 1024 * 1024;
  else if (unit == "t" || unit == "tb" || unit == "tib")
    factor = 1024.0 * 1024 * 1024 * 1024;
  else
    return std::nullopt;
  double bytes = *number * factor;
  if (bytes > 1.8e19 || bytes != std::floor(bytes))
    return std::nullopt;
  return static_cast<uint64_t>(bytes);
}

std::string format_size(uint64_t n) {
  static constexpr const char* units[] = {"", "k", "m", "g", "t"};
  std::size_t i = 0;
  double v = static_cast<double>(n);
  while (i + 1 < std::size(units) && v >= 1024 && std::fmod(v, 1024) == 0) {
    v /= 1024;
    ++i;
  }
  return format_number(v) + units[i];
}

std::vector<std::string> split_list(std::string_view text) {
  std::vector<std::string> out;
  while (true) {
    auto comma = text.find(',');
    auto item = trim(text.substr(0, comma));
    if (!item.empty())
      out.emplace_back(item);
    if (comma == std::string_view::npos)
      break;
    text.remove_prefix(comma + 1);
  }
  return out;
}

// -- option_set ----------------------------------------------------------------

option_set& option_set::section(std::string title) {
  section_ = std::move(title);
  return *this;
}

option_set& option_set::default_shown(std::string text) {
  if (!options_.empty())
    options_.back().default_text = std::move(text);
  return *this;
}

option_set& option_set::add_option(option opt) {
  opt.section = section_;
  options_.push_back(std::move(opt));
  return *this;
}

option_set& option_set::add(std::string name, bool& var, std::string help) {
  option o;
  o.name = std::move(name);
  o.default_text = var ? "true" : "false";
  o.help = std::move(help);
  o.is_flag = true;
  o.get = [&var] { return std::vector<std::string>{var ? "true" : "false"}; };
  o.set = [&var](std::string_view v) -> std::string {
    auto l = lower(v);
    if (l == "true" || l == "yes" || l == "on" || l == "1")
      var = true;
    else if (l == "false" || l == "no" || l == "off" || l == "0")
      var = false;
    else
      return "expects true or false";
    return {};
  };
  return add_option(std::move(o));
}

option_set& option_set::add(std::string name, std::string& var, std::string help) {
  option o;
  o.name = std::move(name);
  o.kind = "TEXT";
  o.default_text = var.empty() ? "\"\"" : var;
  o.help = std::move(help);
  o.get = [&var] { return std::vector<std::string>{var}; };
  o.set = [&var](std::string_view v) -> std::string {
    var = std::string{v};
    return {};
  };
  return add_option(std::move(o));
}

option_set& option_set::add(std::string name, int64_t& var, std::string help) {
  option o;
  o.name = std::move(name);
  o.kind = "N";
  o.default_text = std::to_string(var);
  o.help = std::move(help);
  o.get = [&var] { return std::vector<std::string>{std::to_string(var)}; };
  o.set = [&var](std::string_view v) -> std::string {
    std::string s{v};
    char* end = nullptr;
    errno = 0;
    auto x = std::strtoll(s.c_str(), &end, 10);
    if (s.empty() || *end != '\0' || errno == ERANGE)
      return "expects a whole number";
    var = x;
    return {};
  };
  return add_option(std::move(o));
}

option_set& option_set::add(std::string name, uint64_t& var, std::string help) {
  option o;
  o.name = std::move(name);
  o.kind = "N";
  o.default_text = std::to_string(var);
  o.help = std::move(help);
  o.get = [&var] { return std::vector<std::string>{std::to_string(var)}; };
  o.set = [&var](std::string_view v) -> std::string {
    std::string s{v};
    char* end = nullptr;
    errno = 0;
    auto x = std::strtoull(s.c_str(), &end, 10);
    if (s.empty() || s[0] == '-' || *end != '\0' || errno == ERANGE)
      return "expects a non-negative whole number";
    var = x;
    return {};
  };
  return add_option(std::move(o));
}

option_set& option_set::add(std::string name, uint32_t& var, std::string help) {
  option o;
  o.name = std::move(name);
  o.kind = "N";
  o.default_text = std::to_string(var);
  o.help = std::move(help);
  o.get = [&var] { return std::vector<std::string>{std::to_string(var)}; };
  o.set = [&var](std::string_view v) -> std::string {
    std::string s{v};
    char* end = nullptr;
    errno = 0;
    auto x = std::strtoull(s.c_str(), &end, 10);
    if (s.empty() || s[0] == '-' || *end != '\0' || errno == ERANGE || x > UINT32_MAX)
      return "expects a whole number from 0 to " + std::to_string(UINT32_MAX);
    var = static_cast<uint32_t>(x);
    return {};
  };
  return add_option(std::move(o));
}

option_set& option_set::add(std::string name, double& var, std::string help) {
  option o;
  o.name = std::move(name);
  o.kind = "X";
  o.default_text = format_number(var);
  o.help = std::move(help);
  o.get = [&var] {
    std::ostringstream out;
    out << std::setprecision(17) << var;
    return std::vector<std::string>{out.str()};
  };
  o.set = [&var](std::string_view v) -> std::string {
    std::string s{v};
    char* end = nullptr;
    auto x = std::strtod(s.c_str(), &end);
    if (s.empty() || *end != '\0' || !std::isfinite(x))
      return "expects a number";
    var = x;
    return {};
  };
  return add_option(std::move(o));
}

option_set& option_set::add(std::string name, std::vector<std::string>& var, std::string help) {
  option o;
  o.name = std::move(name);
  o.kind = "LIST";
  std::string d;
  for (auto& x : var)
    d += (d.empty() ? "" : ",") + x;
  o.default_text = d.empty() ? "(none)" : d;
  o.help = std::move(help);
  o.is_list = true;
  o.get = [&var] { return var; };
  o.set = [&var](std::string_view v) -> std::string {
    for (auto& x : split_list(v))
      var.push_back(std::move(x));
    return {};
  };
  o.clear = [&var] { var.clear(); };
  return add_option(std::move(o));
}

option_set& option_set::add_repeatable(std::string name, std::vector<std::string>& var,
                                      std::string help) {
  add(std::move(name), var, std::move(help));
  auto& o = options_.back();
  o.kind = "TEXT";
  o.set = [&var](std::string_view v) -> std::string {
    var.emplace_back(v);
    return {};
  };
  return *this;
}

option_set& option_set::add(std::string name, caf::timespan& var, std::string help) {
  option o;
  o.name = std::move(name);
  o.kind = "DURATION";
  o.default_text = format_duration(var);
  o.help = std::move(help);
  o.get = [&var] { return std::vector<std::string>{format_duration(var)}; };
  o.set = [&var](std::string_view v) -> std::string {
    auto d = parse_duration(v);
    if (!d || d->count() < 0)
      return "expects a duration such as 0, 250ms or 1.5s";
    var = *d;
    return {};
  };
  return add_option(std::move(o));
}

option_set& option_set::add_size(std::string name, uint64_t& var, std::string help) {
  option o;
  o.name = std::move(name);
  o.kind = "SIZE";
  o.default_text = format_size(var);
  o.help = std::move(help);
  o.get = [&var] { return std::vector<std::string>{std::to_string(var)}; };
  o.set = [&var](std::string_view v) -> std::string {
    auto n = parse_size(v);
    if (!n)
      return "expects a size such as 512k or 8m";
    var = *n;
    return {};
  };
  return add_option(std::move(o));
}

option_set& option_set::add_choice(std::string name, std::string& var,
                                   std::vector<std::string> choices, std::string help) {
  auto get = [&var] { return var; };
  auto set = [&var, choices](std::size_t i) { var = choices[i]; };
  return add_named(std::move(name), std::move(choices), get, set, std::move(help));
}

option_set& option_set::add_named(std::string name, std::vector<std::string> choices,
                                  std::function<std::string()> get,
                                  std::function<void(std::size_t)> set, std::string help) {
  option o;
  o.name = std::move(name);
  std::string kinds;
  for (auto& c : choices)
    kinds += (kinds.empty() ? "" : "|") + c;
  o.kind = kinds;
  o.default_text = get();
  o.help = std::move(help);
  o.get = [get] { return std::vector<std::string>{get()}; };
  o.set = [set, choices = std::move(choices), kinds](std::string_view v) -> std::string {
    auto i = std::find(choices.begin(), choices.end(), v);
    if (i == choices.end())
      return "expects one of " + kinds;
    set(static_cast<std::size_t>(i - choices.begin()));
    return {};
  };
  return add_option(std::move(o));
}

std::vector<std::string> option_set::to_args(const std::vector<std::string>& skip,
                                             std::size_t count) const {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < options_.size() && i < count; ++i) {
    auto& o = options_[i];
    if (!o.get || std::find(skip.begin(), skip.end(), o.name) != skip.end())
      continue;
    auto values = o.get();
    // An empty list clears the defaults; a repeatable one has none to clear.
    if (values.empty() && o.is_list && o.kind == "LIST")
      out.push_back("--" + o.name + "=");
    for (auto& v : values)
      out.push_back("--" + o.name + "=" + v);
  }
  return out;
}

const option_set::option* option_set::find(std::string_view name) const {
  for (auto& o : options_)
    if (o.name == name)
      return &o;
  return nullptr;
}

std::string option_set::apply(std::string_view name, std::optional<std::string_view> value,
                              std::vector<std::string>& touched_lists) {
  auto* o = find(name);
  if (o == nullptr)
    return "unknown option --" + std::string{name} + " (see --help)";
  if (!value) {
    if (!o->is_flag)
      return "option --" + std::string{name} + " needs a value: --" + std::string{name}
             + "=" + (o->kind.empty() ? "VALUE" : o->kind);
    value = "true";
  }
  if (o->is_list
      && std::find(touched_lists.begin(), touched_lists.end(), name) == touched_lists.end()) {
    touched_lists.emplace_back(name);
    o->clear();
  }
  if (auto err = o->set(*value); !err.empty())
    return "option --" + std::string{name} + " " + err + ", not '" + std::string{*value} + "'";
  return {};
}

std::string option_set::parse_file(const std::string& path) {
  std::ifstream in{path};
  if (!in)
    return "cannot read config file '" + path + "'";
  std::vector<std::string> touched;
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    auto l = trim(std::string_view{line}.substr(0, line.find('#')));
    if (l.empty())
      continue;
    auto eq = l.find('=');
    auto name = trim(l.substr(0, eq));
    std::optional<std::string_view> value;
    if (eq != std::string_view::npos)
      value = trim(l.substr(eq + 1));
    if (auto err = apply(name, value, touched); !err.empty())
      return path + ":" + std::to_string(n) + ": " + err;
  }
  return {};
}

option_set::result option_set::parse(const std::vector<std::string>& args) {
  result res;
  // The config file first, so that the command line overrides it.
  for (auto& a : args) {
    if (a.rfind("--config=", 0) == 0) {
      res.error = parse_file(a.substr(9));
      if (!res.error.empty())
        return res;
    }
  }
  std::vector<std::string> touched;
  bool only_positional = false;
  for (auto& a : args) {
    if (only_positional || a.size() < 2 || a[0] != '-') {
      res.positional.push_back(a);
      continue;
    }
    if (a == "--") {
      only_positional = true;
      continue;
    }
    if (a == "--help" || a == "-h" || a == "--help-markdown") {
      res.help = true;
      res.markdown = res.markdown || a == "--help-markdown";
      continue;
    }
    if (a.rfind("--config=", 0) == 0)
      continue;
    if (a.rfind("--", 0) != 0) {
      res.error = "unknown option " + a + " (options are --name=value; see --help)";
      return res;
    }
    std::string_view body{a};
    body.remove_prefix(2);
    auto eq = body.find('=');
    std::optional<std::string_view> value;
    if (eq != std::string_view::npos)
      value = body.substr(eq + 1);
    res.error = apply(body.substr(0, eq), value, touched);
    if (!res.error.empty())
      return res;
  }
  return res;
}

void option_set::print_help(std::ostream& out) const {
  std::string current = "\x01";
  for (auto& o : options_) {
    if (o.section != current) {
      current = o.section;
      if (!current.empty())
        out << "\n" << current << ":\n";
    }
    std::string left = "  --" + o.name;
    if (!o.is_flag)
      left += "=" + o.kind;
    out << std::left << std::setw(36) << left;
    if (left.size() >= 36)
      out << "\n" << std::string(36, ' ');
    out << o.help << " (default: " << o.default_text << ")\n";
  }
  out << "\n  --config=FILE                     read options from FILE (name = value lines)\n"
         "  --help                            show this help\n"
         "  --help-markdown                   the options as a Markdown table\n";
}

void option_set::print_markdown(std::ostream& out) const {
  out << "| option | default | meaning |\n|---|---|---|\n";
  for (auto& o : options_) {
    std::string kind;
    for (auto c : o.kind)
      kind += c == '|' ? std::string{"\\|"} : std::string(1, c);
    out << "| `--" << o.name;
    if (!o.is_flag)
      out << "=" << kind;
    out << "` | `" << o.default_text << "` | " << o.help << " |\n";
  }
}

} // namespace arachne
