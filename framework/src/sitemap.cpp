#include "arachne/sitemap.hpp"

#include <algorithm>
#include <cstring>
#include <memory>
#include <mutex>

#include <libxml/parser.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlreader.h>
#include <libxml/xmlversion.h>

#include "http/content_decoder.hpp"
#include "text.hpp"

namespace arachne {

namespace {

using http_detail::content_decoder;

// sitemaps.org asks for URLs "less than 2,048 characters"; longer ones are refused.
constexpr std::size_t max_loc_length = 2048;

// Compressed bytes fed to the decoder at once. DEFLATE expands at most ~1032
// times, so one slice decodes to at most ~4 MiB: the decoded file is never
// held whole, however large it is.
constexpr std::size_t gzip_slice = 4096;

// A bomb is only judged after this much output, as content_decoder does.
constexpr uint64_t ratio_floor = 1u << 20;

constexpr std::string_view too_long_loc = "a <loc> longer than 2,048 characters";
constexpr std::string_view too_long_line = "a URL longer than 2,048 characters";
constexpr std::string_view missing_loc = "an entry without <loc>";

constexpr std::string_view change_freq_names[] = {"",        "always", "hourly", "daily",
                                                  "weekly",  "monthly", "yearly", "never"};

bool is_space(char c) noexcept {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

bool is_digit(char c) noexcept {
  return c >= '0' && c <= '9';
}

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && is_space(s.front()))
    s.remove_prefix(1);
  while (!s.empty() && is_space(s.back()))
    s.remove_suffix(1);
  return s;
}

// -- W3C Datetime --

// Reads `n` digits at `s[i]` into `v` and moves `i` past them.
bool read_digits(std::string_view s, std::size_t& i, std::size_t n, int& v) noexcept {
  if (s.size() - i < n)
    return false;
  v = 0;
  for (std::size_t k = 0; k < n; ++k, ++i) {
    if (!is_digit(s[i]))
      return false;
    v = v * 10 + (s[i] - '0');
  }
  return true;
}

// Moves `i` past `c` if it is there.
bool read_char(std::string_view s, std::size_t& i, char c) noexcept {
  if (i >= s.size() || s[i] != c)
    return false;
  ++i;
  return true;
}

int days_in_month(int year, int month) noexcept {
  static constexpr int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return month == 2 && leap ? 29 : days[month - 1];
}

// If `s` from `i` on is exactly a time zone designator (Z, +hh:mm or
// -hh:mm), its offset east of UTC in seconds.
std::optional<int> read_tzd(std::string_view s, std::size_t i) noexcept {
  if (s.substr(i) == "Z")
    return 0;
  int sign = i < s.size() && s[i] == '-' ? -1 : 1;
  if (!read_char(s, i, '+') && !read_char(s, i, '-'))
    return std::nullopt;
  int hh = 0;
  int mm = 0;
  if (!read_digits(s, i, 2, hh) || !read_char(s, i, ':') || !read_digits(s, i, 2, mm)
      || i != s.size() || hh > 23 || mm > 59)
    return std::nullopt;
  return sign * (hh * 3600 + mm * 60);
}

// Days from 1970-01-01 to year-month-day (proleptic Gregorian calendar).
int64_t days_from_civil(int64_t y, int m, int d) noexcept {
  y -= m <= 2;
  auto era = (y >= 0 ? y : y - 399) / 400;
  auto yoe = y - era * 400;
  auto doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  auto doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

// -- field values --

// A <priority>: digits with an optional fraction, 0.0 to 1.0; -1 otherwise.
float parse_priority(std::string_view s) noexcept {
  s = trim(s);
  std::size_t i = 0;
  double v = 0;
  for (; i < s.size() && is_digit(s[i]); ++i)
    v = v * 10 + (s[i] - '0');
  if (i == 0)
    return -1;
  if (i < s.size()) {
    if (s[i++] != '.' || i == s.size())
      return -1;
    double scale = 0.1;
    for (; i < s.size() && is_digit(s[i]); ++i, scale /= 10)
      v += (s[i] - '0') * scale;
    if (i != s.size())
      return -1;
  }
  return v <= 1.0 ? static_cast<float>(v) : -1.0f;
}

// Text collected up to a cap: leading whitespace is dropped, and what goes past
// the cap marks an overflow unless it is whitespace (which trimming removes).
class capped_text {
public:
  explicit capped_text(std::size_t cap) : cap_(cap) {}

  void append(std::string_view s) {
    if (text_.empty())
      s = s.substr(std::min(s.size(), s.find_first_not_of(" \t\r\n")));
    auto fits = std::min(s.size(), cap_ - text_.size());
    text_.append(s.data(), fits);
    s.remove_prefix(fits);
    if (std::any_of(s.begin(), s.end(), [](char c) { return !is_space(c); }))
      overflow_ = true;
  }

  void clear() {
    text_.clear();
    overflow_ = false;
  }

  std::string_view value() const noexcept { return trim(text_); }

  bool overflow() const noexcept { return overflow_; }

private:
  std::size_t cap_;
  std::string text_;
  bool overflow_ = false;
};

// -- results --

// Takes entries into a sitemap_file within its limits and records refusals.
struct collector {
  sitemap_file& file;
  const sitemap_limits& limits;
  std::string over_limit = "more than " + std::to_string(limits.max_urls) + " URLs in one sitemap";

  void refuse(std::string_view why) {
    auto& refused = file.refused;
    auto i = std::find_if(refused.begin(), refused.end(),
                          [&](const auto& r) { return r.first == why; });
    if (i == refused.end())
      refused.emplace_back(std::string{why}, 1);
    else
      ++i->second;
  }

  void offer(sitemap_entry&& e) {
    if (file.entries.size() >= limits.max_urls)
      refuse(over_limit);
    else
      file.entries.push_back(std::move(e));
  }

  // Records an error; the first one wins.
  void fail(crawl_errc e, std::string message) {
    if (file.error != crawl_errc::none)
      return;
    file.error = e;
    file.error_message = std::move(message);
  }
};

// -- decoded input --

// The body's text in pieces, gunzipped on the fly if it is gzip, cut at
// max_bytes. A piece stays valid until the next call to next().
class decoded_stream {
public:
  decoded_stream(std::string_view body, const sitemap_limits& limits)
    : body_(body), max_bytes_(limits.max_bytes), max_ratio_(limits.max_ratio) {
    if (body.size() >= 2 && static_cast<unsigned char>(body[0]) == 0x1f
        && static_cast<unsigned char>(body[1]) == 0x8b)
      decoder_ = std::make_unique<content_decoder>(content_decoder::coding::gzip, max_bytes_,
                                                   max_ratio_);
  }

  // The next piece of text; empty at the end or after an error.
  std::string_view next() {
    if (!rest_.empty())
      return std::exchange(rest_, std::string_view{});
    return decoder_ ? pull_gzip() : pull_plain();
  }

  // Skips a UTF-8 byte order mark and whitespace; the first other byte, or 0 at the end.
  char skip_leading_space() {
    auto piece = next();
    if (piece.size() < 3) {
      // A piece may be shorter than the byte order mark: gather three bytes.
      head_.assign(piece.data(), piece.size());
      for (auto p = piece; head_.size() < 3 && !(p = next()).empty();)
        head_.append(p.data(), p.size());
      piece = head_;
    }
    rest_ = piece;
    if (rest_.substr(0, 3) == "\xEF\xBB\xBF")
      rest_.remove_prefix(3);
    for (;;) {
      while (!rest_.empty() && is_space(rest_.front()))
        rest_.remove_prefix(1);
      if (!rest_.empty())
        return rest_.front();
      if ((rest_ = next()).empty())
        return '\0';
    }
  }

  crawl_errc error() const noexcept { return error_; }

  const std::string& message() const noexcept { return message_; }

private:
  std::string_view pull_plain() {
    if (ended_)
      return {};
    ended_ = true;
    if (body_.size() > max_bytes_)
      fail(crawl_errc::too_large, "sitemap larger than " + std::to_string(max_bytes_) + " bytes");
    return body_.substr(0, max_bytes_);
  }

  std::string_view pull_gzip() {
    while (!ended_) {
      if (pos_ == body_.size()) {
        ended_ = true;
        if (decoder_->finish() != crawl_errc::none)
          fail(crawl_errc::decode_failed, decoder_->message()); // "truncated gzip body"
        return {};
      }
      auto slice = body_.substr(pos_, gzip_slice);
      pos_ += slice.size();
      encoded_ += slice.size();
      out_.clear();
      check(decoder_->feed(slice, out_));
      if (!out_.empty())
        return out_;
    }
    return {};
  }

  // Applies the limits to the whole file so far: the decoder only sees one
  // slice's output at a time.
  void check(crawl_errc rc) {
    auto room = max_bytes_ - std::min(max_bytes_, decoded_);
    if (out_.size() > room || (rc == crawl_errc::too_large && out_.size() == room)) {
      out_.resize(room);
      fail(crawl_errc::too_large,
           "sitemap larger than " + std::to_string(max_bytes_) + " bytes uncompressed");
    } else if (rc != crawl_errc::none) {
      fail(rc, decoder_->message()); // a bomb or corrupt data
    }
    decoded_ += out_.size();
    if (error_ == crawl_errc::none && max_ratio_ > 0 && decoded_ > ratio_floor
        && decoded_ / std::max<uint64_t>(1, encoded_) > max_ratio_)
      fail(crawl_errc::too_large, "compression ratio above " + std::to_string(max_ratio_)
                                    + " (a decompression bomb?)");
  }

  void fail(crawl_errc e, std::string message) {
    ended_ = true;
    if (error_ == crawl_errc::none) {
      error_ = e;
      message_ = std::move(message);
    }
  }

  std::string_view body_;
  uint64_t max_bytes_;
  uint32_t max_ratio_;
  std::unique_ptr<content_decoder> decoder_;
  std::size_t pos_ = 0;
  uint64_t encoded_ = 0;
  uint64_t decoded_ = 0;
  std::string out_;
  std::string head_;
  std::string_view rest_;
  bool ended_ = false;
  crawl_errc error_ = crawl_errc::none;
  std::string message_;
};

// -- text sitemaps --

void take_line(const capped_text& line, collector& out) {
  auto v = line.value();
  if (v.empty())
    return;
  if (line.overflow() || v.size() > max_loc_length)
    out.refuse(too_long_line);
  else
    out.offer(sitemap_entry{std::string{v}, {}, change_freq::unknown, -1});
}

void read_text(decoded_stream& in, collector& out) {
  out.file.kind = sitemap_file::kind_t::text;
  capped_text line{max_loc_length + 1};
  for (auto piece = in.next(); !piece.empty(); piece = in.next()) {
    for (auto nl = piece.find('\n'); nl != std::string_view::npos; nl = piece.find('\n')) {
      line.append(piece.substr(0, nl));
      take_line(line, out);
      line.clear();
      piece.remove_prefix(nl + 1);
    }
    line.append(piece);
  }
  // A last line cut by an error is not taken: it may be half a URL.
  if (in.error() == crawl_errc::none)
    take_line(line, out);
  else
    out.fail(in.error(), in.message());
}

// -- XML sitemaps --

struct free_reader {
  void operator()(xmlTextReaderPtr r) const noexcept { xmlFreeTextReader(r); }
};

using reader_ptr = std::unique_ptr<xmlTextReader, free_reader>;

// Where libxml2's reader pulls its bytes from.
struct xml_input {
  decoded_stream& stream;
  std::string_view piece;
  std::string head; // the first bytes given, to name the root if parsing fails before it
};

constexpr std::size_t head_size = 4096;

int read_input(void* ctx, char* buf, int len) {
  auto& in = *static_cast<xml_input*>(ctx);
  while (in.piece.empty()) {
    in.piece = in.stream.next();
    if (in.piece.empty())
      return in.stream.error() == crawl_errc::none ? 0 : -1;
  }
  auto n = std::min(in.piece.size(), static_cast<std::size_t>(std::max(len, 0)));
  std::memcpy(buf, in.piece.data(), n);
  if (in.head.size() < head_size)
    in.head.append(in.piece.data(), std::min(n, head_size - in.head.size()));
  in.piece.remove_prefix(n);
  return static_cast<int>(n);
}

// The first errors libxml2 reported, each on one line.
struct xml_errors {
  std::string first_fatal;
  std::string first;
};

#if LIBXML_VERSION >= 21200
void on_xml_error(void* arg, const xmlError* e) {
#else
void on_xml_error(void* arg, xmlErrorPtr e) {
#endif
  auto& errs = *static_cast<xml_errors*>(arg);
  if (e == nullptr || e->level < XML_ERR_ERROR)
    return;
  std::string text = e->message != nullptr ? e->message : "malformed XML";
  std::replace_if(text.begin(), text.end(), [](char c) { return c == '\n' || c == '\r'; }, ' ');
  auto msg = "XML error at line " + std::to_string(e->line) + ": " + std::string{trim(text)};
  if (e->level == XML_ERR_FATAL && errs.first_fatal.empty())
    errs.first_fatal = msg;
  if (errs.first.empty())
    errs.first = std::move(msg);
}

// The name of the first element in `s`, past the XML declaration, processing
// instructions, comments and a DOCTYPE; empty if `s` does not show it.
std::string_view first_element_name(std::string_view s) noexcept {
  constexpr auto npos = std::string_view::npos;
  for (;;) {
    s.remove_prefix(std::min(s.size(), s.find_first_not_of(" \t\r\n")));
    std::string_view close;
    std::size_t from = 2;
    if (s.substr(0, 4) == "<!--") {
      close = "-->";
      from = 4;
    } else if (s.substr(0, 2) == "<?") {
      close = "?>";
    } else if (s.substr(0, 2) == "<!") { // a DOCTYPE, maybe with an internal subset
      close = ">";
      if (s.find('[') < s.find('>'))
        from = s.find(']');
    } else {
      break;
    }
    auto end = s.find(close, from);
    if (end == npos)
      return {};
    s.remove_prefix(end + close.size());
  }
  auto stop = s.find_first_of(" \t\r\n/>");
  if (s.size() < 2 || s[0] != '<' || stop == npos)
    return {};
  return s.substr(1, stop - 1);
}

// What went wrong when the reader failed on its own (not on the input).
std::string xml_failure(const xml_input& in, const xml_errors& errs, sitemap_file::kind_t kind) {
  // Before the root element was seen (an HTML page breaks XML early): name it.
  auto name = first_element_name(in.head);
  auto local = name.substr(name.find(':') + 1);
  if (kind == sitemap_file::kind_t::unknown && !name.empty() && local != "urlset"
      && local != "sitemapindex")
    return "not a sitemap: the root element is <" + std::string{name} + ">";
  if (!errs.first_fatal.empty())
    return errs.first_fatal;
  return !errs.first.empty() ? errs.first : std::string{"malformed XML"};
}

std::string_view as_view(const xmlChar* s) noexcept {
  return s == nullptr ? std::string_view{} : std::string_view{reinterpret_cast<const char*>(s)};
}

enum class field { none, loc, lastmod, changefreq, priority };

// Follows the reader's nodes through a <urlset> or <sitemapindex>.
class xml_walker {
public:
  explicit xml_walker(collector& out) : out_(out) {}

  // Handles the reader's current node; false to stop reading.
  bool on_node(xmlTextReaderPtr r) {
    auto type = xmlTextReaderNodeType(r);
    auto depth = xmlTextReaderDepth(r);
    if (type == XML_READER_TYPE_ELEMENT && depth == 0)
      return on_root(r);
    if (type == XML_READER_TYPE_ELEMENT)
      on_element(r, depth);
    else if (type == XML_READER_TYPE_END_ELEMENT)
      on_end(depth);
    else if (field_ != field::none && depth == 3 && is_text(type))
      text_.append(as_view(xmlTextReaderConstValue(r)));
    return true;
  }

private:
  static bool is_text(int type) noexcept {
    return type == XML_READER_TYPE_TEXT || type == XML_READER_TYPE_CDATA
           || type == XML_READER_TYPE_SIGNIFICANT_WHITESPACE
           || type == XML_READER_TYPE_WHITESPACE;
  }

  bool on_root(xmlTextReaderPtr r) {
    auto name = as_view(xmlTextReaderConstLocalName(r));
    ns_ = std::string{as_view(xmlTextReaderConstNamespaceUri(r))};
    if (name == "urlset") {
      out_.file.kind = sitemap_file::kind_t::urlset;
      entry_name_ = "url";
    } else if (name == "sitemapindex") {
      out_.file.kind = sitemap_file::kind_t::index;
      entry_name_ = "sitemap";
    } else {
      out_.fail(crawl_errc::decode_failed, "not a sitemap: the root element is <"
                                             + std::string{as_view(xmlTextReaderConstName(r))}
                                             + ">");
      return false;
    }
    return true;
  }

  void on_element(xmlTextReaderPtr r, int depth) {
    // Only the root's namespace counts: <image:loc> is not the <url>'s <loc>.
    if (as_view(xmlTextReaderConstNamespaceUri(r)) != ns_)
      return;
    bool empty = xmlTextReaderIsEmptyElement(r) == 1;
    auto name = as_view(xmlTextReaderConstLocalName(r));
    if (depth == 1 && name == entry_name_) {
      in_entry_ = true;
      if (empty)
        close_entry();
    } else if (depth == 2 && in_entry_) {
      field_ = field_named(name);
      text_.clear();
      if (field_ != field::none && empty)
        close_field();
    }
  }

  void on_end(int depth) {
    if (depth == 2 && field_ != field::none)
      close_field();
    else if (depth == 1 && in_entry_)
      close_entry();
  }

  field field_named(std::string_view name) const noexcept {
    if (name == "loc")
      return field::loc;
    if (name == "lastmod")
      return field::lastmod;
    if (out_.file.kind != sitemap_file::kind_t::urlset)
      return field::none; // an index's <sitemap> has only <loc> and <lastmod>
    if (name == "changefreq")
      return field::changefreq;
    if (name == "priority")
      return field::priority;
    return field::none;
  }

  void close_field() {
    auto v = text_.value();
    bool ok = !text_.overflow();
    switch (std::exchange(field_, field::none)) {
      case field::loc:
        if (entry_.loc.empty() && !loc_too_long_) {
          loc_too_long_ = !ok || v.size() > max_loc_length;
          if (!loc_too_long_)
            entry_.loc = std::string{v};
        }
        break;
      case field::lastmod:
        entry_.lastmod = ok && is_w3c_datetime(v) ? std::string{v} : std::string{};
        break;
      case field::changefreq:
        entry_.changefreq = parse_change_freq(v).value_or(change_freq::unknown);
        break;
      case field::priority:
        entry_.priority = ok ? parse_priority(v) : -1.0f;
        break;
      case field::none:
        break;
    }
  }

  void close_entry() {
    if (loc_too_long_)
      out_.refuse(too_long_loc);
    else if (entry_.loc.empty())
      out_.refuse(missing_loc);
    else
      out_.offer(std::move(entry_));
    entry_ = sitemap_entry{};
    in_entry_ = false;
    loc_too_long_ = false;
  }

  collector& out_;
  std::string ns_;
  std::string_view entry_name_;
  bool in_entry_ = false;
  field field_ = field::none;
  capped_text text_{max_loc_length + 1};
  sitemap_entry entry_;
  bool loc_too_long_ = false;
};

std::once_flag xml_init_flag;

void read_xml(decoded_stream& stream, collector& out) {
  // Initialises libxml2's globals once, before any thread uses a reader.
  std::call_once(xml_init_flag, [] { xmlInitParser(); });
  xml_input in{stream, {}, {}};
  // No XML_PARSE_NOENT, XML_PARSE_DTDLOAD or XML_PARSE_HUGE: external entities
  // and DTDs are never loaded, entity references never expanded into the text,
  // and libxml2's size limits hold.
  reader_ptr reader{xmlReaderForIO(read_input, nullptr, &in, nullptr, nullptr,
                                   XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING)};
  if (!reader) {
    out.fail(crawl_errc::decode_failed, "cannot start libxml2's reader");
    return;
  }
  xml_errors errs;
  xmlTextReaderSetStructuredErrorHandler(reader.get(), on_xml_error, &errs);
  // The reader parses 512 bytes at a time and, when a chunk fails, drops the
  // nodes it had parsed from it: the entries ended before that chunk are kept.
  xml_walker walker{out};
  int rc = 0;
  while ((rc = xmlTextReaderRead(reader.get())) == 1)
    if (!walker.on_node(reader.get()))
      return;
  if (stream.error() != crawl_errc::none)
    out.fail(stream.error(), stream.message());
  else if (rc < 0)
    out.fail(crawl_errc::decode_failed, xml_failure(in, errs, out.file.kind));
}

} // namespace

std::string_view to_string(change_freq f) noexcept {
  auto i = static_cast<std::size_t>(f);
  return i < std::size(change_freq_names) ? change_freq_names[i] : std::string_view{};
}

std::optional<change_freq> parse_change_freq(std::string_view word) noexcept {
  word = trim(word);
  for (std::size_t i = 1; i < std::size(change_freq_names); ++i)
    if (text::iequals(word, change_freq_names[i]))
      return static_cast<change_freq>(i);
  return std::nullopt;
}

std::optional<caf::timestamp> parse_w3c_datetime(std::string_view s) noexcept {
  std::size_t i = 0;
  int year = 0;
  int month = 1;
  int day = 1;
  int hour = 0;
  int minute = 0;
  int second = 0;
  int64_t nanos = 0;
  int offset = 0;
  auto at = [&]() -> std::optional<caf::timestamp> {
    auto secs = days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second
                - offset;
    // caf::timestamp counts nanoseconds in 64 bits: 1677 to 2262. Dates
    // beyond (a lastmod of 9999-12-31, say) are its ends.
    constexpr int64_t range = 9'000'000'000; // seconds: about 285 years
    if (secs > range)
      return caf::timestamp::max();
    if (secs < -range)
      return caf::timestamp::min();
    using ns = std::chrono::nanoseconds;
    return caf::timestamp{std::chrono::duration_cast<caf::timestamp::duration>(
      ns{secs * 1000000000 + nanos})};
  };
  if (!read_digits(s, i, 4, year))
    return std::nullopt;
  if (i == s.size())
    return at(); // YYYY
  if (!read_char(s, i, '-') || !read_digits(s, i, 2, month) || month < 1 || month > 12)
    return std::nullopt;
  if (i == s.size())
    return at(); // YYYY-MM
  if (!read_char(s, i, '-') || !read_digits(s, i, 2, day) || day < 1
      || day > days_in_month(year, month))
    return std::nullopt;
  if (i == s.size())
    return at(); // YYYY-MM-DD
  if (!read_char(s, i, 'T') || !read_digits(s, i, 2, hour) || !read_char(s, i, ':')
      || !read_digits(s, i, 2, minute) || hour > 23 || minute > 59)
    return std::nullopt;
  if (read_char(s, i, ':')) {
    if (!read_digits(s, i, 2, second) || second > 59)
      return std::nullopt;
    if (read_char(s, i, '.')) {
      auto start = i;
      for (int64_t scale = 100000000; i < s.size() && is_digit(s[i]); ++i, scale /= 10)
        nanos += (s[i] - '0') * scale;
      if (i == start)
        return std::nullopt;
    }
  }
  auto tzd = read_tzd(s, i); // a time needs its zone
  if (!tzd)
    return std::nullopt;
  offset = *tzd;
  return at();
}

bool is_w3c_datetime(std::string_view s) noexcept {
  return parse_w3c_datetime(s).has_value();
}

sitemap_file read_sitemap(std::string_view body, const sitemap_limits& limits) {
  sitemap_file file;
  collector out{file, limits};
  decoded_stream stream{body, limits};
  auto first = stream.skip_leading_space();
  if (first == '\0' && stream.error() != crawl_errc::none)
    out.fail(stream.error(), stream.message()); // nothing decoded: not even its kind is known
  else if (first == '<')
    read_xml(stream, out);
  else
    read_text(stream, out); // an empty body is an empty text sitemap
  return file;
}

} // namespace arachne
