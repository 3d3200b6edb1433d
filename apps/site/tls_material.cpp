#include "tls_material.hpp"

#include <memory>
#include <stdexcept>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

namespace arachne::site {

namespace {

template <class T, void (*Free)(T*)>
struct deleter {
  void operator()(T* p) const noexcept { Free(p); }
};

using pkey_ptr = std::unique_ptr<EVP_PKEY, deleter<EVP_PKEY, EVP_PKEY_free>>;
using x509_ptr = std::unique_ptr<X509, deleter<X509, X509_free>>;
using bio_ptr = std::unique_ptr<BIO, deleter<BIO, BIO_free_all>>;

[[noreturn]] void fail(const char* what) {
  throw std::runtime_error(std::string{"TLS material: "} + what + " failed");
}

pkey_ptr make_key() {
  pkey_ptr key{EVP_EC_gen("P-256")};
  if (!key)
    fail("key generation");
  return key;
}

void add_ext(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (ext == nullptr)
    fail("certificate extension");
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

x509_ptr make_cert(EVP_PKEY* key, const std::string& cn, X509* issuer,
                   std::chrono::seconds not_before, std::chrono::seconds not_after,
                   const std::string& org = "Arachne demo site") {
  x509_ptr cert{X509_new()};
  if (!cert)
    fail("X509_new");
  X509_set_version(cert.get(), 2);
  // A random 64-bit serial number.
  unsigned char serial[8];
  RAND_bytes(serial, sizeof(serial));
  serial[0] &= 0x7F;
  BIGNUM* bn = BN_bin2bn(serial, sizeof(serial), nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), static_cast<long>(not_before.count()));
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), static_cast<long>(not_after.count()));
  X509_set_pubkey(cert.get(), key);
  auto* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(org.c_str()), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(cert.get(), issuer ? X509_get_subject_name(issuer) : name);
  return cert;
}

std::string to_pem(X509* cert) {
  bio_ptr bio{BIO_new(BIO_s_mem())};
  PEM_write_bio_X509(bio.get(), cert);
  char* data = nullptr;
  auto len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(len));
}

std::string to_pem(EVP_PKEY* key) {
  bio_ptr bio{BIO_new(BIO_s_mem())};
  PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  auto len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(len));
}

pkey_ptr read_key(const std::string& pem) {
  bio_ptr bio{BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()))};
  pkey_ptr key{PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr)};
  if (!key)
    fail("reading the CA key");
  return key;
}

x509_ptr read_cert(const std::string& pem) {
  bio_ptr bio{BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()))};
  x509_ptr cert{PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)};
  if (!cert)
    fail("reading the CA certificate");
  return cert;
}

std::string san_of(const tls_request& req) {
  std::string san;
  for (auto& ip : req.ip_names)
    san += (san.empty() ? "IP:" : ",IP:") + ip;
  for (auto& dns : req.dns_names)
    san += (san.empty() ? "DNS:" : ",DNS:") + dns;
  return san;
}

} // namespace

pem_pair make_ca(const std::string& org, std::chrono::seconds not_after) {
  auto key = make_key();
  auto ca = make_cert(key.get(), org + " CA", nullptr, std::chrono::seconds{-3600}, not_after, org);
  add_ext(ca.get(), ca.get(), NID_basic_constraints, "critical,CA:TRUE");
  add_ext(ca.get(), ca.get(), NID_key_usage, "critical,keyCertSign,cRLSign");
  add_ext(ca.get(), ca.get(), NID_subject_key_identifier, "hash");
  if (X509_sign(ca.get(), key.get(), EVP_sha256()) == 0)
    fail("signing the CA");
  return {to_pem(ca.get()), to_pem(key.get())};
}

pem_pair make_peer_cert(const pem_pair& ca_pem, const std::string& org, const std::string& cn,
                        const tls_request& req) {
  auto ca_key = read_key(ca_pem.key_pem);
  auto ca = read_cert(ca_pem.cert_pem);
  auto key = make_key();
  auto cert = make_cert(key.get(), cn, ca.get(), req.not_before, req.not_after, org);
  add_ext(cert.get(), ca.get(), NID_basic_constraints, "critical,CA:FALSE");
  add_ext(cert.get(), ca.get(), NID_key_usage, "critical,digitalSignature,keyEncipherment");
  add_ext(cert.get(), ca.get(), NID_ext_key_usage, "serverAuth,clientAuth");
  add_ext(cert.get(), ca.get(), NID_authority_key_identifier, "keyid:always");
  if (auto san = san_of(req); !san.empty())
    add_ext(cert.get(), ca.get(), NID_subject_alt_name, san);
  if (X509_sign(cert.get(), ca_key.get(), EVP_sha256()) == 0)
    fail("signing the certificate");
  return {to_pem(cert.get()), to_pem(key.get())};
}

tls_material make_tls_material(const tls_request& req) {
  // The CA: self-signed, allowed to sign certificates only.
  auto ca_key = make_key();
  auto ca = make_cert(ca_key.get(), "Arachne demo site CA", nullptr,
                      std::chrono::seconds{-3600}, std::chrono::seconds{365 * 86400});
  add_ext(ca.get(), ca.get(), NID_basic_constraints, "critical,CA:TRUE");
  add_ext(ca.get(), ca.get(), NID_key_usage, "critical,keyCertSign,cRLSign");
  add_ext(ca.get(), ca.get(), NID_subject_key_identifier, "hash");
  if (X509_sign(ca.get(), ca_key.get(), EVP_sha256()) == 0)
    fail("signing the CA");
  // The server certificate, naming every host in subjectAltName.
  auto key = make_key();
  auto san = san_of(req);
  auto cn = !req.dns_names.empty() ? req.dns_names.front()
                                   : !req.ip_names.empty() ? req.ip_names.front() : "localhost";
  auto cert = make_cert(key.get(), cn, ca.get(), req.not_before, req.not_after);
  add_ext(cert.get(), ca.get(), NID_basic_constraints, "critical,CA:FALSE");
  add_ext(cert.get(), ca.get(), NID_key_usage, "critical,digitalSignature,keyEncipherment");
  add_ext(cert.get(), ca.get(), NID_ext_key_usage, "serverAuth");
  add_ext(cert.get(), ca.get(), NID_authority_key_identifier, "keyid:always");
  if (!san.empty())
    add_ext(cert.get(), ca.get(), NID_subject_alt_name, san);
  if (X509_sign(cert.get(), ca_key.get(), EVP_sha256()) == 0)
    fail("signing the server certificate");
  return {to_pem(ca.get()), to_pem(cert.get()), to_pem(key.get())};
}

} // namespace arachne::site
