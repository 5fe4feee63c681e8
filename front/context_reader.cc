// front/context_reader.cc - see front/context_reader.h.
#include "front/context_reader.h"

#include <unistd.h>

#include <cerrno>

namespace pftls::front {

ContextReader::ContextReader(event_base* base, int fd, std::chrono::seconds timeout, DoneFn done)
    : base_(base), fd_(fd), timeout_(timeout), done_(std::move(done)) {}

bool ContextReader::Start() {
  ev_.reset(event_new(base_, fd_, EV_READ | EV_PERSIST, OnRead, this));
  if (!ev_) return false;
  timeval tv{static_cast<time_t>(timeout_.count()), 0};
  return event_add(ev_.get(), &tv) == 0;
}

void ContextReader::OnRead(evutil_socket_t, short what, void* arg) { static_cast<ContextReader*>(arg)->Read(what); }

void ContextReader::Read(short what) {
  ContextResult r;
  if (what & EV_TIMEOUT) {
    r.kind = ContextResult::Kind::kTimeout;
    return Done(std::move(r));
  }
  uint8_t buf[4096];
  ssize_t n = read(fd_, buf, sizeof(buf));
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  if (n <= 0) {
    r.kind = ContextResult::Kind::kClosed;  // the handshake failed; tlsproxy logged why
    return Done(std::move(r));
  }
  auto used = parser_.Feed(std::span<const uint8_t>(buf, static_cast<size_t>(n)));
  if (!used) {
    r.error = used.error();
    return Done(std::move(r));
  }
  bytes_ += *used;
  if (!parser_.done()) {
    if (bytes_ > kMaxContextBytes) {
      r.error = "too long";
      return Done(std::move(r));
    }
    return;
  }
  auto ctx = ipc::TlsContext::Decode(parser_.Take());
  if (ctx) {
    if (Status v = ctx->Validate(); !v) ctx = MakeError(v.error());
  }
  if (!ctx) {
    r.error = ctx.error();
    return Done(std::move(r));
  }
  r.kind = ContextResult::Kind::kOk;
  r.ctx = std::move(*ctx);
  r.early.assign(reinterpret_cast<const char*>(buf) + *used, static_cast<size_t>(n) - *used);
  Done(std::move(r));
}

void ContextReader::Done(ContextResult r) {
  ev_.reset();
  DoneFn done = std::move(done_);
  done(std::move(r));  // may destroy *this: nothing after this line
}

}  // namespace pftls::front
