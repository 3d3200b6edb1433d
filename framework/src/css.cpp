// CSS selectors translated to XPath 1.0 (Selectors Level 3, the part that
// has an XPath equivalent), evaluated by libxml2 like any XPath.

#include "arachne/css.hpp"

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <vector>

#include "caf/sec.hpp"

namespace arachne {

namespace {

struct bad_selector : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// An XPath string literal of `s`: quoted with ' or ", or concat() of parts
// when it holds both.
std::string literal(std::string_view s) {
  if (s.find('\'') == std::string_view::npos)
    return "'" + std::string{s} + "'";
  if (s.find('"') == std::string_view::npos)
    return "\"" + std::string{s} + "\"";
  std::string out = "concat(";
  std::size_t start = 0;
  while (start < s.size()) {
    auto q = s.find('\'', start);
    if (q == start) {
      out += "\"'\",";
      ++start;
      continue;
    }
    auto end = q == std::string_view::npos ? s.size() : q;
    out += "'" + std::string{s.substr(start, end - start)} + "',";
    start = end;
  }
  out.back() = ')';
  return out;
}

char lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

// A recursive-descent reader of one selector group.
class reader {
public:
  explicit reader(std::string_view text) : s_(text) {}

  std::string group() {
    std::string out;
    for (;;) {
      skip_space();
      out += (out.empty() ? "" : " | ") + selector();
      skip_space();
      if (at_end())
        return out;
      if (!eat(','))
        fail("unexpected '" + std::string(1, s_[i_]) + "'");
    }
  }

private:
  std::string_view s_;
  std::size_t i_ = 0;

  [[noreturn]] void fail(const std::string& why) const {
    throw bad_selector(why + " at offset " + std::to_string(i_));
  }

  bool at_end() const { return i_ >= s_.size(); }
  char peek(std::size_t k = 0) const { return i_ + k < s_.size() ? s_[i_ + k] : '\0'; }

  bool eat(char c) {
    if (peek() != c)
      return false;
    ++i_;
    return true;
  }

  bool skip_space() {
    auto from = i_;
    while (!at_end() && (peek() == ' ' || peek() == '\t' || peek() == '\n' || peek() == '\r'
                         || peek() == '\f'))
      ++i_;
    return i_ > from;
  }

  static bool name_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-'
           || c == '_' || static_cast<unsigned char>(c) >= 0x80;
  }

  // An identifier; a backslash escapes the next character (hex escapes are
  // not read). `fold`: an element or attribute name, in lower case and
  // testable in XPath.
  std::string ident(bool fold) {
    std::string out;
    while (!at_end()) {
      if (peek() == '\\' && i_ + 1 < s_.size()) {
        out += s_[i_ + 1];
        i_ += 2;
      } else if (name_char(peek())) {
        out += fold ? lower(peek()) : peek();
        ++i_;
      } else {
        break;
      }
    }
    if (out.empty())
      fail(at_end() ? "a name expected at the end" : "a name expected");
    if (fold && out.find_first_of("'\"/[]()@:*|=<>!,$ .#~+") != std::string::npos)
      fail("'" + out + "' is no name an XPath can test");
    return out;
  }

  std::string quoted() {
    auto q = peek();
    ++i_;
    std::string out;
    while (!at_end() && peek() != q) {
      if (peek() == '\\' && i_ + 1 < s_.size())
        ++i_;
      out += peek();
      ++i_;
    }
    if (!eat(q))
      fail("an unclosed string");
    return out;
  }

  // A selector: compounds joined by combinators, then a pseudo-element.
  std::string selector() {
    std::string out = "descendant-or-self::";
    out += compound(false);
    for (;;) {
      bool space = skip_space();
      if (at_end() || peek() == ',')
        return out;
      if (peek() == ':' && peek(1) == ':')
        return out + pseudo_element();
      char c = peek();
      if (c == '>' || c == '+' || c == '~') {
        ++i_;
        skip_space();
        if (c == '>')
          out += "/" + compound(false);
        else if (c == '~')
          out += "/following-sibling::" + compound(false);
        else
          out += "/following-sibling::*[1]" + compound(true);
      } else if (space) {
        out += "/descendant::" + compound(false);
      } else {
        fail("unexpected '" + std::string(1, c) + "'");
      }
    }
  }

