#include "test_pki.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <stdexcept>

namespace udp::testing {
namespace {

struct Free {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
  void operator()(X509* p) const { X509_free(p); }
  void operator()(BIO* p) const { BIO_free(p); }
};
using KeyPtr = std::unique_ptr<EVP_PKEY, Free>;
using CertPtr = std::unique_ptr<X509, Free>;

void check(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string("test PKI: ") + what);
}

KeyPtr newKey() {
  KeyPtr key(EVP_EC_gen("P-256"));
  check(key != nullptr, "EVP_EC_gen");
  return key;
}

void addExtension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  check(ext != nullptr, "X509V3_EXT_conf_nid");
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

CertPtr newCert(EVP_PKEY* key, const std::string& commonName, long serial) {
  CertPtr cert(X509_new());
  check(cert != nullptr, "X509_new");
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 24 * 3600);
  X509_set_pubkey(cert.get(), key);
  X509_NAME_add_entry_by_txt(X509_get_subject_name(cert.get()), "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(commonName.c_str()), -1, -1, 0);
  return cert;
}

std::string pem(X509* cert) {
  std::unique_ptr<BIO, Free> bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), cert);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

std::string pem(EVP_PKEY* key) {
  std::unique_ptr<BIO, Free> bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

long nextSerial() {
  static long serial = 1;
  return ++serial;
}

void addLeafExtensions(X509* cert, X509* issuer, const LeafSpec& spec) {
  addExtension(cert, issuer, NID_basic_constraints, "critical,CA:FALSE");
  addExtension(cert, issuer, NID_key_usage, "critical,digitalSignature,keyEncipherment");
  addExtension(cert, issuer, NID_ext_key_usage, spec.client ? "clientAuth" : "serverAuth");
  std::string san;
  for (const std::string& name : spec.dnsNames) san += (san.empty() ? "" : ",") + ("DNS:" + name);
  for (const std::string& ip : spec.ipAddresses) san += (san.empty() ? "" : ",") + ("IP:" + ip);
  if (!san.empty()) addExtension(cert, issuer, NID_subject_alt_name, san);
}

X509* readCert(const std::string& text) {
  std::unique_ptr<BIO, Free> bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
  return PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr);
}

EVP_PKEY* readKey(const std::string& text) {
  std::unique_ptr<BIO, Free> bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
  return PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr);
}

}  // namespace

TestPki::TestPki(const std::string& caName) {
  KeyPtr key = newKey();
  CertPtr cert = newCert(key.get(), caName, nextSerial());
  X509_set_issuer_name(cert.get(), X509_get_subject_name(cert.get()));
  addExtension(cert.get(), cert.get(), NID_basic_constraints, "critical,CA:TRUE");
  addExtension(cert.get(), cert.get(), NID_key_usage, "critical,keyCertSign,cRLSign");
  addExtension(cert.get(), cert.get(), NID_subject_key_identifier, "hash");
  check(X509_sign(cert.get(), key.get(), EVP_sha256()) > 0, "X509_sign");
  ca_ = {pem(cert.get()), pem(key.get())};
}

PemPair TestPki::issue(const LeafSpec& spec) const {
  CertPtr caCert(readCert(ca_.certPem));
  KeyPtr caKey(readKey(ca_.keyPem));
  check(caCert && caKey, "reading the CA back");
  KeyPtr key = newKey();
  CertPtr cert = newCert(key.get(), spec.commonName, nextSerial());
  X509_set_issuer_name(cert.get(), X509_get_subject_name(caCert.get()));
  addLeafExtensions(cert.get(), caCert.get(), spec);
  addExtension(cert.get(), caCert.get(), NID_authority_key_identifier, "keyid:always");
  check(X509_sign(cert.get(), caKey.get(), EVP_sha256()) > 0, "X509_sign");
  return {pem(cert.get()), pem(key.get())};
}

PemPair TestPki::selfSigned(const LeafSpec& spec) {
  KeyPtr key = newKey();
  CertPtr cert = newCert(key.get(), spec.commonName, nextSerial());
  X509_set_issuer_name(cert.get(), X509_get_subject_name(cert.get()));
  addLeafExtensions(cert.get(), cert.get(), spec);
  check(X509_sign(cert.get(), key.get(), EVP_sha256()) > 0, "X509_sign");
  return {pem(cert.get()), pem(key.get())};
}

}  // namespace udp::testing
