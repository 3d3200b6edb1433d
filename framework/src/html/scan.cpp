#include "arachne/html.hpp"

#include "text.hpp"

#include "arachne/page_directives.hpp"

#include <cstring>

namespace arachne {

namespace {

using text::has_word;
using text::iequals;
using text::lower;

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

bool icontains(std::string_view hay, std::string_view needle) {
  if (needle.size() > hay.size())
    return false;
  for (std::size_t i = 0; i + needle.size() <= hay.size(); ++i)
    if (iequals(hay.substr(i, needle.size()), needle))
      return true;
  return false;
}

// Position of the case-insensitive `needle` in `hay` at or after `from`.
std::size_t ifind(std::string_view hay, std::string_view needle, std::size_t from) {
  if (needle.empty())
    return from;
  auto first = lower(needle[0]);
  for (auto i = from; i + needle.size() <= hay.size(); ++i)
    if (lower(hay[i]) == first && iequals(hay.substr(i, needle.size()), needle))
      return i;
  return std::string_view::npos;
}

void append_utf8(std::string& out, uint32_t cp) {
  if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
    cp = 0xFFFD;
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

struct attribute {
  std::string_view name;
  std::string_view value;
};

// The attributes of a start tag, from just after its name to its '>'.
class tag_reader {
public:
  tag_reader(std::string_view html, std::size_t pos) : html_(html), pos_(pos) {}

  // Reads the next attribute; false at the end of the tag.
  bool next(attribute& attr) {
    while (pos_ < html_.size() && (is_space(html_[pos_]) || html_[pos_] == '/'))
      ++pos_;
    if (pos_ >= html_.size() || html_[pos_] == '>')
      return false;
    auto start = pos_;
    while (pos_ < html_.size() && !is_space(html_[pos_]) && html_[pos_] != '='
           && html_[pos_] != '>' && html_[pos_] != '/')
      ++pos_;
    if (pos_ == start) // a lone '=': skip it
      ++pos_;
    attr.name = html_.substr(start, pos_ - start);
    attr.value = {};
    auto p = pos_;
    while (p < html_.size() && is_space(html_[p]))
      ++p;
    if (p >= html_.size() || html_[p] != '=')
      return true;
    pos_ = p + 1;
    while (pos_ < html_.size() && is_space(html_[pos_]))
      ++pos_;
    if (pos_ < html_.size() && (html_[pos_] == '"' || html_[pos_] == '\'')) {
      auto quote = html_[pos_++];
      auto end = html_.find(quote, pos_);
      if (end == std::string_view::npos)
        end = html_.size();
      attr.value = html_.substr(pos_, end - pos_);
      pos_ = end + 1;
    } else {
      // Unquoted: up to white space or '>' ('/' belongs to the value).
      auto vstart = pos_;
      while (pos_ < html_.size() && !is_space(html_[pos_]) && html_[pos_] != '>')
        ++pos_;
      attr.value = html_.substr(vstart, pos_ - vstart);
    }
    return true;
  }

  // Position after the tag's '>'.
  std::size_t end() {
    attribute ignored;
    while (next(ignored)) {
    }
    return pos_ < html_.size() ? pos_ + 1 : html_.size();
  }

private:
  std::string_view html_;
  std::size_t pos_;
};

std::string collapse_text(std::string_view text) {
  auto decoded = decode_entities(text);
  std::string out;
  bool space = false;
  for (auto c : decoded) {
    if (is_space(c)) {
      space = !out.empty();
      continue;
    }
    if (space)
      out += ' ';
    space = false;
    out += c;
  }
  return out;
}

} // namespace

std::string decode_entities(std::string_view text) {
  if (text.find('&') == std::string_view::npos)
    return std::string{text};
  struct named {
    const char* name;
    const char* value;
  };
  static constexpr named names[] = {
    {"amp", "&"},  {"lt", "<"},       {"gt", ">"},       {"quot", "\""},
    {"apos", "'"}, {"nbsp", "\xC2\xA0"}, {"sol", "/"},   {"quest", "?"},
    {"equals", "="}, {"num", "#"},    {"percnt", "%"},   {"colon", ":"},
  };
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '&') {
      out += text[i];
      continue;
    }
    auto rest = text.substr(i + 1);
    if (!rest.empty() && rest[0] == '#') {
      std::size_t j = 1;
      uint32_t cp = 0;
      bool hex = j < rest.size() && (rest[j] == 'x' || rest[j] == 'X');
      if (hex)
        ++j;
      auto digits_start = j;
      while (j < rest.size() && j - digits_start < 8) {
        auto c = lower(rest[j]);
        if (c >= '0' && c <= '9')
          cp = cp * (hex ? 16 : 10) + static_cast<uint32_t>(c - '0');
        else if (hex && c >= 'a' && c <= 'f')
          cp = cp * 16 + static_cast<uint32_t>(c - 'a' + 10);
        else
          break;
        ++j;
      }
      if (j > digits_start) {
        append_utf8(out, cp);
        i += j + (j < rest.size() && rest[j] == ';' ? 1 : 0);
        continue;
      }
    } else {
      bool found = false;
      for (auto& n : names) {
        auto len = std::strlen(n.name);
        if (rest.size() >= len && rest.compare(0, len, n.name) == 0) {
          out += n.value;
          i += len + (rest.size() > len && rest[len] == ';' ? 1 : 0);
          found = true;
          break;
        }
      }
      if (found)
        continue;
    }
    out += '&';
  }
  return out;
}

