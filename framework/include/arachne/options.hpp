#pragma once

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "caf/timespan.hpp"

namespace arachne {

/// Parses a duration: `0`, `250ms`, `1.5s`, `2m`, `1h`, `100us` (a bare number
/// other than 0 is an error: the unit is never guessed).
std::optional<caf::timespan> parse_duration(std::string_view text);

/// Formats a duration the way `parse_duration` reads it (`250ms`, `1.5s`).
std::string format_duration(caf::timespan d);

/// Parses a byte size: `512`, `512k`, `8m`, `1g` (binary multiples; `kb`, `KiB` also read).
std::optional<uint64_t> parse_size(std::string_view text);

/// Formats a byte size the way `parse_size` reads it (`8m`, `512k`, `100`).
std::string format_size(uint64_t n);

/// Splits a list value at commas, dropping empty elements and surrounding spaces.
std::vector<std::string> split_list(std::string_view text);

/// A set of `--name=value` command-line options bound to variables; the values
/// the variables hold when added are the documented defaults.
class option_set {
public:
  /// What parsing a command line produced.
  struct result {
    std::string error;                   // one line; empty on success
    bool help = false;                   // --help or -h was given
    bool markdown = false;               // --help-markdown: the help as a Markdown table
    std::vector<std::string> positional; // arguments that are not options
  };

  /// Starts a new section in the help text.
  option_set& section(std::string title);

  /// A flag: `--name` or `--name=true|false`.
  option_set& add(std::string name, bool& var, std::string help);

  /// Text.
  option_set& add(std::string name, std::string& var, std::string help);

  /// A whole number.
  option_set& add(std::string name, int64_t& var, std::string help);

  /// A non-negative whole number.
  option_set& add(std::string name, uint64_t& var, std::string help);

  /// A non-negative whole number.
  option_set& add(std::string name, uint32_t& var, std::string help);

  /// A number.
  option_set& add(std::string name, double& var, std::string help);

  /// A list: the option repeated, or comma-separated; the first use replaces the default.
  option_set& add(std::string name, std::vector<std::string>& var, std::string help);

  /// A list whose values may contain commas: only repeating the option adds values.
  option_set& add_repeatable(std::string name, std::vector<std::string>& var, std::string help);

  /// A duration (`250ms`, `1.5s`).
  option_set& add(std::string name, caf::timespan& var, std::string help);

  /// A byte size (`512k`, `8m`).
  option_set& add_size(std::string name, uint64_t& var, std::string help);

  /// Text from a fixed set of choices.
  option_set& add_choice(std::string name, std::string& var, std::vector<std::string> choices,
                         std::string help);

  /// A value of an enum, named by one of `choices` (name, value).
  template <class Enum>
  option_set& add_choice(std::string name, Enum& var,
                         std::vector<std::pair<std::string, Enum>> choices, std::string help) {
    std::vector<std::string> names;
    for (auto& c : choices)
      names.push_back(c.first);
    auto get = [&var, choices] {
      for (auto& c : choices)
        if (c.second == var)
          return c.first;
      return std::string{};
    };
    auto set = [&var, choices](std::size_t i) { var = choices[i].second; };
    return add_named(std::move(name), std::move(names), get, set, std::move(help));
  }

  /// Shows `text` as the default of the option added last, where its value
  /// depends on where the program runs ("if a terminal").
  option_set& default_shown(std::string text);

  /// Parses `args` (no program name). `--config=FILE` reads `name = value`
  /// lines first; the command line overrides them.
  result parse(const std::vector<std::string>& args);

  /// Reads `name = value` lines ('#' starts a comment); the error, or empty.
  std::string parse_file(const std::string& path);

  /// The current value of the first `count` options (all by default) as
  /// `--name=value` arguments that `parse` reads back (lists: one argument
  /// per item), except those in `skip`.
  std::vector<std::string> to_args(const std::vector<std::string>& skip = {},
                                   std::size_t count = static_cast<std::size_t>(-1)) const;

  /// Options defined so far.
  std::size_t size() const noexcept { return options_.size(); }

  /// Prints every option with its default and help.
  void print_help(std::ostream& out) const;

  /// Prints the options as a Markdown table (for the docs).
  void print_markdown(std::ostream& out) const;

private:
  struct option {
    std::string name;
    std::string kind;          // shown in help: "", "N", "TEXT", "DURATION", "SIZE", "LIST", choices
    std::string default_text;
    std::string help;
    std::string section;
    bool is_flag = false;
    bool is_list = false;
    std::function<std::string(std::string_view)> set; // returns an error or ""
    std::function<std::vector<std::string>()> get;    // the value(s) as text set() reads
    std::function<void()> clear;                      // lists: drop the defaults
  };

  option_set& add_option(option opt);
  option_set& add_named(std::string name, std::vector<std::string> choices,
                        std::function<std::string()> get, std::function<void(std::size_t)> set,
                        std::string help);
  const option* find(std::string_view name) const;
  std::string apply(std::string_view name, std::optional<std::string_view> value,
                    std::vector<std::string>& touched_lists);

  std::vector<option> options_;
  std::string section_;
};

} // namespace arachne
