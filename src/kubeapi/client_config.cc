#include "kubeapi/client_config.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>

#include "config/yaml_tree.h"
#include "util/unique_fd.h"

namespace udp::kubeapi {
namespace {

using config::YamlEntry;
using config::YamlNode;

constexpr size_t kMaxSmallFile = 1024 * 1024;

Error invalid(std::string message) {
  return makeError(-EINVAL, std::move(message));
}

Error at(const config::SourcePosition& position, const std::string& message) {
  if (position.line == 0) return invalid(message);
  return invalid(std::to_string(position.line) + ":" + std::to_string(position.column) + ": " +
                 message);
}

bool isIpv6(const std::string& host) {
  in6_addr addr;
  return inet_pton(AF_INET6, host.c_str(), &addr) == 1;
}

const YamlEntry* entryOf(const YamlNode& map, std::string_view key) {
  for (const YamlEntry& entry : map.entries) {
    if (entry.key == key) return &entry;
  }
  return nullptr;
}

// A scalar's text; nullopt when absent or null; an error when it is not a scalar.
Result<std::optional<std::string>> scalar(const YamlNode& map, std::string_view key) {
  const YamlEntry* entry = entryOf(map, key);
  if (entry == nullptr || entry->value.kind == YamlNode::Kind::kNull) {
    return std::optional<std::string>();
  }
  if (entry->value.kind != YamlNode::Kind::kScalar) {
    return at(entry->value.position, std::string(key) + " must be a string");
  }
  return std::optional<std::string>(entry->value.text);
}

// In the list under `listKey` (clusters, contexts, users): the `field` mapping of the item
// named `name`.
Result<const YamlNode*> named(const YamlNode& root, std::string_view listKey,
                              std::string_view field, const std::string& name,
                              std::string_view what) {
  const YamlEntry* list = entryOf(root, listKey);
  if (list != nullptr && list->value.kind == YamlNode::Kind::kSequence) {
    for (const YamlNode& item : list->value.items) {
      if (item.kind != YamlNode::Kind::kMapping) continue;
      const YamlEntry* itemName = entryOf(item, "name");
      if (itemName == nullptr || itemName->value.kind != YamlNode::Kind::kScalar ||
          itemName->value.text != name) {
        continue;
      }
      const YamlEntry* body = entryOf(item, field);
      if (body == nullptr || body->value.kind != YamlNode::Kind::kMapping) {
        return at(item.position, std::string(what) + " \"" + name + "\" has no " +
                                     std::string(field) + " mapping");
      }
      return &body->value;
    }
  } else if (list != nullptr && list->value.kind != YamlNode::Kind::kNull) {
    return at(list->value.position, std::string(listKey) + " must be a list");
  }
  return invalid(std::string(what) + " \"" + name + "\" is not in " + std::string(listKey));
}

std::string resolvePath(std::string_view dir, const std::string& file) {
  if (file.empty() || file.front() == '/' || dir.empty()) return file;
  return std::string(dir) + "/" + file;
}

Result<std::string> decodeBase64(std::string_view text, const config::SourcePosition& position,
                                 std::string_view key) {
  if (text.size() > INT_MAX / 2) return at(position, std::string(key) + " is too long");
  std::unique_ptr<EVP_ENCODE_CTX, decltype(&EVP_ENCODE_CTX_free)> ctx(EVP_ENCODE_CTX_new(),
                                                                      EVP_ENCODE_CTX_free);
  if (!ctx) abort();  // OOM is fatal
  EVP_DecodeInit(ctx.get());
  std::string out(text.size() + 4, '\0');
  int n = 0;
  auto* bytes = reinterpret_cast<unsigned char*>(out.data());
  if (EVP_DecodeUpdate(ctx.get(), bytes, &n, reinterpret_cast<const unsigned char*>(text.data()),
                       static_cast<int>(text.size())) < 0) {
    return at(position, std::string(key) + " is not valid base64");
  }
  int total = n;
  if (EVP_DecodeFinal(ctx.get(), bytes + total, &n) < 0) {
    return at(position, std::string(key) + " is not valid base64");
  }
  out.resize(static_cast<size_t>(total + n));
  return out;
}

// `<key>-data` (inline, base64) or `<key>` (a file); the inline data wins, as with kubectl.
Result<Material> material(const YamlNode& map, const std::string& key, std::string_view dir) {
  Material m;
  auto file = scalar(map, key);
  if (!file) return file.error();
  auto data = scalar(map, key + "-data");
  if (!data) return data.error();
  if (*data && !(*data)->empty()) {
    auto decoded = decodeBase64(**data, entryOf(map, key + "-data")->value.position, key + "-data");
    if (!decoded) return decoded.error();
    if (decoded->empty()) {
      return at(entryOf(map, key + "-data")->value.position, key + "-data is empty");
    }
    m.data = std::move(*decoded);
  } else if (*file) {
    m.file = resolvePath(dir, **file);
  }
  return m;
}

Result<void> readCluster(const YamlNode& cluster, const std::string& name, std::string_view dir,
                         KubeconfigEntry& out) {
  auto server = scalar(cluster, "server");
  if (!server) return server.error();
  if (!*server || (*server)->empty()) {
    return at(cluster.position, "cluster \"" + name + "\" has no server");
  }
  out.server = **server;
  auto skip = scalar(cluster, "insecure-skip-tls-verify");
  if (!skip) return skip.error();
  if (*skip && **skip == "true") {
    return at(entryOf(cluster, "insecure-skip-tls-verify")->value.position,
              "insecure-skip-tls-verify is refused: the API server's certificate is always "
              "verified (give certificate-authority or certificate-authority-data)");
  }
  auto proxy = scalar(cluster, "proxy-url");
  if (!proxy) return proxy.error();
  if (*proxy && !(*proxy)->empty()) {
    return at(entryOf(cluster, "proxy-url")->value.position, "proxy-url is not supported");
  }
  auto serverName = scalar(cluster, "tls-server-name");
  if (!serverName) return serverName.error();
  if (*serverName) out.tlsServerName = **serverName;
  auto ca = material(cluster, "certificate-authority", dir);
  if (!ca) return ca.error();
  if (ca->empty()) {
    return at(cluster.position, "cluster \"" + name +
                                    "\" has neither certificate-authority nor "
                                    "certificate-authority-data: the server cannot be verified");
  }
  out.ca = std::move(*ca);
  return {};
}

Result<void> readUser(const YamlNode& user, const std::string& name, std::string_view dir,
                      KubeconfigEntry& out) {
  for (const char* unsupported : {"exec", "auth-provider", "username", "password"}) {
    if (const YamlEntry* entry = entryOf(user, unsupported);
        entry != nullptr && entry->value.kind != YamlNode::Kind::kNull) {
      return at(entry->keyPosition, "user \"" + name + "\": " + unsupported +
                                        " is not supported (use a client certificate or a token)");
    }
  }
  auto cert = material(user, "client-certificate", dir);
  if (!cert) return cert.error();
  auto key = material(user, "client-key", dir);
  if (!key) return key.error();
  if (cert->empty() != key->empty()) {
    return at(user.position, "user \"" + name + "\" has " +
                                 (cert->empty() ? "client-key without client-certificate"
                                                : "client-certificate without client-key"));
  }
  out.clientCert = std::move(*cert);
  out.clientKey = std::move(*key);
  auto token = scalar(user, "token");
  if (!token) return token.error();
  if (*token) out.token = **token;
  auto tokenFile = scalar(user, "tokenFile");
  if (!tokenFile) return tokenFile.error();
  if (*tokenFile && !(*tokenFile)->empty()) out.tokenFile = resolvePath(dir, **tokenFile);
  return {};
}

Result<uint16_t> parsePort(std::string_view text) {
  if (text.empty() || text.size() > 5) return invalid("port \"" + std::string(text) + "\"");
  unsigned value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return invalid("port \"" + std::string(text) + "\"");
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  if (value == 0 || value > 65535) return invalid("port \"" + std::string(text) + "\"");
  return static_cast<uint16_t>(value);
}

bool validHostName(std::string_view host) {
  if (host.empty() || host.size() > 253) return false;
  for (char c : host) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '.' || c == '_';
    if (!ok) return false;
  }
  return true;
}

Result<std::string> readMaterial(const Material& m, const std::string& what) {
  if (!m.data.empty()) return m.data;
  auto bytes = readSmallFile(m.file);
  if (!bytes) return invalid(what + ": " + bytes.error().message);
  if (bytes->empty()) return invalid(what + ": " + m.file + " is empty");
  return bytes;
}

}  // namespace

