// The TLS client state machine against an OpenSSL server in the same process, both on memory
// BIOs: verification against the CA, names and addresses, ALPN, client certificates, versions,
// and bytes delivered in any split.

#include "tls/client_session.h"

#include <doctest/doctest.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <memory>
#include <string>

#include "test_pki.h"

using namespace udp;
using namespace udp::testing;

namespace {

// A TLS server over memory BIOs, driven by the test.
class TestServer {
 public:
  struct Options {
    PemPair identity{};
    bool alpnH2 = true;
    std::string requireClientCa{};  // non-empty: a client certificate from this CA is required
    int maxVersion = 0;             // 0: OpenSSL's default
  };

  explicit TestServer(const Options& options) : options_(options) {
    ctx_ = SSL_CTX_new(TLS_server_method());
    REQUIRE(ctx_ != nullptr);
    REQUIRE(SSL_CTX_use_certificate(ctx_, readCert(options.identity.certPem).get()) == 1);
    REQUIRE(SSL_CTX_use_PrivateKey(ctx_, readKey(options.identity.keyPem).get()) == 1);
    if (options.maxVersion != 0) SSL_CTX_set_max_proto_version(ctx_, options.maxVersion);
    SSL_CTX_set_security_level(ctx_, 0);  // lets the old-version test reach the version check
    if (options.alpnH2) SSL_CTX_set_alpn_select_cb(ctx_, selectH2, nullptr);
    if (!options.requireClientCa.empty()) {
      X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx_), readCert(options.requireClientCa).get());
      SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
    }
    ssl_ = SSL_new(ctx_);
    in_ = BIO_new(BIO_s_mem());
    out_ = BIO_new(BIO_s_mem());
    BIO_set_mem_eof_return(in_, -1);
    BIO_set_mem_eof_return(out_, -1);
    SSL_set_bio(ssl_, in_, out_);
    SSL_set_accept_state(ssl_);
  }
  ~TestServer() {
    SSL_free(ssl_);
    SSL_CTX_free(ctx_);
  }

  // Feeds the client's bytes and runs the server as far as they go.
  void receive(const std::string& bytes) {
    if (!bytes.empty()) BIO_write(in_, bytes.data(), static_cast<int>(bytes.size()));
    if (!SSL_is_init_finished(ssl_)) {
      ERR_clear_error();
      int r = SSL_do_handshake(ssl_);
      if (r <= 0) {
        int err = SSL_get_error(ssl_, r);
        if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) failed = true;
        if (failed) return;
      }
    }
    char buf[4096];
    for (;;) {
      ERR_clear_error();
      int n = SSL_read(ssl_, buf, sizeof buf);
      if (n <= 0) break;
      plaintext.append(buf, static_cast<size_t>(n));
    }
  }
  void send(const std::string& text) {
    REQUIRE(SSL_write(ssl_, text.data(), static_cast<int>(text.size())) > 0);
  }
  std::string takeOutput() {
    std::string out(BIO_ctrl_pending(out_), '\0');
    if (!out.empty()) BIO_read(out_, out.data(), static_cast<int>(out.size()));
    return out;
  }
  bool established() const { return SSL_is_init_finished(ssl_); }
  std::string serverName() const {
    const char* name = SSL_get_servername(ssl_, TLSEXT_NAMETYPE_host_name);
    return name ? name : "";
  }
  bool clientPresentedCertificate() const {
    X509* peer = SSL_get1_peer_certificate(ssl_);
    X509_free(peer);
    return peer != nullptr;
  }

  std::string plaintext;
  bool failed = false;

 private:
  static int selectH2(SSL*, const unsigned char** out, unsigned char* outlen,
                      const unsigned char* in, unsigned int inlen, void*) {
    static const unsigned char kH2[] = {2, 'h', '2'};
    unsigned char* selected = nullptr;
    if (SSL_select_next_proto(&selected, outlen, kH2, sizeof kH2, in, inlen) !=
        OPENSSL_NPN_NEGOTIATED) {
      return SSL_TLSEXT_ERR_ALERT_FATAL;
    }
    *out = selected;
    return SSL_TLSEXT_ERR_OK;
  }
  // The CTX and the store take references of their own.
  static std::unique_ptr<X509, decltype(&X509_free)> readCert(const std::string& text) {
    BIO* bio = BIO_new_mem_buf(text.data(), static_cast<int>(text.size()));
    X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
    BIO_free(bio);
    return {cert, X509_free};
  }
  static std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> readKey(const std::string& text) {
    BIO* bio = BIO_new_mem_buf(text.data(), static_cast<int>(text.size()));
    EVP_PKEY* key = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
    BIO_free(bio);
    return {key, EVP_PKEY_free};
  }

  Options options_;
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  BIO* in_ = nullptr;
  BIO* out_ = nullptr;
};

struct Outcome {
  bool ok = true;
  std::string error;
  std::string plaintext;  // what the client received
};

