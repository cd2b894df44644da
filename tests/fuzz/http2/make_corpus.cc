// Writes the seed corpus of http2_server_connection_fuzzer: what nghttp2's client role (a real
// HTTP/2 implementation, not ours) sends for gRPC calls to the device plugin, and a few broken
// conversations. Each file starts with the fuzzer's 4 header bytes (see
// server_connection_fuzzer.cc). To regenerate:
//   meson compile -C BUILD http2_make_corpus
//   BUILD/tests/fuzz/http2/http2_make_corpus tests/fuzz/http2/corpus/server_connection

#include <nghttp2/nghttp2.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <list>
#include <string>
#include <utility>
#include <vector>

#include "grpc/framing.h"
#include "http2/nghttp2_compat.h"

namespace {

using udp::http2::Nghttp2DataProvider;
using udp::http2::Nghttp2Ssize;
using Fields = std::vector<std::pair<std::string, std::string>>;

std::string framed(std::string_view message, char flag = 0) {
  std::string out;
  udp::grpc::appendMessageFrame(out, message);
  out[0] = flag;
  return out;
}

// A raw frame, for what a conforming client would refuse to send.
std::string frame(uint8_t type, uint8_t flags, uint32_t stream, std::string_view payload) {
  std::string out;
  size_t n = payload.size();
  out += static_cast<char>(n >> 16);
  out += static_cast<char>(n >> 8);
  out += static_cast<char>(n);
  out += static_cast<char>(type);
  out += static_cast<char>(flags);
  for (int shift : {24, 16, 8, 0}) out += static_cast<char>(stream >> shift);
  out += payload;
  return out;
}

struct Body {
  std::string data;
  Fields trailers;  // sent in a HEADERS frame with END_STREAM after the data
};

class Client {
 public:
  explicit Client(std::vector<nghttp2_settings_entry> settings = {}) {
    nghttp2_session_callbacks* cbs;
    nghttp2_session_callbacks_new(&cbs);
    nghttp2_option* opt;
    nghttp2_option_new(&opt);
    nghttp2_option_set_no_http_messaging(opt, 1);  // so that broken requests can be sent too
    nghttp2_session_client_new2(&session_, cbs, this, opt);
    nghttp2_option_del(opt);
    nghttp2_session_callbacks_del(cbs);
    nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings.data(), settings.size());
    // The server's SETTINGS (empty, as ours is nearly), so that the client ACKs them.
    std::string serverSettings = frame(NGHTTP2_SETTINGS, 0, 0, "");
    udp::http2::memRecv(session_, reinterpret_cast<const uint8_t*>(serverSettings.data()),
                        serverSettings.size());
    drain();
  }
  ~Client() { nghttp2_session_del(session_); }

  // A request; with `body` null, the HEADERS frame carries END_STREAM.
  int32_t call(const Fields& fields, const Body* body) {
    std::vector<nghttp2_nv> nv;
    for (auto& [name, value] : fields) {
      nv.push_back({reinterpret_cast<uint8_t*>(const_cast<char*>(name.data())),
                    reinterpret_cast<uint8_t*>(const_cast<char*>(value.data())), name.size(),
                    value.size(), NGHTTP2_NV_FLAG_NONE});
    }
    Nghttp2DataProvider provider{};
    if (body != nullptr) {
      bodies_.push_back(*body);
      provider.source.ptr = &bodies_.back();
      UDP_NGHTTP2_SET_READ_CALLBACK(provider, read);
    }
    int32_t id = udp::http2::submitRequest(session_, nv.data(), nv.size(),
                                           body != nullptr ? &provider : nullptr, nullptr);
    drain();
    return id;
  }

  nghttp2_session* session() { return session_; }
  void append(std::string_view raw) { out_.append(raw); }
  std::string& drain() {
    const uint8_t* data;
    Nghttp2Ssize n;
    while ((n = udp::http2::memSend(session_, &data)) > 0) {
      out_.append(reinterpret_cast<const char*>(data), static_cast<size_t>(n));
    }
    return out_;
  }

 private:
  static Nghttp2Ssize read(nghttp2_session* session, int32_t stream, uint8_t* buf, size_t length,
                           uint32_t* flags, nghttp2_data_source* source, void*) {
    auto* body = static_cast<Body*>(source->ptr);
    size_t n = std::min(length, body->data.size());
    std::memcpy(buf, body->data.data(), n);
    body->data.erase(0, n);
    if (body->data.empty()) {
      *flags |= NGHTTP2_DATA_FLAG_EOF;
      if (!body->trailers.empty()) {
        *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
        std::vector<nghttp2_nv> nv;
        for (auto& [name, value] : body->trailers) {
          nv.push_back({reinterpret_cast<uint8_t*>(name.data()),
                        reinterpret_cast<uint8_t*>(value.data()), name.size(), value.size(),
                        NGHTTP2_NV_FLAG_NONE});
        }
        nghttp2_submit_trailer(session, stream, nv.data(), nv.size());
      }
    }
    return static_cast<Nghttp2Ssize>(n);
  }