  std::string pseudo_element() {
    i_ += 2;
    auto name = ident(true);
    if (name == "text")
      return "/text()";
    if (name == "attr") {
      if (!eat('('))
        fail("::attr needs (NAME)");
      skip_space();
      auto attr = ident(true);
      skip_space();
      if (!eat(')'))
        fail("::attr(NAME) is not closed");
      skip_space();
      if (!at_end() && peek() != ',')
        fail("nothing may follow ::attr()");
      return "/@" + attr;
    }
    fail("unknown pseudo-element ::" + name);
  }

  // A compound selector: a type (or *) and its tests. `as_test`: written as
  // predicates only (after following-sibling::*[1]).
  std::string compound(bool as_test) {
    std::string type = "*";
    bool typed = false;
    if (peek() == '*') {
      ++i_;
      typed = true;
    } else if (name_char(peek()) || peek() == '\\') {
      type = ident(true);
      typed = true;
    }
    std::string tests;
    while (!at_end()) {
      auto t = simple_test(type);
      if (!t)
        break;
      tests += "[" + *t + "]";
    }
    if (!typed && tests.empty())
      fail(at_end() ? "a selector expected at the end" : "a selector expected");
    if (as_test)
      return (type == "*" ? "" : "[self::" + type + "]") + tests;
    return type + tests;
  }

  // One test of a compound, as an XPath predicate, or nothing at its end.
  std::optional<std::string> simple_test(const std::string& type) {
    switch (peek()) {
      case '#': {
        ++i_;
        return "@id=" + literal(ident(false));
      }
      case '.': {
        ++i_;
        return "contains(concat(' ',normalize-space(@class),' '),"
               + literal(" " + ident(false) + " ") + ")";
      }
      case '[':
        return attribute();
      case ':':
        if (peek(1) == ':')
          return std::nullopt;
        ++i_;
        return pseudo_class(type);
      default:
        return std::nullopt;
    }
  }

  std::string attribute() {
    ++i_;
    skip_space();
    auto name = ident(true);
    auto a = "@" + name;
    skip_space();
    if (eat(']'))
      return a;
    std::string op;
    if (peek() == '=') {
      op = "=";
      ++i_;
    } else if ((peek() == '~' || peek() == '|' || peek() == '^' || peek() == '$' || peek() == '*')
               && peek(1) == '=') {
      op = std::string(1, peek()) + "=";
      i_ += 2;
    } else {
      fail("an attribute operator expected");
    }
    skip_space();
    auto value = peek() == '"' || peek() == '\'' ? quoted() : ident(false);
    skip_space();
    if (!eat(']'))
      fail("an attribute test is not closed");
    auto v = literal(value);
    if (op == "=")
      return a + "=" + v;
    if (op == "~=")
      return value.empty() || value.find(' ') != std::string::npos
               ? std::string{"false()"}
               : "contains(concat(' ',normalize-space(" + a + "),' ')," + literal(" " + value + " ")
                   + ")";
    if (op == "|=")
      return a + "=" + v + " or starts-with(" + a + "," + literal(value + "-") + ")";
    if (value.empty()) // ([a^=""], [a$=""] and [a*=""] represent nothing)
      return "false()";
    if (op == "^=")
      return "starts-with(" + a + "," + v + ")";
    if (op == "$=") {
      // (XPath counts characters: the UTF-8 bytes that begin one.)
      std::size_t chars = 0;
      for (auto c : value)
        chars += (static_cast<unsigned char>(c) & 0xC0) != 0x80 ? 1 : 0;
      return "substring(" + a + ",string-length(" + a + ")-" + std::to_string(chars - 1)
             + ")=" + v;
    }
    return "contains(" + a + "," + v + ")";
  }

