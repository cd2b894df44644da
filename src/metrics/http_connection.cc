#include "metrics/http_connection.h"

#include <errno.h>
#include <sys/socket.h>

#include <ctime>

namespace udp::metrics {
namespace {

constexpr size_t kRecvBufferSize = 4096;
constexpr std::string_view kAllowedMethods = "GET, HEAD";

}  // namespace

HttpConnection::HttpConnection(reactor::Reactor& reactor, UniqueFd fd, const HttpHandler& handler,
                               const HttpLimits& limits)
    : reactor_(reactor),
      fd_(std::move(fd)),
      handler_(handler),
      limits_(limits),
      parser_(limits.maxHeadBytes),
      recvBuf_(new char[kRecvBufferSize]) {}

void HttpConnection::start() {
  deadline_ = Clock::now() + limits_.idleTimeout;
  armTimer();
  armRecv();
}

void HttpConnection::armTimer() {
  if (closing_ || timerOp_.pending()) return;
  timerAt_ = deadline_;
  reactor_.timeout(timerOp_, deadline_ - Clock::now());
}

void HttpConnection::onTimer(int, uint32_t) noexcept {
  if (closing_) return;
  // The deadline moves with activity; the timer only checks it (no cancel per request). A
  // timer cancelled because the deadline came closer lands here too and is re-armed.
  if (Clock::now() >= deadline_) {
    close();
    return;
  }
  armTimer();
}

void HttpConnection::armRecv() {
  if (closing_ || peerDone_ || recvOp_.pending()) return;
  if (!lingering_ &&
      (closeAfterSend_ || inOffset_ < in_.size() || queuedBytes() >= limits_.maxQueuedBytes)) {
    return;  // reading resumes once the peer has taken our answers
  }
  // recvBuf_ belongs to recvOp_ until its completion arrives.
  reactor_.recv(recvOp_, fd_.get(), recvBuf_.get(), kRecvBufferSize);
}

void HttpConnection::onRecv(int res, uint32_t) noexcept {
  if (closing_) return;
  if (res == -EINTR || res == -EAGAIN) {
    armRecv();
    return;
  }
  if (res < 0) {
    close();
    return;
  }
  if (res == 0 && lingering_) {
    close();
    return;
  }
  if (res == 0) {
    // The peer may half-close after its last request: answer what was asked, then close.
    peerDone_ = true;
    closeAfterSend_ = true;
    flush();
    return;
  }
  if (!lingering_) {
    in_.append(recvBuf_.get(), static_cast<size_t>(res));
    processInput();
  }
  armRecv();
  flush();
}

void HttpConnection::processInput() {
  while (!closeAfterSend_ && inOffset_ < in_.size() && queuedBytes() < limits_.maxQueuedBytes) {
    ParseStep step = parser_.feed(std::string_view(in_).substr(inOffset_));
    inOffset_ += step.consumed;
    if (step.status == ParseStatus::kIncomplete) break;
    if (step.status == ParseStatus::kError) {
      int status = parser_.errorStatus();
      ResponseFraming framing;
      framing.close = true;
      queue(textResponse(status, reasonPhrase(status)), framing);
      break;
    }
    answer(parser_.request());
    parser_.reset();
  }
  if (closeAfterSend_ || inOffset_ == in_.size()) {
    in_.clear();
    inOffset_ = 0;
  }
}

void HttpConnection::answer(const HttpRequest& request) {
  deadline_ = Clock::now() + limits_.idleTimeout;
  ResponseFraming framing;
  framing.head = request.method == "HEAD";
  framing.close = !request.keepAlive;
  framing.keepAliveHeader = request.keepAlive && request.minorVersion == 0;
  if (request.method != "GET" && !framing.head) {
    framing.allow = kAllowedMethods;
    queue(textResponse(405, "method not allowed"), framing);
    return;
  }
  queue(handler_(request.method, request.path), framing);
}

void HttpConnection::queue(const HttpResponse& response, const ResponseFraming& framing) {
  ResponseFraming dated = framing;
  dated.date = std::time(nullptr);
  appendResponse(out_, response, dated);
  if (framing.close) closeAfterSend_ = true;
}

void HttpConnection::flush() {
  if (closing_ || sendOp_.pending()) return;
  if (out_.empty()) {
    if (closeAfterSend_) afterLastResponse();
    return;
  }
  sending_.swap(out_);
  out_.clear();
  sendingOffset_ = 0;
  // sending_ belongs to sendOp_ until its completion arrives; answers queue in out_ meanwhile.
  reactor_.send(sendOp_, fd_.get(), sending_.data(), sending_.size());
}

void HttpConnection::onSend(int res, uint32_t) noexcept {
  if (closing_) return;
  if (res == -EINTR || res == -EAGAIN) res = 0;
  if (res < 0) {
    close();
    return;
  }
  if (res > 0) deadline_ = Clock::now() + limits_.idleTimeout;
  sendingOffset_ += static_cast<size_t>(res);
  if (sendingOffset_ < sending_.size()) {
    reactor_.send(sendOp_, fd_.get(), sending_.data() + sendingOffset_,
                  sending_.size() - sendingOffset_);
    return;
  }
  sending_.clear();
  sendingOffset_ = 0;
  processInput();  // requests held back while the queue was full
  armRecv();
  flush();
}

void HttpConnection::afterLastResponse() {
  if (lingering_) return;
  if (peerDone_ || stopping_) {
    close();
    return;
  }
  // Half-close so the peer reads our answer and EOF, and drain what it still sends until it
  // closes or the linger deadline passes (a close with unread input would send RST).
  lingering_ = true;
  ::shutdown(fd_.get(), SHUT_WR);
  deadline_ = Clock::now() + limits_.lingerTimeout;
  if (timerOp_.pending() && deadline_ < timerAt_) reactor_.cancel(timerOp_);
  armRecv();
}

void HttpConnection::closeAfterResponses() {
  if (closing_) return;
  stopping_ = true;
  closeAfterSend_ = true;
  in_.clear();
  inOffset_ = 0;
  flush();
}

void HttpConnection::close() {
  if (closing_) return;
  closing_ = true;
  // Pending ops complete promptly after shutdown and cancel; the fd is closed only when the
  // owner frees us, after every completion, so the kernel never sees a reused fd number.
  ::shutdown(fd_.get(), SHUT_RDWR);
  reactor_.cancel(recvOp_);
  reactor_.cancel(sendOp_);
  reactor_.cancel(timerOp_);
  in_.clear();
  out_.clear();
}

}  // namespace udp::metrics
