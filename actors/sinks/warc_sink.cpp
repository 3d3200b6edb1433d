#include "arachne/sinks/warc_sink.hpp"
#include "sinks/file_repair.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <random>
#include <stdexcept>

#include <unistd.h>
#include <zlib.h>

#include "arachne/json.hpp"
#include "arachne/revisit.hpp"

namespace arachne {

namespace {

const char* reason(uint16_t status) {
  switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 410: return "Gone";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "";
  }
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size())
    return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

/// The HTTP response head as stored: the status line and the headers as
/// received except the framing ones a stored body no longer matches (it is
/// decoded, and its length is its own); no blank line yet.
std::string response_head(const record& r) {
  std::string out = "HTTP/1.1 " + std::to_string(r.status) + " " + reason(r.status) + "\r\n";
  for (auto& [name, value] : r.headers) {
    if (iequals(name, "content-encoding") || iequals(name, "transfer-encoding")
        || iequals(name, "content-length"))
      continue;
    out += name + ": " + value + "\r\n";
  }
  return out;
}

/// The profile of the `revisit` record that stands for `r`, or null if `r`
/// is stored as a `response`: a 304 to a conditional request, or a 200 whose
/// payload is the one fetched before (WARC 1.1 section 6.7). (An unchanged
/// page always has its digest; without one it could not say so.)
const char* revisit_profile(const record& r) {
  if (r.change == page_change::not_modified)
    return "http://netpreserve.org/warc/1.1/revisit/server-not-modified";
  if (r.change == page_change::unchanged && !r.digest.empty())
    return "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest";
  return nullptr;
}

std::string host_of_address(const std::string& address) {
  // "1.2.3.4:80" or "::1:80" (asio prints IPv6 without brackets here).
  auto colon = address.rfind(':');
  return colon == std::string::npos ? address : address.substr(0, colon);
}

} // namespace

struct warc_sink::impl {
  std::string path;
  uint64_t max_bytes = 0;
  bool gzip = false;
  bool append = false;
  std::size_t serial = 0; // of the last rotated file
  std::FILE* file = nullptr;
  uint64_t written = 0; // bytes in the current file
  std::vector<std::string> files;
  crawl_info info;
  std::mt19937_64 rng{std::random_device{}()};

  ~impl() {
    if (file != nullptr)
      std::fclose(file);
  }

  std::string record_id() {
    uint64_t a = rng(), b = rng();
    a = (a & 0xFFFFFFFFFFFF0FFFull) | 0x4000ull;          // version 4
    b = (b & 0x3FFFFFFFFFFFFFFFull) | 0x8000000000000000ull; // variant
    char buf[64];
    std::snprintf(buf, sizeof buf, "<urn:uuid:%08x-%04x-%04x-%04x-%012llx>",
                  static_cast<unsigned>(a >> 32), static_cast<unsigned>((a >> 16) & 0xFFFF),
                  static_cast<unsigned>(a & 0xFFFF), static_cast<unsigned>(b >> 48),
                  static_cast<unsigned long long>(b & 0xFFFFFFFFFFFFull));
    return buf;
  }

  // The `n`th file of the series: PATH, then STEM-00001.EXT, ...
  std::string series_name(std::size_t n) const {
    if (n == 0)
      return path;
    auto ext = gzip ? std::string{".warc.gz"} : std::string{".warc"};
    auto stem = path.size() > ext.size() && path.compare(path.size() - ext.size(), ext.size(), ext) == 0
                  ? path.substr(0, path.size() - ext.size())
                  : path;
    char buf[32];
    std::snprintf(buf, sizeof buf, "-%05zu", n);
    return stem + buf + ext;
  }

  std::string next_name() {
    if (files.empty())
      return path;
    // Appending (a sink opened again): never replace a file an earlier one wrote.
    for (;;) {
      auto name = series_name(++serial);
      if (!append || ::access(name.c_str(), F_OK) != 0)
        return name;
    }
  }

  // Added to after a crash: a record cut short at the end of any file of the
  // series goes first (its URL is fetched again on resume).
  void repair_series() const {
    for (std::size_t n = 0;; ++n) {
      auto name = series_name(n);
      if (::access(name.c_str(), F_OK) != 0)
        return;
      gzip ? cut_torn_gzip_tail(name) : cut_torn_warc_tail(name);
    }
  }

  void open_next() {
    if (file != nullptr) {
      sync();
      std::fclose(file);
    }
    auto name = next_name();
    if (append && files.empty())
      repair_series();
    file = std::fopen(name.c_str(), append && files.empty() ? "ab" : "wb");
    if (file == nullptr)
      throw std::runtime_error("cannot write WARC file '" + name + "': " + std::strerror(errno));
    files.push_back(name);
    std::fseek(file, 0, SEEK_END);
    written = static_cast<uint64_t>(std::max(0L, std::ftell(file)));
    auto slash = name.rfind('/');
    std::string fields = "software: Arachne/0.1\r\nformat: WARC File Format 1.1\r\n"
                         "conformsTo: http://iipc.github.io/warc-specifications/specifications/"
                         "warc-format/warc-1.1/\r\n";
    fields += "http-header-user-agent: " + info.user_agent + "\r\n";
    if (!info.crawl_id.empty())
      fields += "description: crawl " + info.crawl_id + "\r\n";
    write_record({{"WARC-Type", "warcinfo"},
                  {"WARC-Record-ID", record_id()},
                  {"WARC-Date", format_timestamp(caf::make_timestamp())},
                  {"WARC-Filename", slash == std::string::npos ? name : name.substr(slash + 1)},
                  {"Content-Type", "application/warc-fields"}},
                 fields);
  }

