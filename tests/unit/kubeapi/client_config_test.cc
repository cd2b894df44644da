// Kubeconfig and in-cluster configuration: the current context's cluster and user, inline data
// and files relative to the kubeconfig, and errors that name the file and the missing key.

#include "kubeapi/client_config.h"

#include <doctest/doctest.h>

#include <string>

#include "../../support/temp_dir.h"

using namespace udp;
using namespace udp::kubeapi;
using udp::testing::TempDir;

namespace {

// "hello CA" and friends in base64.
constexpr const char* kCaData = "aGVsbG8gQ0E=";  // "hello CA"

std::string kubeconfig(const std::string& cluster, const std::string& user,
                       const std::string& current = "ctx") {
  return "apiVersion: v1\n"
         "kind: Config\n"
         "current-context: " +
         current +
         "\n"
         "contexts:\n"
         "- name: other\n"
         "  context: {cluster: nowhere, user: nobody}\n"
         "- name: ctx\n"
         "  context:\n"
         "    cluster: c1\n"
         "    user: u1\n"
         "clusters:\n"
         "- name: c1\n"
         "  cluster:\n" +
         cluster +
         "users:\n"
         "- name: u1\n"
         "  user:\n" +
         user;
}

std::string errorOf(const Result<KubeconfigEntry>& r) {
  return r.ok() ? "" : r.error().message;
}

}  // namespace

TEST_CASE("server URLs") {
  auto url = parseServerUrl("https://127.0.0.1:6443");
  REQUIRE(url.ok());
  CHECK(url->host == "127.0.0.1");
  CHECK(url->port == 6443);
  CHECK(url->pathPrefix.empty());

  url = parseServerUrl("https://[::1]:8443/");
  REQUIRE(url.ok());
  CHECK(url->host == "::1");
  CHECK(url->port == 8443);

  url = parseServerUrl("HTTPS://api.example.com/k8s/clusters/c-1/");
  REQUIRE(url.ok());
  CHECK(url->host == "api.example.com");
  CHECK(url->port == 443);
  CHECK(url->pathPrefix == "/k8s/clusters/c-1");

  for (const char* bad :
       {"http://127.0.0.1", "127.0.0.1:6443", "https://", "https://:6443", "https://[::1",
        "https://[::1]x", "https://[nothost]:1", "https://::1:443", "https://h:0",
        "https://h:65536", "https://h:", "https://h:6443x", "https://u@h", "https://h?x=1",
        "https://h/a b", "https://h^"}) {
    CAPTURE(bad);
    CHECK_FALSE(parseServerUrl(bad).ok());
  }
  CHECK(parseServerUrl("http://x").error().message ==
        "server \"http://x\": only https:// is supported");
}

TEST_CASE("kubeconfig: inline data, token") {
  auto r = parseKubeconfig(kubeconfig("    server: https://10.0.0.1:6443\n"
                                      "    certificate-authority-data: " +
                                          std::string(kCaData) + "\n",
                                      "    token: abc\n"),
                           "/etc/k");
  REQUIRE_MESSAGE(r.ok(), errorOf(r));
  CHECK(r->context == "ctx");
  CHECK(r->server == "https://10.0.0.1:6443");
  CHECK(r->ca.data == "hello CA");
  CHECK(r->ca.file.empty());
  CHECK(r->token == "abc");
  CHECK(r->clientCert.empty());
}

TEST_CASE("kubeconfig: files relative to the kubeconfig's directory, client certificate") {
  auto r = parseKubeconfig(kubeconfig("    server: https://localhost:6443\n"
                                      "    certificate-authority: pki/ca.crt\n"
                                      "    tls-server-name: kubernetes\n",
                                      "    client-certificate: /abs/me.crt\n"
                                      "    client-key: me.key\n"
                                      "    tokenFile: token\n"),
                           "/etc/k");
  REQUIRE_MESSAGE(r.ok(), errorOf(r));
  CHECK(r->ca.file == "/etc/k/pki/ca.crt");
  CHECK(r->clientCert.file == "/abs/me.crt");
  CHECK(r->clientKey.file == "/etc/k/me.key");
  CHECK(r->tokenFile == "/etc/k/token");
  CHECK(r->tlsServerName == "kubernetes");
}

