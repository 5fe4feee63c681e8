// front/handoff_client.cc - see front/handoff_client.h.
#include "front/handoff_client.h"

#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "ipc/fdpass.h"
#include "ipc/msg_announce.h"
#include "ipc/unix_socket.h"
#include "util/timeval.h"

namespace pftls::front {

HandoffClient::HandoffClient(event_base* base, std::string socket_path, ipc::TlsproxyRequest request,
                             int client_fd, DoneFn done, std::chrono::milliseconds timeout)
    : base_(base),
      path_(std::move(socket_path)),
      request_(std::move(request)),
      client_fd_(client_fd),
      done_(std::move(done)),
      timeout_(timeout) {}

HandoffClient::~HandoffClient() = default;

void HandoffClient::Start() {
  if (deadline_ == std::chrono::steady_clock::time_point{}) deadline_ = std::chrono::steady_clock::now() + timeout_;
  bool in_progress = false;
  auto fd = ipc::ConnectUnix(path_, &in_progress);
  if (!fd && errno == EAGAIN && std::chrono::steady_clock::now() + kConnectRetry < deadline_) {
    // tlsproxy's listen queue is full (a burst, or every process at its
    // descriptor limit while master starts another): wait a little and
    // try again within the hand-off deadline, as a TCP client would.
    ev_.reset(evtimer_new(base_, OnRetry, this));
    if (!ev_) return Fail("cannot create event");
    timeval tv = ToTimeval(kConnectRetry);
    evtimer_add(ev_.get(), &tv);
    return;
  }
  if (!fd) return Fail(fd.error());
  sock_ = std::move(*fd);
  state_ = in_progress ? State::kConnecting : State::kAnnounce;
  if (!in_progress && early()) {
    if (SendRequest()) Succeed();
    return;  // either way the callback ran: *this may be gone
  }
  ev_.reset(event_new(base_, sock_.get(), in_progress ? EV_WRITE : EV_READ, OnEvent, this));
  if (!ev_) return Fail("cannot create event");
  if (!in_progress && !SendRequest()) return;
  ArmTimer();
}

// SendRequest - the request goes out at once, ahead of the announcement:
// tlsproxy reads it after writing its own, so the announcement and the
// status then arrive together (one wake-up on each side, not two).
bool HandoffClient::SendRequest() {
  auto req = request_.Encode();
  if (!req) {
    Fail(req.error());
    return false;
  }
  if (early()) {
    if (Status st = ipc::SendWithFd(sock_.get(), req->data(), req->size(), client_fd_); !st) {
      Fail("send request: " + st.error());
      return false;
    }
    return true;
  }
  if (send(sock_.get(), req->data(), req->size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req->size())) {
    Fail(std::string("send request: ") + strerror(errno));
    return false;
  }
  return true;
}

void HandoffClient::ArmTimer() {
  timeval tv = ToTimeval(timeout_);
  event_add(ev_.get(), &tv);
}

void HandoffClient::OnEvent(evutil_socket_t, short what, void* arg) { static_cast<HandoffClient*>(arg)->Step(what); }
void HandoffClient::OnRetry(evutil_socket_t, short, void* arg) { static_cast<HandoffClient*>(arg)->Start(); }

void HandoffClient::Step(short what) {
  if (what & EV_TIMEOUT) return Fail("timeout");
  if (state_ == State::kConnecting) {
    int err = 0;
    socklen_t len = sizeof(err);
    if (getsockopt(sock_.get(), SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0)
      return Fail(std::string("connect: ") + strerror(err ? err : errno));
    state_ = State::kAnnounce;
    event_assign(ev_.get(), base_, sock_.get(), EV_READ, OnEvent, this);
    if (!SendRequest()) return;
    if (early()) return Succeed();
    ArmTimer();
    return;
  }
  ReadRecord();
}

void HandoffClient::ReadRecord() {
  uint8_t buf[512];
  ssize_t n = read(sock_.get(), buf, sizeof(buf));
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return ArmTimer();
  if (n <= 0) return Fail(n == 0 ? "unexpected end of file" : strerror(errno));
  std::span<const uint8_t> data(buf, static_cast<size_t>(n));
  while (!data.empty()) {
    auto used = parser_.Feed(data);
    if (!used) return Fail(used.error());
    data = data.subspan(*used);
    if (!parser_.done()) return ArmTimer();
    ipc::Record rec = parser_.Take();
    if (state_ == State::kAnnounce) {
      auto a = ipc::Announce::Decode(rec);
      if (!a) return Fail(a.error());
      if (Status v = a->Validate(ipc::kTlsproxyProtocol); !v) return Fail(v.error());
      state_ = State::kStatus;
      continue;  // the status may have come in the same read
    }
    if (!data.empty()) return Fail("unexpected data from tlsproxy");
    auto st = ipc::TlsproxyStatus::Decode(rec);
    if (!st) return Fail(st.error());
    if (st->status != 1) return Fail("tlsproxy says TLS is not available");
    if (Status s = ipc::SendFd(sock_.get(), client_fd_); !s) return Fail(s.error());
    return Succeed();
  }
  ArmTimer();
}

void HandoffClient::Fail(const std::string& why) {
  if (state_ == State::kDone) return;
  state_ = State::kDone;
  ev_.reset();
  sock_.reset();
  HandoffResult r;
  r.error = path_ + ": " + why;
  DoneFn done = std::move(done_);
  done(std::move(r));  // may destroy *this: nothing after this line
}

void HandoffClient::Succeed() {
  state_ = State::kDone;
  ev_.reset();
  HandoffResult r;
  r.ready = true;
  r.prelude = early();
  r.proxy = std::move(sock_);
  DoneFn done = std::move(done_);
  done(std::move(r));
}

}  // namespace pftls::front
