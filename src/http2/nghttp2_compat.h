#pragma once

// nghttp2 1.61 added the nghttp2_ssize API (mem_recv2, mem_send2, data_provider2) and deprecated
// the ssize_t one. Debian 12 ships 1.52, which has only the old names; everything else in
// http2/ goes through these aliases so the code is the same on both.

#include <nghttp2/nghttp2.h>

namespace udp::http2 {

#if NGHTTP2_VERSION_NUM >= 0x013d00
using Nghttp2Ssize = nghttp2_ssize;
using Nghttp2DataProvider = nghttp2_data_provider2;
inline Nghttp2Ssize memRecv(nghttp2_session* s, const uint8_t* in, size_t len) {
  return nghttp2_session_mem_recv2(s, in, len);
}
inline Nghttp2Ssize memSend(nghttp2_session* s, const uint8_t** out) {
  return nghttp2_session_mem_send2(s, out);
}
inline int submitResponse(nghttp2_session* s, int32_t id, const nghttp2_nv* nva, size_t n,
                          const Nghttp2DataProvider* dp) {
  return nghttp2_submit_response2(s, id, nva, n, dp);
}
inline int32_t submitRequest(nghttp2_session* s, const nghttp2_nv* nva, size_t n,
                             const Nghttp2DataProvider* dp, void* streamUserData) {
  return nghttp2_submit_request2(s, nullptr, nva, n, dp, streamUserData);
}
#define UDP_NGHTTP2_SET_READ_CALLBACK(provider, fn) (provider).read_callback = (fn)
#else
using Nghttp2Ssize = ssize_t;
using Nghttp2DataProvider = nghttp2_data_provider;
inline Nghttp2Ssize memRecv(nghttp2_session* s, const uint8_t* in, size_t len) {
  return nghttp2_session_mem_recv(s, in, len);
}
inline Nghttp2Ssize memSend(nghttp2_session* s, const uint8_t** out) {
  return nghttp2_session_mem_send(s, out);
}
inline int submitResponse(nghttp2_session* s, int32_t id, const nghttp2_nv* nva, size_t n,
                          const Nghttp2DataProvider* dp) {
  return nghttp2_submit_response(s, id, nva, n, dp);
}
inline int32_t submitRequest(nghttp2_session* s, const nghttp2_nv* nva, size_t n,
                             const Nghttp2DataProvider* dp, void* streamUserData) {
  return nghttp2_submit_request(s, nullptr, nva, n, dp, streamUserData);
}
#define UDP_NGHTTP2_SET_READ_CALLBACK(provider, fn) (provider).read_callback = (fn)
#endif

}  // namespace udp::http2
