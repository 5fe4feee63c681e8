// front/context_reader.cc - see front/context_reader.h.
#include "front/context_reader.h"

#include <unistd.h>

#include <cerrno>

#include "ipc/msg_announce.h"
#include "ipc/msg_tlsproxy.h"
#include "util/log.h"

namespace pftls::front {

bool ContextReader::Start(event_base* base, int fd, std::chrono::seconds timeout, std::string endpoint,
                          DoneFn done, bool prelude) {
  fd_ = fd;
  stage_ = prelude ? Stage::kAnnounce : Stage::kContext;
  endpoint_ = std::move(endpoint);
  done_ = std::move(done);
  ev_.reset(event_new(base, fd_, EV_READ | EV_PERSIST, OnRead, this));
  if (!ev_) return false;
  timeval tv{static_cast<time_t>(timeout.count()), 0};
  return event_add(ev_.get(), &tv) == 0;
}

void ContextReader::OnRead(evutil_socket_t, short what, void* arg) { static_cast<ContextReader*>(arg)->Read(what); }

void ContextReader::Read(short what) {
  ContextResult r;
  if (what & EV_TIMEOUT) {
    r.failure = "TLS handshake timeout";
    return Done(std::move(r));
  }
  uint8_t buf[4096];
  ssize_t n = read(fd_, buf, sizeof(buf));
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  if (n <= 0) {
    // tlsproxy logged why (with the early hand-off its status comes with
    // the context list: an end before it is a failed handshake too).
    r.failure = "TLS handshake failed";
    return Done(std::move(r));
  }
  std::span<const uint8_t> data(buf, static_cast<size_t>(n));
  for (;;) {
    auto used = parser_.Feed(data);
    if (!used) return Bad(used.error());
    bytes_ += *used;
    data = data.subspan(*used);
    if (!parser_.done()) {
      if (bytes_ > kMaxContextBytes) return Bad("too long");
      return;
    }
    if (stage_ == Stage::kContext) break;
    if (!Prelude(parser_.Take())) return;  // Done() ran
  }
  auto ctx = ipc::TlsContext::Decode(parser_.Take());
  if (!ctx) return Bad(ctx.error());
  if (Status v = ctx->Validate(); !v) return Bad(v.error());
  r.ctx = std::move(*ctx);
  r.early.assign(reinterpret_cast<const char*>(data.data()), data.size());
  Done(std::move(r));
}

bool ContextReader::Prelude(const ipc::Record& rec) {
  if (stage_ == Stage::kAnnounce) {
    auto a = ipc::Announce::Decode(rec);
    Status v = a ? a->Validate(ipc::kTlsproxyProtocol) : Status(MakeError(a.error()));
    if (!v) {
      log::Warn("%s: bad announcement from tlsproxy: %s", endpoint_.c_str(), v.error().c_str());
      ContextResult r;
      r.failure = "TLS not available";
      Done(std::move(r));
      return false;
    }
    stage_ = Stage::kStatus;
    return true;
  }
  auto st = ipc::TlsproxyStatus::Decode(rec);
  if (!st || st->status != 1) {
    log::Warn("%s: %s", endpoint_.c_str(),
              st ? "tlsproxy says TLS is not available" : ("bad status from tlsproxy: " + st.error()).c_str());
    ContextResult r;
    r.failure = "TLS not available";
    Done(std::move(r));
    return false;
  }
  stage_ = Stage::kContext;
  return true;
}

void ContextReader::Bad(const std::string& why) {
  log::Warn("bad TLS context from tlsproxy for %s: %s", endpoint_.c_str(), why.c_str());
  ContextResult r;
  r.failure = "bad TLS context";
  Done(std::move(r));
}

void ContextReader::Done(ContextResult r) {
  ev_.reset();
  DoneFn done = std::move(done_);
  done(std::move(r));  // may destroy *this: nothing after this line
}

}  // namespace pftls::front