TEST_CASE("kubeconfig: base64 with line breaks, data wins over a file") {
  auto r = parseKubeconfig(kubeconfig("    server: https://h\n"
                                      "    certificate-authority: ignored.crt\n"
                                      "    certificate-authority-data: |\n"
                                      "      aGVsbG8g\n"
                                      "      Q0E=\n",
                                      "    {}\n"),
                           "/d");
  REQUIRE_MESSAGE(r.ok(), errorOf(r));
  CHECK(r->ca.data == "hello CA");
  CHECK(r->ca.file.empty());
}

TEST_CASE("kubeconfig: a context without a user has no credentials") {
  std::string text =
      "current-context: a\n"
      "contexts: [{name: a, context: {cluster: c}}]\n"
      "clusters: [{name: c, cluster: {server: 'https://h', certificate-authority: /ca}}]\n";
  auto r = parseKubeconfig(text, "/d");
  REQUIRE_MESSAGE(r.ok(), errorOf(r));
  CHECK(r->token.empty());
  CHECK(r->clientCert.empty());
}

TEST_CASE("kubeconfig errors name the key, with line and column where there is one") {
  const std::string ok = "    server: https://h\n    certificate-authority: ca\n";
  CHECK(errorOf(parseKubeconfig("", "/d")) == "not a kubeconfig: the document is not a mapping");
  CHECK(errorOf(parseKubeconfig("a: [", "/d")).find("2:1: ") == 0);
  CHECK(errorOf(parseKubeconfig("kind: Config\n", "/d")) == "no current-context");
  CHECK(errorOf(parseKubeconfig(kubeconfig(ok, "    {}\n", "gone"), "/d")) ==
        "context \"gone\" is not in contexts");
  CHECK(errorOf(parseKubeconfig(kubeconfig(ok, "    {}\n", "other"), "/d")) ==
        "cluster \"nowhere\" is not in clusters");
  CHECK(errorOf(parseKubeconfig(kubeconfig("    certificate-authority: ca\n", "    {}\n"), "/d")) ==
        "14:5: cluster \"c1\" has no server");
  CHECK(errorOf(parseKubeconfig(kubeconfig("    server: https://h\n", "    {}\n"), "/d")) ==
        "14:5: cluster \"c1\" has neither certificate-authority nor certificate-authority-data: "
        "the server cannot be verified");
  CHECK(errorOf(parseKubeconfig(kubeconfig(ok + "    insecure-skip-tls-verify: true\n", "    {}\n"),
                                "/d"))
            .find("16:31: insecure-skip-tls-verify is refused") == 0);
  CHECK(errorOf(parseKubeconfig(kubeconfig(ok + "    proxy-url: http://p\n", "    {}\n"), "/d")) ==
        "16:16: proxy-url is not supported");
  CHECK(errorOf(parseKubeconfig(kubeconfig(ok, "    exec: {command: aws}\n"), "/d")) ==
        "19:5: user \"u1\": exec is not supported (use a client certificate or a token)");
  CHECK(errorOf(parseKubeconfig(kubeconfig(ok, "    client-certificate: me.crt\n"), "/d")) ==
        "19:5: user \"u1\" has client-certificate without client-key");
  CHECK(errorOf(parseKubeconfig(kubeconfig(ok, "    client-key-data: aGk=\n"), "/d")) ==
        "19:5: user \"u1\" has client-key without client-certificate");
  CHECK(errorOf(parseKubeconfig(kubeconfig("    server: https://h\n"
                                           "    certificate-authority-data: '!!!'\n",
                                           "    {}\n"),
                                "/d")) == "15:33: certificate-authority-data is not valid base64");
  CHECK(errorOf(parseKubeconfig(kubeconfig(ok, "    token: [a]\n"), "/d")) ==
        "19:12: token must be a string");
  CHECK(errorOf(parseKubeconfig("current-context: a\ncontexts: {a: b}\n", "/d")) ==
        "2:11: contexts must be a list");
  CHECK(errorOf(parseKubeconfig("current-context: a\ncontexts: [{name: a}]\n", "/d")) ==
        "2:12: context \"a\" has no context mapping");
}

