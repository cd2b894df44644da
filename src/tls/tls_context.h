#pragma once

// The client side of TLS to the Kubernetes API server: what every connection shares (the CA to
// verify the server against, our client certificate, TLS 1.2 at least, ALPN "h2"), built once
// from PEM data. The server's certificate is always verified; there is no switch to skip it.

#include <openssl/ssl.h>

#include <memory>
#include <string>

#include "util/result.h"

namespace udp::tls {

struct ClientOptions {
  std::string caPem{};  // required: one or more CA certificates
  // Optional: a client certificate (then its chain) and its private key, both PEM.
  std::string certPem{};
  std::string keyPem{};
};

class ClientContext {
 public:
  // Fails with one line saying which PEM block is unusable and OpenSSL's reason.
  static Result<std::shared_ptr<const ClientContext>> create(const ClientOptions& options);
  ~ClientContext();
  ClientContext(const ClientContext&) = delete;
  ClientContext& operator=(const ClientContext&) = delete;

  SSL_CTX* get() const { return ctx_; }

 private:
  explicit ClientContext(SSL_CTX* ctx) : ctx_(ctx) {}
  SSL_CTX* ctx_;
};

// OpenSSL's reasons for the errors queued on this thread, "; "-separated, and clears them.
std::string takeOpenSslErrors();

}  // namespace udp::tls
