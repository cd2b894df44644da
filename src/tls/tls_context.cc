#include "tls/tls_context.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

namespace udp::tls {
namespace {

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;

BioPtr memoryBio(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  if (bio == nullptr) abort();  // OOM is fatal
  return BioPtr(bio);
}

Error pemError(const std::string& what) {
  std::string reasons = takeOpenSslErrors();
  return makeError(-EINVAL, what + (reasons.empty() ? "" : ": " + reasons));
}

Result<void> loadCa(SSL_CTX* ctx, const std::string& pem) {
  BioPtr bio = memoryBio(pem);
  STACK_OF(X509_INFO)* infos = PEM_X509_INFO_read_bio(bio.get(), nullptr, nullptr, nullptr);
  if (infos == nullptr) return pemError("cannot read the CA certificates");
  X509_STORE* store = SSL_CTX_get_cert_store(ctx);
  int added = 0;
  for (int i = 0; i < sk_X509_INFO_num(infos); ++i) {
    X509_INFO* info = sk_X509_INFO_value(infos, i);
    if (info->x509 != nullptr && X509_STORE_add_cert(store, info->x509) == 1) ++added;
  }
  sk_X509_INFO_pop_free(infos, X509_INFO_free);
  if (added == 0) return pemError("the CA data holds no certificate");
  ERR_clear_error();
  return {};
}

Result<void> loadClientCertificate(SSL_CTX* ctx, const std::string& certPem,
                                   const std::string& keyPem) {
  if (certPem.empty() != keyPem.empty()) {
    return makeError(-EINVAL, certPem.empty() ? "a client key without a client certificate"
                                              : "a client certificate without its key");
  }
  if (certPem.empty()) return {};
  BioPtr certs = memoryBio(certPem);
  X509* leaf = PEM_read_bio_X509(certs.get(), nullptr, nullptr, nullptr);
  if (leaf == nullptr) return pemError("cannot read the client certificate");
  int used = SSL_CTX_use_certificate(ctx, leaf);
  X509_free(leaf);
  if (used != 1) return pemError("cannot use the client certificate");
  // Intermediates follow the leaf in the same PEM; the server needs them to build the chain.
  while (X509* intermediate = PEM_read_bio_X509(certs.get(), nullptr, nullptr, nullptr)) {
    if (SSL_CTX_add0_chain_cert(ctx, intermediate) != 1) {
      X509_free(intermediate);
      return pemError("cannot use a client certificate chain entry");
    }
  }
  ERR_clear_error();  // the loop ends on "no start line"

  BioPtr keyBio = memoryBio(keyPem);
  EVP_PKEY* key = PEM_read_bio_PrivateKey(keyBio.get(), nullptr, nullptr, nullptr);
  if (key == nullptr) return pemError("cannot read the client key");
  if (X509_check_private_key(SSL_CTX_get0_certificate(ctx), key) != 1) {
    EVP_PKEY_free(key);
    return pemError("the client key does not belong to the client certificate");
  }
  used = SSL_CTX_use_PrivateKey(ctx, key);
  EVP_PKEY_free(key);
  if (used != 1) return pemError("cannot use the client key");
  return {};
}

}  // namespace

std::string takeOpenSslErrors() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    const char* reason = ERR_reason_error_string(e);
    std::string text = reason != nullptr ? reason : "error " + std::to_string(e);
    if (out.find(text) != std::string::npos) continue;  // OpenSSL repeats itself up the stack
    if (!out.empty()) out += "; ";
    out += text;
  }
  return out;
}

Result<std::shared_ptr<const ClientContext>> ClientContext::create(const ClientOptions& options) {
  ERR_clear_error();
  SSL_CTX* raw = SSL_CTX_new(TLS_client_method());
  if (raw == nullptr) abort();
  std::shared_ptr<ClientContext> context(new ClientContext(raw));
  SSL_CTX_set_min_proto_version(raw, TLS1_2_VERSION);
  // No renegotiation (TLS 1.2): a peer could otherwise make us redo a handshake at any time.
  SSL_CTX_set_options(raw, SSL_OP_NO_RENEGOTIATION);
  // Idle connections give their 2 x 34 KiB record buffers back (the daemon's memory budget).
  SSL_CTX_set_mode(raw, SSL_MODE_RELEASE_BUFFERS);
  SSL_CTX_set_verify(raw, SSL_VERIFY_PEER, nullptr);
  static const unsigned char kAlpn[] = {2, 'h', '2'};
  if (SSL_CTX_set_alpn_protos(raw, kAlpn, sizeof kAlpn) != 0) abort();  // 0 is success here
  if (options.caPem.empty()) return makeError(-EINVAL, "no CA certificate to verify the server");
  if (auto r = loadCa(raw, options.caPem); !r) return r.error();
  if (auto r = loadClientCertificate(raw, options.certPem, options.keyPem); !r) return r.error();
  return std::shared_ptr<const ClientContext>(std::move(context));
}

ClientContext::~ClientContext() {
  SSL_CTX_free(ctx_);
}

}  // namespace udp::tls
