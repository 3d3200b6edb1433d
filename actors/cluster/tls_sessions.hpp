#pragma once

// How this process's cluster connections use TLS beyond what CAF's OpenSSL
// transport does: the certificate, key and CA are read once and served from
// memory to every connection's context, and pending handshakes are capped
// (tls_sessions.cpp says why).

#include <dlfcn.h>

#include <string>

#include <openssl/types.h>

#include "arachne/config.hpp"

namespace arachne {

/// Reads --cluster-cert, --cluster-key and --cluster-ca for every later TLS
/// connection of the cluster (the first call; later ones only set the cap
/// of pending handshakes, `c.handshakes`). Nothing for an insecure cluster.
/// An error text when a file does not load.
std::string prepare_cluster_tls(const cluster_options& c);

namespace detail {

/// libssl's own definition of `name`, which a definition in this program
/// (openssl_errors.cpp, tls_sessions.cpp) takes the place of.
template <class F>
F libssl(const char* name) {
  return reinterpret_cast<F>(dlsym(RTLD_NEXT, name));
}

/// After SSL_accept returned `ret` on `ssl` (openssl_errors.cpp calls it).
void note_tls_accept(SSL* ssl, int ret);

} // namespace detail

} // namespace arachne
