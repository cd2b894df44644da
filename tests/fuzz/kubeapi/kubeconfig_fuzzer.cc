// libFuzzer target for the kubeconfig parser (DESIGN.md §5.6): any bytes give either an entry
// that names a server, a context and a CA, or a one-line error; the server URL parser gets the
// server and the raw bytes alike. Never a crash, leak or hang.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "kubeapi/client_config.h"

using namespace udp::kubeapi;

namespace {

void checkUrl(std::string_view text) {
  auto url = parseServerUrl(text);
  if (url.ok()) {
    if (url->host.empty() || url->port == 0) std::abort();
    if (!url->pathPrefix.empty() && url->pathPrefix.front() != '/') std::abort();
    if (!url->pathPrefix.empty() && url->pathPrefix.back() == '/') std::abort();
  } else if (url.error().message.empty()) {
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto entry = parseKubeconfig(text, "/etc/kubernetes");
  if (entry.ok()) {
    if (entry->context.empty() || entry->server.empty() || entry->ca.empty()) std::abort();
    if (entry->clientCert.empty() != entry->clientKey.empty()) std::abort();
    for (const Material* m : {&entry->ca, &entry->clientCert, &entry->clientKey}) {
      if (!m->file.empty() && m->data.empty() && m->file.front() != '/') std::abort();
    }
    checkUrl(entry->server);
  } else {
    const std::string& message = entry.error().message;
    if (message.empty()) std::abort();
  }
  checkUrl(text);
  return 0;
}
