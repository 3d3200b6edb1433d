// CAF 0.17's OpenSSL transport (caf::openssl::session) reads and writes
// without clearing OpenSSL's per-thread error queue first, and leaves the
// errors of a failed connection in it. All of a process's connections run on
// one CAF thread, so when one peer dies (SIGKILL: OpenSSL 3 queues "unexpected
// EOF"), SSL_get_error on every other connection sees that stale error and
// CAF closes them all: one dead node would cut a cluster apart.
//
// OpenSSL's rule (SSL_get_error(3)) is that the queue must be empty before a
// TLS I/O call. These definitions of SSL_read, SSL_write, SSL_accept and
// SSL_connect, which take the place of libssl's for every caller in the
// process (CAF's and Beast's alike), clear it and then call libssl's own. (A
// refused handshake leaves errors too: without this, the next peer's
// handshake on the same thread could fail.) Beast clears the queue already;
// for it this changes nothing.

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "cluster/tls_sessions.hpp"

extern "C" int SSL_read(SSL* ssl, void* buf, int num) {
  static auto real = arachne::detail::libssl<int (*)(SSL*, void*, int)>("SSL_read");
  ERR_clear_error();
  return real(ssl, buf, num);
}

extern "C" int SSL_write(SSL* ssl, const void* buf, int num) {
  static auto real = arachne::detail::libssl<int (*)(SSL*, const void*, int)>("SSL_write");
  ERR_clear_error();
  return real(ssl, buf, num);
}

extern "C" int SSL_accept(SSL* ssl) {
  static auto real = arachne::detail::libssl<int (*)(SSL*)>("SSL_accept");
  ERR_clear_error();
  auto ret = real(ssl);
  arachne::detail::note_tls_accept(ssl, ret); // the cap on pending handshakes
  return ret;
}

extern "C" int SSL_connect(SSL* ssl) {
  static auto real = arachne::detail::libssl<int (*)(SSL*)>("SSL_connect");
  ERR_clear_error();
  return real(ssl);
}

namespace arachne {

/// Referenced from the cluster code so that the definitions above are linked
/// into every program that uses it.
void link_openssl_error_fix() {}

} // namespace arachne
