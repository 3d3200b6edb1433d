#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "arachne/sink.hpp"

namespace arachne {

/// Writes every fetched page as a WARC/1.1 (ISO 28500) `request` and
/// `response` record pair after one `warcinfo` record per file: the request
/// as sent, the response headers as received and the decoded body (framing
/// headers rewritten to match: no Content-Encoding or Transfer-Encoding, an
/// exact Content-Length), with `WARC-Target-URI`, `WARC-Date`,
/// `WARC-Record-ID`, `WARC-IP-Address`, `WARC-Concurrent-To`, and sha1
/// base32 `WARC-Block-Digest` and `WARC-Payload-Digest`. A page fetched again
/// (--recrawl) that the server answered 304 (`page_change::not_modified`) or
/// whose payload digest is the last one (`unchanged`) is a `revisit` record
/// instead (WARC 1.1 section 6.7, profile server-not-modified or
/// identical-payload-digest): the response head without a body, with
/// `WARC-Refers-To-Target-URI`, `WARC-Refers-To-Date` and the payload's
/// digest. A path ending in `.gz` makes each record its own gzip member.
/// When a file passes `max_bytes`, the next record starts a new one:
/// `name-00001.warc.gz`, ... Failures and items are not fetched pages;
/// other sinks keep them.
class warc_sink : public sink_base {
public:
  /// With `append`, records are added to the file(s) instead of replacing them.
  warc_sink(std::string path, uint64_t max_bytes, bool append = false);
  ~warc_sink() override;

  sink_needs open(const crawl_info& info) override;
  void store(std::vector<record>& records) override;
  void flush() override;

  /// The files written so far, in order.
  const std::vector<std::string>& files() const noexcept;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace arachne