TEST_CASE("loadKubeconfig reads the files it names and says which file failed") {
  TempDir dir;
  dir.write("ca.crt", "CA PEM");
  dir.write("me.crt", "CERT PEM");
  dir.write("me.key", "KEY PEM");
  dir.write("token", "tok-1\n");
  dir.write("config", kubeconfig("    server: https://[::1]:6443/prefix\n"
                                 "    certificate-authority: ca.crt\n",
                                 "    client-certificate: me.crt\n"
                                 "    client-key: " +
                                     dir.file("me.key") +
                                     "\n"
                                     "    tokenFile: token\n"));
  auto r = loadKubeconfig(dir.file("config"));
  REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().message));
  CHECK(r->host == "::1");
  CHECK(r->port == 6443);
  CHECK(r->pathPrefix == "/prefix");
  CHECK(r->caPem == "CA PEM");
  CHECK(r->clientCertPem == "CERT PEM");
  CHECK(r->clientKeyPem == "KEY PEM");
  CHECK(r->tokenFile == dir.file("token"));
  CHECK(r->token.empty());
  CHECK(r->origin == "kubeconfig " + dir.file("config") + " (context ctx)");

  dir.write("config", kubeconfig("    server: https://h\n    certificate-authority: missing.crt\n",
                                 "    {}\n"));
  r = loadKubeconfig(dir.file("config"));
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message == "kubeconfig " + dir.file("config") +
                                 ": certificate-authority: cannot open " + dir.file("missing.crt") +
                                 ": No such file or directory");

  r = loadKubeconfig(dir.file("nothing"));
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message == "kubeconfig " + dir.file("nothing") + ": cannot open " +
                                 dir.file("nothing") + ": No such file or directory");

  dir.write("config", kubeconfig("    server: https://h\n    certificate-authority: ca.crt\n",
                                 "    tokenFile: gone\n"));
  r = loadKubeconfig(dir.file("config"));
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find(": tokenFile: cannot open " + dir.file("gone")) !=
        std::string::npos);
}

TEST_CASE("in-cluster: the service's address, the service account's CA and token file") {
  TempDir dir;
  dir.write("ca.crt", "CA");
  dir.write("token", "t");
  InClusterPaths paths{dir.file("token"), dir.file("ca.crt")};
  auto r = inClusterConfig("10.96.0.1", "443", paths);
  REQUIRE(r.ok());
  CHECK(r->server == "https://10.96.0.1:443");
  CHECK(r->host == "10.96.0.1");
  CHECK(r->port == 443);
  CHECK(r->caPem == "CA");
  CHECK(r->tokenFile == dir.file("token"));
  CHECK(r->origin == "in-cluster service account");

  r = inClusterConfig("fd00::1", "6443", paths);
  REQUIRE(r.ok());
  CHECK(r->server == "https://[fd00::1]:6443");
  CHECK(r->host == "fd00::1");

  CHECK(inClusterConfig("", "443", paths).error().message ==
        "in-cluster config: KUBERNETES_SERVICE_HOST is not set (not in a pod? give a kubeconfig)");
  CHECK(inClusterConfig("10.96.0.1", "", paths).error().message ==
        "in-cluster config: KUBERNETES_SERVICE_PORT is not set");
  CHECK_FALSE(inClusterConfig("10.96.0.1", "http", paths).ok());
  CHECK(
      inClusterConfig("10.96.0.1", "443", {dir.file("none"), dir.file("ca.crt")}).error().message ==
      "in-cluster config: service account token: cannot open " + dir.file("none") +
          ": No such file or directory");
  CHECK(inClusterConfig("10.96.0.1", "443", {dir.file("token"), dir.file("none")})
            .error()
            .message.find("in-cluster config: service account CA: cannot open") == 0);
}
