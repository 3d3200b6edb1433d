// The cluster's TLS material, read once, and a cap on pending handshakes.
//
// CAF 0.17's OpenSSL transport (caf::openssl::session::create_ssl_context)
// builds a new TLS context for every connection, accepted or made, and reads
// the certificate chain, the private key and the CA file into it from disk
// each time. When the process has no file descriptor left (a flood of
// connections), that read fails and CAF throws from its I/O thread: the
// process terminates. These definitions of the three loading functions take
// the place of libssl's for every caller in the process (as those in
// openssl_errors.cpp do); for the cluster's own files, once
// prepare_cluster_tls has read them, they hand the context the objects in
// memory and open no file. Any other file goes to libssl's own function.
//
// A TLS handshake a process accepts holds a descriptor until it completes or
// fails; CAF drops a silent connection only once it has delivered data, so a
// connection that never finishes its handshake would stay, and a flood of
// them would fill the descriptor table. No more than --cluster-handshakes may
// be pending: for each one over that the oldest is shut down (its own
// connection sees the end of its stream, and CAF closes it); one pending
// longer than --cluster-timeout is shut down too. (While a handshake is
// pending, CAF calls SSL_accept on it again and again: the check runs.) A
// peer of the cluster finishes its handshake in milliseconds.

#include "cluster/tls_sessions.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <mutex>
#include <vector>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

namespace arachne {

void link_openssl_error_fix(); // openssl_errors.cpp

namespace {

// What --cluster-cert, --cluster-key and --cluster-ca hold; read once, kept
// for the life of the process.
struct material {
  std::string cert_path, key_path, ca_path;
  X509* leaf = nullptr;
  STACK_OF(X509)* chain = nullptr; // the certificates after the leaf
  EVP_PKEY* key = nullptr;
  X509_STORE* store = nullptr;