  nghttp2_session* session_ = nullptr;
  std::list<Body> bodies_;
  std::string out_;
};

Fields grpcFields(const std::string& method, const std::string& authority = "localhost") {
  return {{":method", "POST"},
          {":scheme", "http"},
          {":path", "/v1beta1.DevicePlugin/" + method},
          {":authority", authority},
          {"content-type", "application/grpc"},
          {"user-agent", "grpc-go/1.59.0"},
          {"te", "trailers"}};
}

Body message(std::string_view bytes) {
  return {framed(bytes), {}};
}

// AllocateRequest{container_requests: [{devices_ids: [ids...]}]}, serialized by hand.
std::string allocateRequest(const std::vector<std::string>& ids) {
  std::string inner;
  for (const auto& id : ids) {
    inner += '\x0a';
    inner += static_cast<char>(id.size());
    inner += id;
  }
  return "\x0a" + std::string(1, static_cast<char>(inner.size())) + inner;
}

std::string dir;
int failures = 0;

// The header bytes: largest recv piece, schedule seed, options (bits 0-1: maximum message size).
void write(const char* name, const std::string& bytes, uint8_t maxPiece = 0, uint8_t options = 0,
           uint16_t seed = 0x5a17) {
  std::string file = dir + "/" + name;
  std::string content{static_cast<char>(maxPiece), static_cast<char>(seed & 0xff),
                      static_cast<char>(seed >> 8), static_cast<char>(options)};
  content += bytes;
  FILE* f = std::fopen(file.c_str(), "wb");
  if (f == nullptr || std::fwrite(content.data(), 1, content.size(), f) != content.size()) {
    std::perror(file.c_str());
    ++failures;
  }
  if (f != nullptr) std::fclose(f);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
    return 2;
  }
  dir = argv[1];

  {  // The kubelet's Allocate, as one piece and a byte at a time.
    Client c;
    Body body = message(allocateRequest({"dev-0", "dev-1"}));
    c.call(grpcFields("Allocate"), &body);
    write("unary_allocate", c.drain());
    write("unary_allocate_bytewise", c.drain(), 1);
  }
  {  // What a kubelet does on one connection: options (socket-path :authority, as before 1.26),
     // ListAndWatch, a 16 MiB window, BDP pings, then preferred allocation, allocation and
     // PreStartContainer with deadlines, and GOAWAY on close.
    Client c;
    Body empty = message("");
    c.call(grpcFields("GetDevicePluginOptions", "/var/lib/kubelet/device-plugins/kubelet.sock"),
           &empty);
    c.call(grpcFields("ListAndWatch"), &empty);
    nghttp2_settings_entry window{NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 16 * 1024 * 1024};
    nghttp2_submit_settings(c.session(), NGHTTP2_FLAG_NONE, &window, 1);
    nghttp2_submit_window_update(c.session(), NGHTTP2_FLAG_NONE, 0, 16 * 1024 * 1024);
    uint8_t ping[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    nghttp2_submit_ping(c.session(), NGHTTP2_FLAG_NONE, ping);
    Fields timed = grpcFields("GetPreferredAllocation");
    timed.push_back({"grpc-timeout", "29999m"});
    Body preferred = message(std::string("\x0a\x09\x0a\x05") + "dev-0" + "\x18\x01");
    c.call(timed, &preferred);
    Body allocate = message(allocateRequest({"dev-0"}));
    c.call(grpcFields("Allocate"), &allocate);
    Fields prestart = grpcFields("PreStartContainer");
    prestart.push_back({"grpc-timeout", "30S"});
    Body prestartBody = message(allocateRequest({"dev-0"}).substr(2));
    c.call(prestart, &prestartBody);
    nghttp2_submit_goaway(c.session(), NGHTTP2_FLAG_NONE, 0, NGHTTP2_NO_ERROR, nullptr, 0);
    write("kubelet_session", c.drain(), 200, 0, 0x0101);
  }
  {  // ListAndWatch cancelled by the client (RST_STREAM CANCEL) after a window update.
    Client c;
    Body empty = message("");
    int32_t id = c.call(grpcFields("ListAndWatch"), &empty);
    nghttp2_submit_window_update(c.session(), NGHTTP2_FLAG_NONE, id, 1000);
    nghttp2_submit_rst_stream(c.session(), NGHTTP2_FLAG_NONE, id, NGHTTP2_CANCEL);
    write("list_and_watch_cancel", c.drain(), 7, 0, 0x0033);
  }
  {  // Failures the service chooses: 'E' fails with the rest as grpc-message (percent-encoded),
     // 'F' ends a stream inside openStream.
    Client c;
    Body fail = message("Eno such device: dev-9\n100% gone \xff");
    c.call(grpcFields("Allocate"), &fail);
    Body failStream = message("Enot now");
    c.call(grpcFields("ListAndWatch"), &failStream);
    Body finishStream = message("F");
    c.call(grpcFields("ListAndWatch"), &finishStream);
    write("service_errors", c.drain(), 64);
  }
  {  // Request checks: GET, JSON, unknown method, malformed grpc-timeout, no :path.
    Client c;
    Fields get = grpcFields("Allocate");
    get[0].second = "GET";
    c.call(get, nullptr);
    Fields json = grpcFields("Allocate");
    json[4].second = "application/json";
    Body jsonBody{"{}", {}};
    c.call(json, &jsonBody);
    Fields plus = grpcFields("Allocate");
    plus[4].second = "application/grpc+proto";
    Body ok = message("x");
    c.call(plus, &ok);
    c.call({{":method", "POST"}, {":scheme", "http"}, {"content-type", "application/grpc"}}, &ok);
    Body empty = message("");
    c.call(grpcFields("Nope"), &empty);
    Fields badTimeout = grpcFields("Allocate");
    badTimeout.push_back({"grpc-timeout", "123456789x"});
    c.call(badTimeout, &empty);
    write("request_checks", c.drain(), 33);
  }
  {  // Message framing errors: compressed flag, bad flag, a request that ends inside a message,
     // two messages on a unary call, no message at all, and client trailers.
    Client c;
    Body compressed{framed("abc", 1), {}};
    c.call(grpcFields("Allocate"), &compressed);
    Body badFlag{framed("abc", 7), {}};
    c.call(grpcFields("Allocate"), &badFlag);
    Body truncated{framed("abcdef").substr(0, 8), {}};
    c.call(grpcFields("Allocate"), &truncated);
    Body two{framed("a") + framed("b"), {}};
    c.call(grpcFields("Allocate"), &two);
    c.call(grpcFields("Allocate"), nullptr);
    Body withTrailers{framed("t"), {{"x-trailer", "1"}}};
    c.call(grpcFields("Allocate"), &withTrailers);
    write("framing_errors", c.drain(), 16);
  }
  {  // A message over the maximum (16 bytes with options 2): RESOURCE_EXHAUSTED.
    Client c;
    Body big = message(std::string(100, 'b'));
    c.call(grpcFields("Allocate"), &big);
    write("too_large", c.drain(), 0, 2);
  }
  {  // A 24 KiB answer through a small send buffer (options bit 2): short sends, EPOLLOUT waits.
    Client c;
    Body big = message(std::string(6000, 's'));
    c.call(grpcFields("Allocate"), &big);
    write("short_sends", c.drain(), 0, 4);
  }
  {  // A zero window: the answer waits for WINDOW_UPDATEs, a few bytes at a time.
    Client c({{NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 0}});
    Body body = message(std::string(50, 'w'));
    int32_t id = c.call(grpcFields("Allocate"), &body);
    int32_t watch = c.call(grpcFields("ListAndWatch"), &body);
    for (int i = 0; i < 20; ++i) {
      nghttp2_submit_window_update(c.session(), NGHTTP2_FLAG_NONE, id, 13);
      nghttp2_submit_window_update(c.session(), NGHTTP2_FLAG_NONE, watch, 7);
      c.drain();
    }
    write("zero_window", c.drain(), 24, 0, 0x0777);
  }
  {  // An HPACK bomb: one 2 KB header, then 1-byte references to it, past the 16 KiB limit.
    Client c;
    Fields bomb = grpcFields("Allocate");
    for (int i = 0; i < 16; ++i) bomb.push_back({"x-bomb", std::string(2000, 'b')});
    Body body = message("x");
    c.call(bomb, &body);
    c.call(grpcFields("Allocate"), &body);  // the connection still serves the next call
    write("hpack_bomb", c.drain());
  }
  {  // Rapid reset (CVE-2023-44487): streams opened and cancelled at once.
    Client c;
    Body body = message("r");
    for (int i = 0; i < 40; ++i) {
      int32_t id = c.call(grpcFields(i % 2 ? "ListAndWatch" : "Allocate"), &body);
      nghttp2_submit_rst_stream(c.session(), NGHTTP2_FLAG_NONE, id, NGHTTP2_CANCEL);
    }
    write("rapid_reset", c.drain(), 100);
  }
  {  // Protocol errors nghttp2 answers with GOAWAY: DATA on stream 0, CONTINUATION out of the
     // blue, an oversized frame, a bad preface.
    Client c;
    std::string start = c.drain();
    write("data_on_stream_0", start + frame(NGHTTP2_DATA, 0, 0, framed("x")));
    write("stray_continuation", start + frame(NGHTTP2_CONTINUATION, 4, 1, "\x82"));
    std::string oversized = frame(NGHTTP2_DATA, 0, 1, std::string(16, 'o'));
    oversized[0] = 0;  // the header announces 20000 bytes; nghttp2 refuses it at the header
    oversized[1] = static_cast<char>(20000 >> 8);
    oversized[2] = static_cast<char>(20000 & 0xff);
    write("oversized_frame", start + oversized);
    write("bad_preface", "PRI * HTTP/1.1\r\nHost: x\r\n\r\n" + start.substr(24));
  }
  return failures == 0 ? 0 : 1;
}