Result<std::string> readSmallFile(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
  if (!fd.valid()) return makeError(-errno, "cannot open " + path + ": " + strerror(errno));
  std::string text;
  char buffer[16384];
  for (;;) {
    ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EINTR) continue;
      return makeError(-errno, "cannot read " + path + ": " + strerror(errno));
    }
    if (n == 0) break;
    text.append(buffer, static_cast<size_t>(n));
    if (text.size() > kMaxSmallFile) {
      return makeError(-EFBIG,
                       path + " is larger than " + std::to_string(kMaxSmallFile) + " bytes");
    }
  }
  return text;
}

Result<ServerUrl> parseServerUrl(std::string_view url) {
  std::string quoted = "server \"" + std::string(url) + "\": ";
  constexpr std::string_view kScheme = "https://";
  if (url.size() < kScheme.size() || strncasecmp(url.data(), kScheme.data(), kScheme.size()) != 0) {
    return invalid(quoted + "only https:// is supported");
  }
  std::string_view rest = url.substr(kScheme.size());
  size_t slash = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? "" : rest.substr(slash);
  if (!path.empty() && path.front() != '/') return invalid(quoted + "no query or fragment");
  if (authority.find('@') != std::string_view::npos) return invalid(quoted + "no user info");
  ServerUrl out;
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return invalid(quoted + "unclosed [");
    out.host = authority.substr(1, close - 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return invalid(quoted + "junk after ]");
      port = after.substr(1);
      if (port.empty()) return invalid(quoted + "empty port");
    }
    if (!isIpv6(out.host)) return invalid(quoted + "not an IPv6 address in []");
  } else {
    size_t colon = authority.find(':');
    out.host = authority.substr(0, colon);
    if (colon != std::string_view::npos) {
      port = authority.substr(colon + 1);
      if (port.empty()) return invalid(quoted + "empty port");
    }
    if (!validHostName(out.host)) return invalid(quoted + "no valid host");
  }
  if (!port.empty()) {
    auto p = parsePort(port);
    if (!p) return invalid(quoted + "invalid " + p.error().message);
    out.port = *p;
  }
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  for (char c : path) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) {
      return invalid(quoted + "the path holds a control character or space");
    }
  }
  out.pathPrefix = path;
  return out;
}