  void write_record(const std::vector<std::pair<std::string, std::string>>& headers,
                    std::string_view block) {
    std::string rec = "WARC/1.1\r\n";
    for (auto& [k, v] : headers)
      rec += k + ": " + v + "\r\n";
    rec += "Content-Length: " + std::to_string(block.size()) + "\r\n\r\n";
    rec += block;
    rec += "\r\n\r\n";
    if (gzip)
      rec = gzip_member(rec, 1);
    if (std::fwrite(rec.data(), 1, rec.size(), file) != rec.size())
      throw std::runtime_error("writing WARC file '" + files.back() + "': " + std::strerror(errno));
    written += rec.size();
  }

  void sync() {
    if (std::fflush(file) != 0 || ::fsync(::fileno(file)) != 0)
      throw std::runtime_error("writing WARC file '" + files.back() + "': " + std::strerror(errno));
  }
};

warc_sink::warc_sink(std::string path, uint64_t max_bytes, bool append)
  : impl_(std::make_unique<impl>()) {
  auto& d = *impl_;
  d.append = append;
  d.path = std::move(path);
  d.max_bytes = max_bytes;
  d.gzip = d.path.size() > 3 && d.path.compare(d.path.size() - 3, 3, ".gz") == 0;
}

warc_sink::~warc_sink() = default;

sink_needs warc_sink::open(const crawl_info& info) {
  auto& d = *impl_;
  d.info = info;
  if (d.file == nullptr)
    d.open_next();
  sink_needs needs;
  needs.bodies = true;
  needs.http = true;
  return needs;
}

void warc_sink::store(std::vector<record>& records) {
  auto& d = *impl_;
  if (d.file == nullptr)
    d.open_next();
  for (auto& r : records) {
    if (r.kind != record::kind_t::page || r.status == 0)
      continue;
    if (d.max_bytes > 0 && d.written >= d.max_bytes)
      d.open_next();
    auto date = format_timestamp(r.fetched_at);
    auto target = r.final_url.empty() ? r.url : r.final_url;
    auto id = d.record_id(); // the response's or revisit's
    auto profile = revisit_profile(r);
    std::vector<std::pair<std::string, std::string>> rh{
      {"WARC-Type", profile != nullptr ? "revisit" : "response"},
      {"WARC-Record-ID", id},
      {"WARC-Date", date},
      {"WARC-Target-URI", target}};
    // Through a proxy the peer is the proxy, not the site: no address then.
    if (!r.remote_address.empty() && r.proxy.empty())
      rh.emplace_back("WARC-IP-Address", host_of_address(r.remote_address));
    std::string block = response_head(r);
    if (profile != nullptr) {
      // A revisit: the response head alone, and where the payload was
      // archived (the last fetch of the same URL that brought it).
      block += "\r\n";
      rh.emplace_back("WARC-Profile", profile);
      rh.emplace_back("WARC-Refers-To-Target-URI", r.url);
      if (r.refers_to != caf::timestamp{})
        rh.emplace_back("WARC-Refers-To-Date", format_timestamp(r.refers_to));
      // Section 6.7.2: a response cut before its identical payload says so.
      if (r.change == page_change::unchanged)
        rh.emplace_back("WARC-Truncated", "length");
      rh.emplace_back("Content-Type", "application/http;msgtype=response");
      if (!r.digest.empty())
        rh.emplace_back("WARC-Payload-Digest", r.digest);
    } else {
      block += "Content-Length: " + std::to_string(r.body.size()) + "\r\n\r\n";
      block += r.body.view();
      rh.emplace_back("Content-Type", "application/http;msgtype=response");
      // A 200's digest (with a state store) is that of this very body.
      rh.emplace_back("WARC-Payload-Digest", r.status == 200 && !r.digest.empty()
                                                 ? r.digest
                                                 : payload_digest(r.body.view()));
    }
    // The same formula as a payload digest, over the whole block.
    rh.emplace_back("WARC-Block-Digest", payload_digest(block));
    d.write_record(rh, block);
    if (!r.request.empty()) {
      std::vector<std::pair<std::string, std::string>> qh{
        {"WARC-Type", "request"},
        {"WARC-Record-ID", d.record_id()},
        {"WARC-Date", date},
        {"WARC-Target-URI", target},
        {"WARC-Concurrent-To", id}};
      if (!r.remote_address.empty() && r.proxy.empty())
        qh.emplace_back("WARC-IP-Address", host_of_address(r.remote_address));
      qh.emplace_back("Content-Type", "application/http;msgtype=request");
      qh.emplace_back("WARC-Block-Digest", payload_digest(r.request));
      d.write_record(qh, r.request);
    }
  }
  // Acknowledged records are in the file (a crash of the process keeps them).
  if (std::fflush(d.file) != 0)
    throw std::runtime_error("writing WARC file '" + d.files.back() + "': " + std::strerror(errno));
}

void warc_sink::flush() {
  if (impl_->file != nullptr)
    impl_->sync();
}

const std::vector<std::string>& warc_sink::files() const noexcept {
  return impl_->files;
}

} // namespace arachne