// Moves bytes both ways until neither side has anything to say. `split`: deliver each direction
// one byte at a time (record and message boundaries must not matter).
Outcome pump(tls::ClientSession& client, TestServer& server, bool split = false) {
  Outcome outcome;
  for (int round = 0; round < 50; ++round) {
    std::string toServer;
    client.takeOutput(toServer);
    if (split) {
      for (char c : toServer) server.receive(std::string(1, c));
    } else {
      server.receive(toServer);
    }
    std::string toClient = server.takeOutput();
    if (toServer.empty() && toClient.empty()) break;
    auto feed = [&](std::string_view bytes) {
      auto r = client.receive(bytes, outcome.plaintext);
      if (!r && outcome.ok) {
        outcome.ok = false;
        outcome.error = r.error().message;
      }
    };
    if (split) {
      for (char c : toClient) feed(std::string_view(&c, 1));
    } else if (!toClient.empty()) {
      feed(toClient);
    }
    if (!outcome.ok) break;
  }
  return outcome;
}

std::unique_ptr<tls::ClientSession> session(const tls::ClientOptions& options,
                                            const std::string& name) {
  auto context = tls::ClientContext::create(options);
  REQUIRE_MESSAGE(context.ok(), (context.ok() ? "" : context.error().message));
  auto created = tls::ClientSession::create(*context, name);
  REQUIRE(created.ok());
  REQUIRE((*created)->start().ok());
  return std::move(*created);
}

}  // namespace

TEST_CASE("handshake against an IP address SAN, then plaintext both ways") {
  TestPki pki;
  TestServer server({.identity = pki.issue({.ipAddresses = {"127.0.0.1"}})});
  auto client = session({.caPem = pki.ca().certPem}, "127.0.0.1");
  Outcome o = pump(*client, server);
  REQUIRE_MESSAGE(o.ok, o.error);
  CHECK(client->established());
  CHECK(server.established());
  CHECK(server.serverName().empty());  // no SNI for an address
  CHECK(std::string(client->version()) == "TLSv1.3");

  REQUIRE(client->send("PRI * HTTP/2.0").ok());
  o = pump(*client, server);
  CHECK(server.plaintext == "PRI * HTTP/2.0");
  server.send("SETTINGS");
  o = pump(*client, server);
  REQUIRE(o.ok);
  CHECK(o.plaintext == "SETTINGS");
}

TEST_CASE("a DNS name goes out as SNI and must be in the certificate") {
  TestPki pki;
  TestServer server({.identity = pki.issue({.dnsNames = {"localhost", "api.example.com"}})});
  auto client = session({.caPem = pki.ca().certPem}, "api.example.com");
  Outcome o = pump(*client, server);
  REQUIRE_MESSAGE(o.ok, o.error);
  CHECK(server.serverName() == "api.example.com");
}

TEST_CASE("IPv6 address SAN") {
  TestPki pki;
  TestServer server({.identity = pki.issue({.ipAddresses = {"::1"}})});
  auto client = session({.caPem = pki.ca().certPem}, "::1");
  Outcome o = pump(*client, server);
  CHECK_MESSAGE(o.ok, o.error);
}

TEST_CASE("every byte split: the state machine does not care where records break") {
  TestPki pki;
  TestServer server({.identity = pki.issue({.ipAddresses = {"127.0.0.1"}})});
  auto client = session({.caPem = pki.ca().certPem}, "127.0.0.1");
  Outcome o = pump(*client, server, true);
  REQUIRE_MESSAGE(o.ok, o.error);
  server.send(std::string(40000, 'x'));  // three records
  o = pump(*client, server, true);
  REQUIRE(o.ok);
  CHECK(o.plaintext == std::string(40000, 'x'));
}

TEST_CASE("verification failures are clear and final") {
  TestPki pki;
  TestPki otherPki("other CA");
  SUBCASE("a server certificate from another CA") {
    TestServer server({.identity = otherPki.issue({.ipAddresses = {"127.0.0.1"}})});
    auto client = session({.caPem = pki.ca().certPem}, "127.0.0.1");
    Outcome o = pump(*client, server);
    CHECK_FALSE(o.ok);
    CHECK(o.error ==
          "TLS handshake with 127.0.0.1 failed: certificate verify failed: unable to get local "
          "issuer certificate");
    CHECK_FALSE(client->established());
    std::string plain;
    CHECK_FALSE(client->receive("", plain).ok());
  }
  SUBCASE("a self-signed server certificate") {
    TestServer server({.identity = TestPki::selfSigned({.ipAddresses = {"127.0.0.1"}})});
    auto client = session({.caPem = pki.ca().certPem}, "127.0.0.1");
    Outcome o = pump(*client, server);
    CHECK(o.error ==
          "TLS handshake with 127.0.0.1 failed: certificate verify failed: "
          "self-signed certificate");
  }
  SUBCASE("the address is not in the certificate") {
    TestServer server({.identity = pki.issue({.ipAddresses = {"10.0.0.1"}})});
    auto client = session({.caPem = pki.ca().certPem}, "127.0.0.1");
    Outcome o = pump(*client, server);
    CHECK(o.error ==
          "TLS handshake with 127.0.0.1 failed: certificate verify failed: IP address mismatch");
  }
  SUBCASE("the name is not in the certificate") {
    TestServer server({.identity = pki.issue({.dnsNames = {"localhost"}})});
    auto client = session({.caPem = pki.ca().certPem}, "kubernetes.default.svc");
    Outcome o = pump(*client, server);
    CHECK(o.error ==
          "TLS handshake with kubernetes.default.svc failed: certificate verify "
          "failed: hostname mismatch");
  }
  SUBCASE("a certificate naming the name as CN only is not enough for an address") {
    TestServer server({.identity = pki.issue({.commonName = "127.0.0.1"})});
    auto client = session({.caPem = pki.ca().certPem}, "127.0.0.1");
    CHECK_FALSE(pump(*client, server).ok);
  }
}