namespace {

// What one scan has found so far, beyond `out`: the first base, canonical
// and title win. `agent` is the crawler's robots token (may be empty).
struct scan_state {
  html_scan& out;
  std::string_view agent;
  bool have_base = false;
  bool have_canonical = false;
  bool have_title = false;
};

// Position after the comment, doctype, end tag or processing instruction at
// `pos` (`next` is the character after its '<').
inline std::size_t skip_markup(std::string_view html, std::size_t pos, char next) {
  if (next == '!' && html.compare(pos, 4, "<!--") == 0) {
    auto end = html.find("-->", pos + 4);
    return end == std::string_view::npos ? html.size() : end + 3;
  }
  auto end = html.find('>', pos);
  return end == std::string_view::npos ? html.size() : end + 1;
}

// Links with these rels are resources, not pages.
inline bool is_resource(std::string_view rel) {
  return icontains(rel, "stylesheet") || icontains(rel, "icon") || icontains(rel, "preload")
         || icontains(rel, "prefetch") || icontains(rel, "preconnect")
         || icontains(rel, "manifest") || icontains(rel, "modulepreload");
}

// a, area, link, frame, iframe and base: a link, or the page's base URL.
inline void read_link(std::string_view name, tag_reader& reader, scan_state& st) {
  auto is = [&](std::string_view t) { return iequals(name, t); };
  std::string_view href, rel;
  bool src_tag = is("frame") || is("iframe");
  attribute attr;
  while (reader.next(attr)) {
    if (iequals(attr.name, src_tag ? "src" : "href"))
      href = attr.value;
    else if (iequals(attr.name, "rel"))
      rel = attr.value;
  }
  if (href.empty())
    return;
  if (is("base")) {
    if (!st.have_base)
      st.out.base = decode_entities(href);
    st.have_base = true;
    return;
  }
  if (is("link") && has_word(rel, "canonical")) {
    // Where the page itself lives, not a link: following it is a crawl option.
    if (!st.have_canonical)
      st.out.canonical = decode_entities(href);
    st.have_canonical = true;
    return;
  }
  if (is("link") && is_resource(rel))
    return;
  html_link link;
  link.href = decode_entities(href);
  link.nofollow = icontains(rel, "nofollow");
  if (is("a")) {
    link.kind = html_link::kind_t::anchor;
  } else if (is("area")) {
    link.kind = html_link::kind_t::area;
  } else if (is("link")) {
    link.kind = html_link::kind_t::link;
  } else {
    link.kind = html_link::kind_t::frame;
  }
  st.out.links.push_back(std::move(link));
}

// The URL in a refresh's content ("5; url=..."), unquoted; empty if none.
inline std::string_view refresh_url(std::string_view content) {
  auto u = ifind(content, "url", 0);
  if (u == std::string_view::npos)
    return {};
  auto v = content.substr(u + 3);
  while (!v.empty() && (is_space(v.front()) || v.front() == '='))
    v.remove_prefix(1);
  if (!v.empty() && (v.front() == '\'' || v.front() == '"')) {
    auto q = v.front();
    v.remove_prefix(1);
    v = v.substr(0, v.find(q));
  }
  return v;
}

// meta: the charset, robots directives (for all crawlers, name=robots, or
// for ours, name=AGENT), and a refresh's URL as a link.
inline void read_meta(tag_reader& reader, std::string_view agent, html_scan& out) {
  std::string_view meta_name, http_equiv, content, charset;
  attribute attr;
  while (reader.next(attr)) {
    if (iequals(attr.name, "name"))
      meta_name = attr.value;
    else if (iequals(attr.name, "http-equiv"))
      http_equiv = attr.value;
    else if (iequals(attr.name, "content"))
      content = attr.value;
    else if (iequals(attr.name, "charset"))
      charset = attr.value;
  }
  if (!charset.empty() && out.charset.empty())
    out.charset = lower(charset);
  if (iequals(meta_name, "robots") || (!agent.empty() && iequals(meta_name, agent))) {
    auto d = parse_robots_meta(content);
    out.nofollow = out.nofollow || d.nofollow;
    out.noindex = out.noindex || d.noindex;
  } else if (iequals(http_equiv, "refresh")) {
    if (auto v = refresh_url(content); !v.empty())
      out.links.push_back(html_link{decode_entities(v), html_link::kind_t::refresh, false});
  } else if (iequals(http_equiv, "content-type") && out.charset.empty()) {
    auto c = ifind(content, "charset=", 0);
    if (c != std::string_view::npos) {
      auto v = content.substr(c + 8);
      v = v.substr(0, v.find_first_of("; \"'"));
      out.charset = lower(v);
    }
  }
}

// Reads the start tag whose name begins at `name_start`; the position to scan
// on from: after the tag or, for raw text (script, style, textarea, title),
// at its end tag, since nothing inside is markup.
inline std::size_t read_tag(std::string_view html, std::size_t name_start, scan_state& st) {
  auto name_end = name_start;
  while (name_end < html.size() && !is_space(html[name_end]) && html[name_end] != '>'
         && html[name_end] != '/')
    ++name_end;
  auto name = html.substr(name_start, name_end - name_start);
  tag_reader reader{html, name_end};
  auto is = [&](std::string_view t) { return iequals(name, t); };
  if (is("a") || is("area") || is("link") || is("frame") || is("iframe") || is("base")) {
    read_link(name, reader, st);
    return reader.end();
  }
  if (is("meta")) {
    read_meta(reader, st.agent, st.out);
    return reader.end();
  }
  auto pos = reader.end();
  if (!(is("script") || is("style") || is("textarea") || is("title")))
    return pos;
  auto close = ifind(html, std::string{"</"} + std::string{name}, pos);
  auto text_end = close == std::string_view::npos ? html.size() : close;
  if (is("title") && !st.have_title) {
    st.out.title = collapse_text(html.substr(pos, text_end - pos));
    st.have_title = true;
  }
  return text_end;
}

} // namespace

html_scan scan_html(std::string_view html, std::string_view agent) {
  html_scan out;
  scan_state st{out, agent};
  std::size_t pos = 0;
  while (true) {
    pos = html.find('<', pos);
    if (pos == std::string_view::npos || pos + 1 >= html.size())
      break;
    auto next = html[pos + 1];
    if (next == '!' || next == '/' || next == '?')
      pos = skip_markup(html, pos, next);
    else if ((next >= 'a' && next <= 'z') || (next >= 'A' && next <= 'Z'))
      pos = read_tag(html, pos + 1, st);
    else
      ++pos; // a '<' in text
  }
  return out;
}

} // namespace arachne
