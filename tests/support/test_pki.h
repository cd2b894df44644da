#pragma once

// A throwaway certificate authority for TLS tests, made with OpenSSL at run time (P-256 keys, one
// day of validity): nothing secret or expiring is checked into the repository.

#include <string>
#include <vector>

namespace udp::testing {

struct PemPair {
  std::string certPem{};
  std::string keyPem{};
};

struct LeafSpec {
  std::string commonName = "test";
  std::vector<std::string> dnsNames{};
  std::vector<std::string> ipAddresses{};
  bool client = false;  // extendedKeyUsage clientAuth instead of serverAuth
};

class TestPki {
 public:
  explicit TestPki(const std::string& caName = "test CA");
  const PemPair& ca() const { return ca_; }
  PemPair issue(const LeafSpec& spec) const;
  // A certificate signed by its own key, naming `spec`'s names.
  static PemPair selfSigned(const LeafSpec& spec);

 private:
  PemPair ca_;
};

}  // namespace udp::testing
