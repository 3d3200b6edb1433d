#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace arachne::site {

/// A private CA and one server certificate it signed, all PEM-encoded.
struct tls_material {
  std::string ca_pem;    // give this to clients as their trust anchor
  std::string cert_pem;  // server certificate
  std::string key_pem;   // server private key
};

/// What the server certificate says.
struct tls_request {
  std::vector<std::string> ip_names;   // subjectAltName IP entries
  std::vector<std::string> dns_names;  // subjectAltName DNS entries
  std::chrono::seconds not_before{-3600};       // relative to now
  std::chrono::seconds not_after{30 * 86400};   // relative to now
};

/// A certificate and its private key, PEM-encoded.
struct pem_pair {
  std::string cert_pem;
  std::string key_pem;
};

/// A fresh CA (P-256, self-signed) of organisation `org`; throws
/// std::runtime_error if OpenSSL fails.
pem_pair make_ca(const std::string& org, std::chrono::seconds not_after);

/// A certificate for `cn` (and the names in `req`) signed by `ca`, for TLS
/// servers and clients alike (mutual TLS); throws std::runtime_error.
pem_pair make_peer_cert(const pem_pair& ca, const std::string& org, const std::string& cn,
                        const tls_request& req);

/// Generates a fresh CA (P-256) and a server certificate signed by it; throws
/// std::runtime_error if OpenSSL fails.
tls_material make_tls_material(const tls_request& req);

} // namespace arachne::site
