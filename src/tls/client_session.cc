#include "tls/client_session.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <climits>
#include <cstring>

namespace udp::tls {
namespace {

// Plaintext taken out of the SSL per SSL_read: one full TLS record.
constexpr size_t kReadChunk = 16 * 1024;

bool isIpAddress(const std::string& name) {
  unsigned char buf[sizeof(in6_addr)];
  return inet_pton(AF_INET, name.c_str(), buf) == 1 || inet_pton(AF_INET6, name.c_str(), buf) == 1;
}

}  // namespace

ClientSession::ClientSession(SSL* ssl, std::string serverName)
    : ssl_(ssl), serverName_(std::move(serverName)) {}

ClientSession::~ClientSession() {
  SSL_free(ssl_);  // and the two BIOs it owns
}

Result<std::unique_ptr<ClientSession>> ClientSession::create(
    std::shared_ptr<const ClientContext> context, std::string_view serverName) {
  if (serverName.empty()) return makeError(-EINVAL, "TLS: no server name to verify");
  ERR_clear_error();
  SSL* ssl = SSL_new(context->get());
  if (ssl == nullptr) abort();  // OOM is fatal
  std::unique_ptr<ClientSession> session(new ClientSession(ssl, std::string(serverName)));
  session->context_ = std::move(context);
  session->in_ = BIO_new(BIO_s_mem());
  session->out_ = BIO_new(BIO_s_mem());
  if (session->in_ == nullptr || session->out_ == nullptr) abort();
  // An empty input BIO means "more is coming", not end of file.
  BIO_set_mem_eof_return(session->in_, -1);
  BIO_set_mem_eof_return(session->out_, -1);
  SSL_set_bio(ssl, session->in_, session->out_);
  SSL_set_connect_state(ssl);

  const std::string& name = session->serverName_;
  if (isIpAddress(name)) {
    // RFC 6066 forbids SNI with an address; the certificate must list it as an IP SAN.
    if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name.c_str()) != 1) {
      return makeError(-EINVAL, "TLS: cannot verify against address " + name);
    }
  } else {
    SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    if (SSL_set_tlsext_host_name(ssl, name.c_str()) != 1 || SSL_set1_host(ssl, name.c_str()) != 1) {
      return makeError(-EINVAL,
                       "TLS: unusable server name \"" + name + "\": " + takeOpenSslErrors());
    }
  }
  return session;
}

Result<void> ClientSession::start() {
  return handshake();
}

Error ClientSession::failure(int ret, std::string_view during) {
  failed_ = true;
  int err = SSL_get_error(ssl_, ret);
  std::string reasons = takeOpenSslErrors();
  long verify = SSL_get_verify_result(ssl_);
  std::string why;
  if (verify != X509_V_OK) {
    why = std::string("certificate verify failed: ") + X509_verify_cert_error_string(verify);
  } else if (!reasons.empty()) {
    why = reasons;
  } else if (err == SSL_ERROR_SYSCALL || err == SSL_ERROR_ZERO_RETURN) {
    why = "the server closed the connection";
  } else {
    why = "SSL error " + std::to_string(err);
  }
  return makeError(-EPROTO,
                   "TLS " + std::string(during) + " with " + serverName_ + " failed: " + why);
}

Result<void> ClientSession::handshake() {
  ERR_clear_error();
  int ret = SSL_do_handshake(ssl_);
  if (ret == 1) {
    const unsigned char* proto = nullptr;
    unsigned int length = 0;
    SSL_get0_alpn_selected(ssl_, &proto, &length);
    if (length != 2 || memcmp(proto, "h2", 2) != 0) {
      failed_ = true;
      std::string got =
          length == 0 ? "none"
                      : "\"" + std::string(reinterpret_cast<const char*>(proto), length) + "\"";
      return makeError(-EPROTO, "TLS handshake with " + serverName_ +
                                    " failed: the server did not select HTTP/2 (ALPN h2; got " +
                                    got + ")");
    }
    established_ = true;
    return {};
  }
  int err = SSL_get_error(ssl_, ret);
  if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return {};
  return failure(ret, "handshake");
}

Result<void> ClientSession::receive(std::string_view ciphertext, std::string& plaintext) {
  if (failed_) return makeError(-EPROTO, "TLS with " + serverName_ + ": session failed earlier");
  while (!ciphertext.empty()) {
    int chunk = static_cast<int>(std::min<size_t>(ciphertext.size(), INT_MAX));
    int written = BIO_write(in_, ciphertext.data(), chunk);
    if (written <= 0) abort();  // a memory BIO only fails for want of memory
    ciphertext.remove_prefix(static_cast<size_t>(written));
  }
  if (!established_) {
    if (auto r = handshake(); !r) return r;
    if (!established_) return {};
  }
  for (;;) {
    size_t old = plaintext.size();
    plaintext.resize(old + kReadChunk);
    ERR_clear_error();
    int n = SSL_read(ssl_, plaintext.data() + old, static_cast<int>(kReadChunk));
    plaintext.resize(old + static_cast<size_t>(std::max(n, 0)));
    if (n > 0) continue;
    int err = SSL_get_error(ssl_, n);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return {};
    if (err == SSL_ERROR_ZERO_RETURN) {
      peerClosed_ = true;
      return {};
    }
    return failure(n, "read");
  }
}

Result<void> ClientSession::send(std::string_view plaintext) {
  if (failed_ || !established_) {
    return makeError(-EPROTO, "TLS with " + serverName_ + ": not established");
  }
  while (!plaintext.empty()) {
    int chunk = static_cast<int>(std::min<size_t>(plaintext.size(), INT_MAX));
    ERR_clear_error();
    int n = SSL_write(ssl_, plaintext.data(), chunk);
    if (n <= 0) return failure(n, "write");
    plaintext.remove_prefix(static_cast<size_t>(n));
  }
  return {};
}

void ClientSession::takeOutput(std::string& out) {
  size_t pending = BIO_ctrl_pending(out_);
  if (pending == 0) return;
  size_t old = out.size();
  out.resize(old + pending);
  int n = BIO_read(out_, out.data() + old, static_cast<int>(pending));
  out.resize(old + static_cast<size_t>(std::max(n, 0)));
}

bool ClientSession::hasOutput() const {
  return BIO_ctrl_pending(out_) > 0;
}

const char* ClientSession::version() const {
  return SSL_get_version(ssl_);
}

}  // namespace udp::tls
