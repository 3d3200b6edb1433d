// Resolves URLs read from standard input with Arachne's URL functions, for
// checking them against a conformance suite (tests/conformance/wpt_url.py).
// Each input line is `HEX(input) HEX(base)`, or `HEX(input) -` for an
// absolute URL; each output line is the normalised URL or `!error-kind`.
#include <iostream>
#include <string>

#include "arachne/errors.hpp"
#include "arachne/url.hpp"

namespace {

std::string unhex(const std::string& s) {
  std::string out;
  for (std::size_t i = 0; i + 1 < s.size(); i += 2)
    out += static_cast<char>(std::stoi(s.substr(i, 2), nullptr, 16));
  return out;
}

} // namespace

int main() {
  std::string input_hex;
  std::string base_hex;
  while (std::cin >> input_hex >> base_hex) {
    auto input = input_hex == "-" ? std::string{} : unhex(input_hex);
    caf::expected<arachne::url> result{caf::none};
    if (base_hex == "-") {
      result = arachne::parse_url(input);
    } else if (auto base = arachne::parse_url(unhex(base_hex))) {
      result = arachne::resolve_url(*base, input);
    } else {
      std::cout << "!base\n";
      continue;
    }
    if (result) {
      std::cout << result->str() << '\n';
    } else {
      auto kind = arachne::crawl_errc_of(result.error());
      std::cout << '!' << (kind ? to_string(*kind) : std::string{"error"}) << '\n';
    }
  }
}