Result<KubeconfigEntry> parseKubeconfig(std::string_view text, std::string_view dir) {
  config::YamlDocument doc = config::parseYaml(text);
  if (doc.errors.count() > 0) {
    std::vector<config::Diagnostic> errors = doc.errors.take();
    return at(errors.front().position, errors.front().message);
  }
  if (!doc.root || doc.root->kind != YamlNode::Kind::kMapping) {
    return invalid("not a kubeconfig: the document is not a mapping");
  }
  const YamlNode& root = *doc.root;
  KubeconfigEntry out;
  auto current = scalar(root, "current-context");
  if (!current) return current.error();
  if (!*current || (*current)->empty()) return invalid("no current-context");
  out.context = **current;

  auto context = named(root, "contexts", "context", out.context, "context");
  if (!context) return context.error();
  auto clusterName = scalar(**context, "cluster");
  if (!clusterName) return clusterName.error();
  if (!*clusterName || (*clusterName)->empty()) {
    return at((*context)->position, "context \"" + out.context + "\" has no cluster");
  }
  auto cluster = named(root, "clusters", "cluster", **clusterName, "cluster");
  if (!cluster) return cluster.error();
  if (auto r = readCluster(**cluster, **clusterName, dir, out); !r) return r.error();

  auto userName = scalar(**context, "user");
  if (!userName) return userName.error();
  if (*userName && !(*userName)->empty()) {
    auto user = named(root, "users", "user", **userName, "user");
    if (!user) return user.error();
    if (auto r = readUser(**user, **userName, dir, out); !r) return r.error();
  }
  return out;
}

