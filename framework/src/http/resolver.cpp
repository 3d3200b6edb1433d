#include "http/resolver.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include <ares.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "caf/sec.hpp"

namespace arachne::http_detail {

namespace asio = boost::asio; // from <boost/asio.hpp>
using tcp = asio::ip::tcp;

namespace {

caf::error invalid(std::string what) {
  return caf::make_error(caf::sec::invalid_argument, std::move(what));
}

// c-ares's own time limit per try and its tries; the session's deadline
// (--connect-timeout) bounds the whole lookup anyway.
constexpr int query_timeout_ms = 2000;
constexpr int query_tries = 3;

} // namespace

caf::expected<std::string> parse_dns_servers(const std::vector<std::string>& entries) {
  std::string out;
  for (auto& entry : entries) {
    auto bad = [&] {
      return invalid("--dns-server expects ADDRESS[:PORT] (an IPv6 address in brackets), not '"
                     + entry + "'");
    };
    std::string address = entry;
    std::string port;
    if (!entry.empty() && entry.front() == '[') {
      auto close = entry.find(']');
      if (close == std::string::npos)
        return bad();
      address = entry.substr(1, close - 1);
      if (close + 1 < entry.size()) {
        if (entry[close + 1] != ':')
          return bad();
        port = entry.substr(close + 2);
      }
    } else if (auto colon = entry.find(':'); colon != std::string::npos) {
      address = entry.substr(0, colon);
      port = entry.substr(colon + 1);
    }
    boost::system::error_code ec;
    auto parsed = asio::ip::make_address(address, ec);
    if (ec)
      return bad();
    if (!port.empty()) {
      char* end = nullptr;
      auto n = std::strtoul(port.c_str(), &end, 10);
      if (*end != '\0' || n == 0 || n > 65535)
        return bad();
    }
    if (!out.empty())
      out += ',';
    out += parsed.is_v6() ? "[" + parsed.to_string() + "]" : parsed.to_string();
    if (!port.empty())
      out += ":" + port;
  }
  return out;
}

caf::expected<int> parse_ip_version(const std::string& text) {
  if (text == "any")
    return AF_UNSPEC;
  if (text == "4")
    return AF_INET;
  if (text == "6")
    return AF_INET6;
  return invalid("--ip-version expects any, 4 or 6, not '" + text + "'");
}

struct resolver::channel {
  ares_channel handle = nullptr;
};

/// One socket c-ares uses, watched (not owned: c-ares closes it).
struct resolver::watched {
  watched(asio::io_context& ioc, int fd) : descriptor(ioc), fd(fd) {}
  asio::posix::stream_descriptor descriptor;
  int fd;
  bool want_read = false;
  bool want_write = false;
  bool reading = false;
  bool writing = false;
  bool closed = false;
};

/// What c-ares carries for one lookup until it answers.
struct resolver::query {
  resolver* owner;
  uint64_t id;
  uint16_t port;
};

resolver::resolver(asio::io_context& ioc, const resolver_settings& settings)
  : ioc_(ioc), family_(settings.family), channel_(std::make_unique<channel>()), timer_(ioc) {
  static std::once_flag library;
  std::call_once(library, [] { ares_library_init(ARES_LIB_INIT_ALL); });
  ares_options opts{};
  opts.sock_state_cb = &resolver::on_socket_state;
  opts.sock_state_cb_data = this;
  opts.timeout = query_timeout_ms;
  opts.tries = query_tries;
  auto rc = ares_init_options(&channel_->handle, &opts,
                              ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES);
  if (rc != ARES_SUCCESS) {
    init_error_ = std::string{"cannot start the resolver: "} + ares_strerror(rc);
    channel_->handle = nullptr;
    return;
  }
  if (!settings.servers.empty()) {
    rc = ares_set_servers_ports_csv(channel_->handle, settings.servers.c_str());
    if (rc != ARES_SUCCESS)
      init_error_ = "cannot use the DNS servers '" + settings.servers + "': " + ares_strerror(rc);
  }
}

resolver::~resolver() {
  shutdown();
  if (channel_->handle)
    ares_destroy(channel_->handle);
}

void resolver::shutdown() {
  // Handlers hold sessions: dropped first, so that the callbacks c-ares
  // makes when cancelled (ARES_ECANCELLED) find nothing to call.
  stopped_ = true;
  pending_.clear();
  timer_.cancel();
  for (auto& [fd, w] : sockets_) {
    w->closed = true;
    w->descriptor.release(); // (cancels its waits; c-ares closes its sockets itself)
  }
  sockets_.clear();
  if (channel_->handle)
    ares_cancel(channel_->handle);
}

uint64_t resolver::resolve(const std::string& host, uint16_t port, handler done) {
  auto id = ++next_id_;
  if (!channel_->handle || !init_error_.empty() || stopped_) {
    auto error = stopped_ ? std::string{"the client is stopping"} : init_error_;
    asio::post(ioc_, [done = std::move(done), error] { done(error, {}); });
    return id;
  }
  pending_.emplace(id, std::move(done));
  ares_addrinfo_hints hints{};
  hints.ai_family = family_;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = ARES_AI_NUMERICSERV;
  auto service = std::to_string(port);
  ares_getaddrinfo(channel_->handle, host.c_str(), service.c_str(), &hints, &resolver::on_answer,
                   new query{this, id, port});
  schedule();
  return id;
}

void resolver::abandon(uint64_t id) {
  pending_.erase(id);
}

void resolver::on_answer(void* arg, int status, int, ::ares_addrinfo* result) {
  std::unique_ptr<query> q{static_cast<query*>(arg)};
  std::unique_ptr<ares_addrinfo, void (*)(ares_addrinfo*)> owned{result, &ares_freeaddrinfo};
  if (status == ARES_EDESTRUCTION)
    return; // (the resolver is going away)
  auto* self = q->owner;
  auto i = self->pending_.find(q->id);
  if (i == self->pending_.end())
    return; // abandoned
  auto done = std::move(i->second);
  self->pending_.erase(i);
  answer a;
  std::string error;
  if (status != ARES_SUCCESS) {
    error = ares_strerror(status);
  } else {
    // The shortest time to live of the answer's records, CNAMEs included.
    int ttl = -1;
    for (auto* n = result ? result->nodes : nullptr; n != nullptr; n = n->ai_next) {
      if (n->ai_family == AF_INET) {
        auto* sin = reinterpret_cast<const sockaddr_in*>(n->ai_addr);
        asio::ip::address_v4::bytes_type bytes;
        std::memcpy(bytes.data(), &sin->sin_addr, bytes.size());
        a.endpoints.emplace_back(asio::ip::address_v4{bytes}, q->port);
      } else if (n->ai_family == AF_INET6) {
        auto* sin6 = reinterpret_cast<const sockaddr_in6*>(n->ai_addr);
        asio::ip::address_v6::bytes_type bytes;
        std::memcpy(bytes.data(), &sin6->sin6_addr, bytes.size());
        a.endpoints.emplace_back(asio::ip::address_v6{bytes, sin6->sin6_scope_id}, q->port);
      } else {
        continue;
      }
      ttl = ttl < 0 ? n->ai_ttl : std::min(ttl, n->ai_ttl);
    }
    for (auto* c = result ? result->cnames : nullptr; c != nullptr; c = c->next)
      ttl = ttl < 0 ? c->ttl : std::min(ttl, c->ttl);
    a.ttl = std::chrono::seconds{std::max(ttl, 0)};
    if (a.endpoints.empty())
      error = "no address of the asked family";
  }
  // Not from inside c-ares: the handler may start another lookup.
  asio::post(self->ioc_, [done = std::move(done), error = std::move(error), a = std::move(a)]() mutable {
    done(error, std::move(a));
  });
}

// -- c-ares's sockets and timers on the io_context ----------------------------------

void resolver::on_socket_state(void* data, int fd, int readable, int writable) {
  static_cast<resolver*>(data)->watch(fd, readable != 0, writable != 0);
}

void resolver::watch(int fd, bool readable, bool writable) {
  if (stopped_)
    return;
  auto i = sockets_.find(fd);
  if (!readable && !writable) {
    // c-ares is done with the socket and closes it.
    if (i != sockets_.end()) {
      i->second->closed = true;
      i->second->descriptor.release();
      sockets_.erase(i);
    }
    return;
  }
  if (i == sockets_.end()) {
    // Called from inside c-ares: nothing may throw through its C frames. A
    // socket that cannot be watched is left to c-ares's own timeout.
    try {
      auto w = std::make_shared<watched>(ioc_, fd);
      boost::system::error_code ec;
      w->descriptor.assign(fd, ec);
      if (ec)
        return;
      i = sockets_.emplace(fd, std::move(w)).first;
    } catch (...) {
      return;
    }
  }
  auto w = i->second;
  w->want_read = readable;
  w->want_write = writable;
  arm(w);
}

void resolver::arm(const std::shared_ptr<watched>& w) {
  if (w->closed)
    return;
  if (w->want_read && !w->reading) {
    w->reading = true;
    w->descriptor.async_wait(asio::posix::descriptor_base::wait_read,
                             [this, w](const boost::system::error_code& ec) {
                               w->reading = false;
                               if (ec || w->closed)
                                 return;
                               process(w->fd, ARES_SOCKET_BAD);
                               arm(w);
                             });
  }
  if (w->want_write && !w->writing) {
    w->writing = true;
    w->descriptor.async_wait(asio::posix::descriptor_base::wait_write,
                             [this, w](const boost::system::error_code& ec) {
                               w->writing = false;
                               if (ec || w->closed)
                                 return;
                               process(ARES_SOCKET_BAD, w->fd);
                               arm(w);
                             });
  }
}

void resolver::process(int read_fd, int write_fd) {
  if (channel_->handle)
    ares_process_fd(channel_->handle, read_fd, write_fd);
  schedule();
}

// c-ares's next timeout (a retry, a query given up) as the timer's.
void resolver::schedule() {
  if (!channel_->handle || stopped_)
    return;
  timeval tv{};
  if (ares_timeout(channel_->handle, nullptr, &tv) == nullptr) {
    timer_.cancel();
    return;
  }
  // (c-ares rounds down to whole milliseconds: one more, lest the timer
  // fire again and again before the query is due.)
  timer_.expires_after(std::chrono::seconds{tv.tv_sec} + std::chrono::microseconds{tv.tv_usec}
                       + std::chrono::milliseconds{1});
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec)
      process(ARES_SOCKET_BAD, ARES_SOCKET_BAD);
  });
}

} // namespace arachne::http_detail