TEST_CASE("the server must select h2") {
  TestPki pki;
  TestServer server({.identity = pki.issue({.ipAddresses = {"127.0.0.1"}}), .alpnH2 = false});
  auto client = session({.caPem = pki.ca().certPem}, "127.0.0.1");
  Outcome o = pump(*client, server);
  CHECK_FALSE(o.ok);
  CHECK(
      o.error ==
      "TLS handshake with 127.0.0.1 failed: the server did not select HTTP/2 (ALPN h2; got none)");
  CHECK_FALSE(client->established());
}

TEST_CASE("TLS 1.1 and older are refused") {
  TestPki pki;
  TestServer server(
      {.identity = pki.issue({.ipAddresses = {"127.0.0.1"}}), .maxVersion = TLS1_1_VERSION});
  auto client = session({.caPem = pki.ca().certPem}, "127.0.0.1");
  Outcome o = pump(*client, server);
  CHECK_FALSE(o.ok);
  CHECK(o.error.find("TLS handshake with 127.0.0.1 failed: ") == 0);
}

TEST_CASE("TLS 1.2 is accepted") {
  TestPki pki;
  TestServer server(
      {.identity = pki.issue({.ipAddresses = {"127.0.0.1"}}), .maxVersion = TLS1_2_VERSION});
  auto client = session({.caPem = pki.ca().certPem}, "127.0.0.1");
  Outcome o = pump(*client, server);
  REQUIRE_MESSAGE(o.ok, o.error);
  CHECK(std::string(client->version()) == "TLSv1.2");
}

TEST_CASE("client certificate") {
  TestPki pki;
  PemPair serverId = pki.issue({.ipAddresses = {"127.0.0.1"}});
  SUBCASE("presented and accepted") {
    TestServer server({.identity = serverId, .requireClientCa = pki.ca().certPem});
    PemPair me = pki.issue({.commonName = "system:node:n1", .client = true});
    auto client = session({.caPem = pki.ca().certPem, .certPem = me.certPem, .keyPem = me.keyPem},
                          "127.0.0.1");
    Outcome o = pump(*client, server);
    REQUIRE_MESSAGE(o.ok, o.error);
    REQUIRE(client->send("x").ok());
    pump(*client, server);
    CHECK(server.plaintext == "x");
    CHECK(server.clientPresentedCertificate());
  }
  SUBCASE("required and missing: the server's alert is the error") {
    TestServer server({.identity = serverId, .requireClientCa = pki.ca().certPem});
    auto client = session({.caPem = pki.ca().certPem}, "127.0.0.1");
    Outcome o = pump(*client, server);
    CHECK_FALSE(o.ok);
    CHECK(o.error.find("certificate required") != std::string::npos);
  }
}

TEST_CASE("context errors name what is wrong") {
  TestPki pki;
  PemPair me = pki.issue({.client = true});
  PemPair other = pki.issue({.client = true});
  auto error = [](const tls::ClientOptions& options) {
    auto r = tls::ClientContext::create(options);
    return r.ok() ? std::string() : r.error().message;
  };
  CHECK(error({}) == "no CA certificate to verify the server");
  CHECK(error({.caPem = "not a certificate"}).find("the CA data holds no certificate") == 0);
  CHECK(error({.caPem = pki.ca().certPem, .certPem = me.certPem}) ==
        "a client certificate without its key");
  CHECK(error({.caPem = pki.ca().certPem, .keyPem = me.keyPem}) ==
        "a client key without a client certificate");
  CHECK(error({.caPem = pki.ca().certPem, .certPem = me.certPem, .keyPem = other.keyPem})
            .find("the client key does not belong to the client certificate") == 0);
  CHECK(error({.caPem = pki.ca().certPem, .certPem = "x", .keyPem = me.keyPem})
            .find("cannot read the client certificate") == 0);
  CHECK(error({.caPem = pki.ca().certPem, .certPem = me.certPem, .keyPem = me.keyPem}).empty());
  CHECK_FALSE(
      tls::ClientSession::create(*tls::ClientContext::create({.caPem = pki.ca().certPem}), "")
          .ok());
}