  // an+b of :nth-*(): a and b.
  std::pair<int64_t, int64_t> nth() {
    skip_space();
    auto start = i_;
    while (!at_end() && peek() != ')')
      ++i_;
    if (!eat(')'))
      fail("an :nth-*() is not closed");
    std::string e;
    for (auto c : s_.substr(start, i_ - 1 - start))
      if (c != ' ' && c != '\t')
        e += lower(c);
    if (e == "odd")
      return {2, 1};
    if (e == "even")
      return {2, 0};
    auto number = [&](std::string_view t, int64_t none) -> int64_t {
      if (t.empty() || t == "+")
        return none;
      if (t == "-")
        return -none;
      std::size_t k = (t[0] == '+' || t[0] == '-') ? 1 : 0;
      if (k == t.size() || t.size() > 10)
        fail("a bad an+b '" + e + "'");
      int64_t v = 0;
      for (auto j = k; j < t.size(); ++j) {
        if (t[j] < '0' || t[j] > '9')
          fail("a bad an+b '" + e + "'");
        v = v * 10 + (t[j] - '0');
      }
      return t[0] == '-' ? -v : v;
    };
    auto n = e.find('n');
    if (n == std::string::npos)
      return {0, number(e, 0)};
    auto a = number(std::string_view{e}.substr(0, n), 1);
    auto rest = std::string_view{e}.substr(n + 1);
    if (!rest.empty() && rest[0] != '+' && rest[0] != '-')
      fail("a bad an+b '" + e + "'");
    return {a, rest.empty() ? 0 : number(rest, 0)};
  }

  // The predicate "position p (an XPath number) is a*n+b for some n >= 0".
  static std::string nth_test(const std::string& p, int64_t a, int64_t b) {
    auto B = std::to_string(b);
    if (a == 0)
      return p + "=" + B;
    if (a > 0)
      return p + ">=" + B + " and (" + p + "-" + B + ") mod " + std::to_string(a) + "=0";
    return p + "<=" + B + " and (" + B + "-" + p + ") mod " + std::to_string(-a) + "=0";
  }

  std::string pseudo_class(const std::string& type) {
    auto name = ident(true);
    auto of_type = [&](const char* what) {
      if (type == "*")
        fail(":" + name + " needs an element name (p:" + name + "), not *");
      return std::string{what} + type;
    };
    if (name == "first-child")
      return "not(preceding-sibling::*)";
    if (name == "last-child")
      return "not(following-sibling::*)";
    if (name == "only-child")
      return "not(preceding-sibling::*) and not(following-sibling::*)";
    if (name == "first-of-type")
      return "not(" + of_type("preceding-sibling::") + ")";
    if (name == "last-of-type")
      return "not(" + of_type("following-sibling::") + ")";
    if (name == "only-of-type")
      return "not(" + of_type("preceding-sibling::") + ") and not(" + of_type("following-sibling::")
             + ")";
    if (name == "empty")
      return "not(*) and not(text())";
    if (name == "root")
      return "not(parent::*)";
    if (name == "nth-child" || name == "nth-last-child" || name == "nth-of-type"
        || name == "nth-last-of-type") {
      if (!eat('('))
        fail(":" + name + " needs (an+b)");
      auto [a, b] = nth();
      auto last = name.find("last") != std::string::npos;
      auto axis = last ? std::string{"following-sibling::"} : std::string{"preceding-sibling::"};
      auto sibs = name.find("of-type") != std::string::npos ? of_type(axis.c_str()) : axis + "*";
      return nth_test("(count(" + sibs + ")+1)", a, b);
    }
    if (name == "not") {
      if (!eat('('))
        fail(":not needs (SELECTOR)");
      skip_space();
      std::string inner;
      if (peek() == '*') {
        ++i_;
        inner = "true()";
      } else if (name_char(peek()) || peek() == '\\') {
        inner = "self::" + ident(true);
      } else {
        auto t = simple_test(type);
        if (!t)
          fail(":not() takes one simple selector");
        inner = *t;
      }
      skip_space();
      if (!eat(')'))
        fail(":not() takes one simple selector");
      return "not(" + inner + ")";
    }
    fail("unsupported pseudo-class :" + name);
  }
};

} // namespace

caf::expected<std::string> css_to_xpath(std::string_view selector) {
  try {
    reader r{selector};
    return r.group();
  } catch (const bad_selector& e) {
    return caf::make_error(caf::sec::invalid_argument,
                           "CSS selector '" + std::string{selector} + "': " + e.what());
  }
}

} // namespace arachne