  material() = default;
  material(const material&) = delete;
  material& operator=(const material&) = delete;
  ~material() {
    X509_free(leaf);
    sk_X509_pop_free(chain, X509_free);
    EVP_PKEY_free(key);
    X509_STORE_free(store);
  }
};

// The handshakes this process accepted on cluster contexts and that are not
// done yet, oldest first.
struct pending_handshakes {
  std::mutex mutex;
  const material* tls = nullptr; // set once, under the mutex
  size_t limit = 256;
  std::chrono::steady_clock::duration timeout = std::chrono::seconds(5);
  struct entry {
    SSL* ssl;
    int fd;
    std::chrono::steady_clock::time_point since;
  };
  std::vector<entry> order;
  uint64_t dropped = 0;
  std::chrono::steady_clock::time_point last_notice{};
  std::chrono::steady_clock::time_point last_sweep{};
};

// Never destroyed: an SSL freed by a CAF thread during exit still finds it.
pending_handshakes& state() {
  static auto* st = new pending_handshakes;
  return *st;
}

const material* loaded() {
  auto& st = state();
  std::lock_guard<std::mutex> lock{st.mutex};
  return st.tls;
}

// Marks a context built with the cluster's material (ex_data of SSL_CTX) and
// an SSL registered as pending (ex_data of SSL: its free callback forgets it).
int context_mark() {
  static int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

void forget(SSL* ssl) {
  auto& st = state();
  auto i = std::find_if(st.order.begin(), st.order.end(), [&](auto& e) { return e.ssl == ssl; });
  if (i != st.order.end())
    st.order.erase(i);
}

// Called by SSL_free for every SSL; a registered one carries a mark and is
// forgotten. (CAF frees a session before it closes its descriptor, so a
// registered SSL's descriptor is still its own.)
void on_ssl_free(void* parent, void* ptr, CRYPTO_EX_DATA*, int, long, void*) {
  if (ptr == nullptr)
    return;
  auto& st = state();
  std::lock_guard<std::mutex> lock{st.mutex};
  forget(static_cast<SSL*>(parent));
}

int pending_mark() {
  static int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, on_ssl_free);
  return index;
}

bool is_cluster_context(SSL_CTX* ctx) {
  return ctx != nullptr && SSL_CTX_get_ex_data(ctx, context_mark()) != nullptr;
}

std::unique_ptr<BIO, decltype(&BIO_free)> open_pem(const std::string& path) {
  return {BIO_new_file(path.c_str(), "r"), &BIO_free};
}

} // namespace

std::string prepare_cluster_tls(const cluster_options& c) {
  link_openssl_error_fix();
  if (c.insecure)
    return {};
  auto& st = state();
  {
    std::lock_guard<std::mutex> lock{st.mutex};
    st.limit = std::max<size_t>(1, c.handshakes);
    if (c.timeout.count() > 0)
      st.timeout = c.timeout;
    if (st.tls != nullptr)
      return {};
  }
  pending_mark();
  context_mark();
  auto m = std::make_unique<material>();
  m->cert_path = c.cert;
  m->key_path = c.key;
  m->ca_path = c.ca;
  ERR_clear_error();
  auto certs = open_pem(c.cert);
  if (!certs || (m->leaf = PEM_read_bio_X509_AUX(certs.get(), nullptr, nullptr, nullptr)) == nullptr)
    return "--cluster-cert: '" + c.cert + "' holds no PEM certificate";
  m->chain = sk_X509_new_null();
  while (auto* more = PEM_read_bio_X509(certs.get(), nullptr, nullptr, nullptr))
    sk_X509_push(m->chain, more);
  auto key = open_pem(c.key);
  if (!key || (m->key = PEM_read_bio_PrivateKey(key.get(), nullptr, nullptr, nullptr)) == nullptr)
    return "--cluster-key: '" + c.key + "' holds no PEM private key";
  m->store = X509_STORE_new();
  if (m->store == nullptr || X509_STORE_load_file(m->store, c.ca.c_str()) != 1)
    return "--cluster-ca: '" + c.ca + "' holds no PEM certificate";
  ERR_clear_error();
  std::lock_guard<std::mutex> lock{st.mutex};
  if (st.tls == nullptr)
    st.tls = m.release(); // kept for the life of the process
  return {};
}

namespace detail {

void note_tls_accept(SSL* ssl, int ret) {
  if (!is_cluster_context(SSL_get_SSL_CTX(ssl)))
    return;
  bool pending = false;
  if (ret != 1) {
    auto err = SSL_get_error(ssl, ret);
    pending = err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE;
  }
  auto& st = state();
  std::lock_guard<std::mutex> lock{st.mutex};
  auto i = std::find_if(st.order.begin(), st.order.end(), [&](auto& e) { return e.ssl == ssl; });
  if (!pending) {
    if (i != st.order.end())
      st.order.erase(i); // done, or failed
    return;
  }
  auto now = std::chrono::steady_clock::now();
  if (i == st.order.end()) {
    SSL_set_ex_data(ssl, pending_mark(), ssl);
    st.order.push_back({ssl, SSL_get_fd(ssl), now});
  }
  // The oldest goes while there are too many, or (checked every 100 ms)
  // while it is too old. Its session is alive (it was still registered), so
  // its descriptor is still the one it accepted on.
  auto sweep = now - st.last_sweep >= std::chrono::milliseconds(100);
  if (sweep)
    st.last_sweep = now;
  size_t dropped_now = 0;
  while (!st.order.empty()
         && (st.order.size() > st.limit || (sweep && now - st.order.front().since > st.timeout))) {
    ::shutdown(st.order.front().fd, SHUT_RDWR);
    st.order.erase(st.order.begin());
    ++dropped_now;
  }
  if (dropped_now == 0)
    return;
  st.dropped += dropped_now;
  if (now - st.last_notice >= std::chrono::seconds(10)) {
    st.last_notice = now;
    std::fprintf(stderr,
                 "cluster: TLS handshakes dropped, %llu so far: more than %zu pending "
                 "(--cluster-handshakes), or pending longer than --cluster-timeout\n",
                 static_cast<unsigned long long>(st.dropped), st.limit);
  }
}

} // namespace detail

} // namespace arachne

// -- libssl's loading functions, served from memory for the cluster's files --

extern "C" int SSL_CTX_use_certificate_chain_file(SSL_CTX* ctx, const char* file) {
  static auto real = arachne::detail::libssl<int (*)(SSL_CTX*, const char*)>(
    "SSL_CTX_use_certificate_chain_file");
  auto* m = arachne::loaded();
  if (m == nullptr || file == nullptr || m->cert_path != file)
    return real(ctx, file);
  if (SSL_CTX_use_certificate(ctx, m->leaf) != 1 || SSL_CTX_set1_chain(ctx, m->chain) != 1)
    return 0;
  SSL_CTX_set_ex_data(ctx, arachne::context_mark(), const_cast<arachne::material*>(m));
  return 1;
}

extern "C" int SSL_CTX_use_PrivateKey_file(SSL_CTX* ctx, const char* file, int type) {
  static auto real = arachne::detail::libssl<int (*)(SSL_CTX*, const char*, int)>(
    "SSL_CTX_use_PrivateKey_file");
  auto* m = arachne::loaded();
  if (m == nullptr || file == nullptr || type != SSL_FILETYPE_PEM || m->key_path != file)
    return real(ctx, file, type);
  return SSL_CTX_use_PrivateKey(ctx, m->key);
}

extern "C" int SSL_CTX_load_verify_locations(SSL_CTX* ctx, const char* file, const char* path) {
  static auto real = arachne::detail::libssl<int (*)(SSL_CTX*, const char*, const char*)>(
    "SSL_CTX_load_verify_locations");
  auto* m = arachne::loaded();
  if (m == nullptr || file == nullptr || path != nullptr || m->ca_path != file)
    return real(ctx, file, path);
  SSL_CTX_set1_cert_store(ctx, m->store);
  return 1;
}
