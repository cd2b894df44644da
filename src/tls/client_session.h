#pragma once

// One TLS client connection as a pure state machine over two memory BIOs: ciphertext from the
// socket goes in and plaintext comes out; plaintext goes in and ciphertext comes out for the
// socket. It does no I/O of its own, so the reactor owns every byte that crosses the socket and
// nothing here can block.

#include <openssl/ssl.h>

#include <memory>
#include <string>
#include <string_view>

#include "tls/tls_context.h"
#include "util/result.h"

namespace udp::tls {

class ClientSession {
 public:
  // `serverName`: what the certificate must name. An IP address (127.0.0.1, 10.96.0.1, ::1) is
  // matched against the certificate's IP addresses and sends no SNI; a DNS name goes out as SNI
  // and is matched against its DNS names. Fails for an empty name.
  static Result<std::unique_ptr<ClientSession>> create(std::shared_ptr<const ClientContext> context,
                                                       std::string_view serverName);
  ~ClientSession();
  ClientSession(const ClientSession&) = delete;
  ClientSession& operator=(const ClientSession&) = delete;

  // Starts the handshake: the ClientHello waits in takeOutput().
  Result<void> start();
  // Ciphertext from the peer. Advances the handshake, then appends what the records carried to
  // `plaintext`. An error is final; its message is one line, e.g. "TLS handshake with 127.0.0.1
  // failed: certificate verify failed: self-signed certificate".
  Result<void> receive(std::string_view ciphertext, std::string& plaintext);
  // Plaintext for the peer, once established(); the records wait in takeOutput().
  Result<void> send(std::string_view plaintext);
  // Appends the ciphertext waiting for the socket (handshake messages, records, alerts) to `out`.
  void takeOutput(std::string& out);
  bool hasOutput() const;

  // The handshake is done, the certificate verified, and the server selected ALPN "h2".
  bool established() const { return established_; }
  // The peer sent close_notify: no more plaintext follows.
  bool peerClosed() const { return peerClosed_; }
  // "TLSv1.3", "TLSv1.2"; for logs.
  const char* version() const;

 private:
  ClientSession(SSL* ssl, std::string serverName);
  Result<void> handshake();
  Error failure(int ret, std::string_view during);

  std::shared_ptr<const ClientContext> context_;  // SSL_CTX outlives the SSL that refers to it
  SSL* ssl_;
  // Memory BIOs, owned by ssl_: ciphertext from the peer waits in in_, ours for the peer in out_.
  BIO* in_ = nullptr;
  BIO* out_ = nullptr;
  std::string serverName_;
  bool established_ = false;
  bool peerClosed_ = false;
  bool failed_ = false;
};

}  // namespace udp::tls
