#pragma once

// Where the Kubernetes API server is and how we prove who we are: from a kubeconfig file (host
// deployments: client certificate or token) or from the pod's service account (in-cluster).
// Everything here runs once at start or reload, before the client connects; the files read are
// small local ones.

#include <cstdint>
#include <string>
#include <string_view>

#include "util/result.h"

namespace udp::kubeapi {

struct ClientConfig {
  std::string server{};         // the URL as configured, for messages
  std::string host{};           // "10.96.0.1", "::1" (no brackets), "api.example.com"
  uint16_t port = 443;          //
  std::string pathPrefix{};     // "" or "/k8s/clusters/c-1" (a proxy in front of the API server)
  std::string tlsServerName{};  // what the certificate must name; empty: host
  std::string caPem{};
  std::string clientCertPem{};  // optional, with clientKeyPem
  std::string clientKeyPem{};
  std::string token{};      // a fixed bearer token, or
  std::string tokenFile{};  // a file holding one, re-read as it rotates (TokenSource)
  std::string origin{};     // "kubeconfig /etc/k.conf (context admin)", for messages
};

// https://host[:port][/prefix]; only https.
struct ServerUrl {
  std::string host{};
  uint16_t port = 443;
  std::string pathPrefix{};
};
Result<ServerUrl> parseServerUrl(std::string_view url);

// Inline data from the kubeconfig (decoded) or the file it names (made absolute against the
// kubeconfig's directory, not read yet).
struct Material {
  std::string data{};
  std::string file{};
  bool empty() const { return data.empty() && file.empty(); }
};

// The current context's cluster and user, as the kubeconfig says.
struct KubeconfigEntry {
  std::string context{};
  std::string server{};
  std::string tlsServerName{};
  Material ca{};
  Material clientCert{};
  Material clientKey{};
  std::string token{};
  std::string tokenFile{};  // absolute
};

// Pure: parses a kubeconfig's text; `dir` is its directory, for relative paths. Errors are one
// line, "line:column: what" where the text has a place for it, naming the missing key.
// Refused: no current-context, a context, cluster or user that is not there, a server that is
// not https, insecure-skip-tls-verify, and credentials we cannot use (exec and auth-provider
// plugins, basic auth).
Result<KubeconfigEntry> parseKubeconfig(std::string_view text, std::string_view dir);

// Reads the kubeconfig at `path` and the files it names. Errors start with "kubeconfig PATH: ".
Result<ClientConfig> loadKubeconfig(const std::string& path);

// The pod's service account. Paths can be moved for tests.
struct InClusterPaths {
  std::string tokenFile = "/var/run/secrets/kubernetes.io/serviceaccount/token";
  std::string caFile = "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt";
};
// From KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT as given (the environment's values).
Result<ClientConfig> inClusterConfig(std::string_view host, std::string_view port,
                                     const InClusterPaths& paths = {});
// The same from the process environment.
Result<ClientConfig> inClusterConfigFromEnvironment(const InClusterPaths& paths = {});

// A small local file (a certificate, a key, a token), at most 1 MiB.
Result<std::string> readSmallFile(const std::string& path);

}  // namespace udp::kubeapi