Result<ClientConfig> loadKubeconfig(const std::string& path) {
  auto fail = [&](const std::string& message) {
    return invalid("kubeconfig " + path + ": " + message);
  };
  auto text = readSmallFile(path);
  if (!text) return fail(text.error().message);
  std::string dir = std::filesystem::path(path).parent_path().string();
  auto entry = parseKubeconfig(*text, dir);
  if (!entry) return fail(entry.error().message);
  auto url = parseServerUrl(entry->server);
  if (!url) return fail(url.error().message);

  ClientConfig config;
  config.server = entry->server;
  config.host = url->host;
  config.port = url->port;
  config.pathPrefix = url->pathPrefix;
  config.tlsServerName = entry->tlsServerName;
  config.origin = "kubeconfig " + path + " (context " + entry->context + ")";
  auto ca = readMaterial(entry->ca, "certificate-authority");
  if (!ca) return fail(ca.error().message);
  config.caPem = std::move(*ca);
  if (!entry->clientCert.empty()) {
    auto cert = readMaterial(entry->clientCert, "client-certificate");
    if (!cert) return fail(cert.error().message);
    auto key = readMaterial(entry->clientKey, "client-key");
    if (!key) return fail(key.error().message);
    config.clientCertPem = std::move(*cert);
    config.clientKeyPem = std::move(*key);
  }
  config.token = entry->token;
  if (config.token.empty() && !entry->tokenFile.empty()) {
    // Read once here so that a wrong path fails at start, not at the first request.
    if (auto token = readSmallFile(entry->tokenFile); !token) {
      return fail("tokenFile: " + token.error().message);
    }
    config.tokenFile = entry->tokenFile;
  }
  return config;
}

Result<ClientConfig> inClusterConfig(std::string_view host, std::string_view port,
                                     const InClusterPaths& paths) {
  auto fail = [](const std::string& message) { return invalid("in-cluster config: " + message); };
  if (host.empty()) {
    return fail("KUBERNETES_SERVICE_HOST is not set (not in a pod? give a kubeconfig)");
  }
  if (port.empty()) return fail("KUBERNETES_SERVICE_PORT is not set");
  std::string bracketed = isIpv6(std::string(host)) ? "[" + std::string(host) + "]" : "";
  std::string server =
      "https://" + (bracketed.empty() ? std::string(host) : bracketed) + ":" + std::string(port);
  auto url = parseServerUrl(server);
  if (!url) return fail(url.error().message);
  ClientConfig config;
  config.server = server;
  config.host = url->host;
  config.port = url->port;
  config.origin = "in-cluster service account";
  auto ca = readSmallFile(paths.caFile);
  if (!ca) return fail("service account CA: " + ca.error().message);
  config.caPem = std::move(*ca);
  if (auto token = readSmallFile(paths.tokenFile); !token) {
    return fail("service account token: " + token.error().message);
  }
  config.tokenFile = paths.tokenFile;
  return config;
}

Result<ClientConfig> inClusterConfigFromEnvironment(const InClusterPaths& paths) {
  const char* host = getenv("KUBERNETES_SERVICE_HOST");
  const char* port = getenv("KUBERNETES_SERVICE_PORT");
  return inClusterConfig(host != nullptr ? host : "", port != nullptr ? port : "", paths);
}

}  // namespace udp::kubeapi
