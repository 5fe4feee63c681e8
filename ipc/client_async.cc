// ipc/client_async.cc - see ipc/client_async.h.
#include "ipc/client_async.h"
#include "ipc/unix_socket.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <csignal>
#include <cerrno>
#include <cstring>

#include "ipc/msg_announce.h"
#include "util/log.h"
#include "util/timeval.h"

namespace pftls::ipc {
namespace {

}  // namespace

AsyncClient::AsyncClient(event_base* base, AsyncClientOptions options)
    : base_(base), opts_(std::move(options)), timer_(evtimer_new(base, &AsyncClient::TimerCb, this)) {
  // libevent writes with writev(): a server that hung up must not kill us.
  signal(SIGPIPE, SIG_IGN);
}

AsyncClient::~AsyncClient() { *alive_ = false; }

void AsyncClient::Fail(const std::string& why, Callback cb) { cb(MakeError(why)); }

void AsyncClient::Call(std::string request, Callback cb) {
  queue_.push_back(Pending{std::move(request), std::move(cb), Clock::now() + opts_.timeout,
                           std::max(1, opts_.attempts)});
  StartNext();
}

void AsyncClient::Close() {
  Drop();
  while (!queue_.empty()) {
    auto alive = alive_;
    Complete(MakeError(opts_.path + ": connection closed"));
    if (!*alive) return;
  }
}

void AsyncClient::Drop() {
  bev_.reset();
  parser_.Reset();
  state_ = State::kIdle;
  if (timer_) evtimer_del(timer_.get());
}

// ArmTimer - the front request's deadline, or the idle timeout.
void AsyncClient::ArmTimer() {
  if (!timer_) return;
  timeval tv = queue_.empty() ? ToTimeval(opts_.idle_timeout) : ToTimeval(queue_.front().deadline - Clock::now());
  evtimer_add(timer_.get(), &tv);
}

void AsyncClient::StartNext() {
  if (state_ == State::kConnecting || state_ == State::kHello || state_ == State::kAwaitReply) return;
  if (queue_.empty()) {
    if (state_ == State::kReady) ArmTimer();  // idle close
    return;
  }
  if (state_ == State::kReady && Clock::now() - opened_ > opts_.ttl) Drop();
  if (state_ == State::kIdle) {
    Connect();
    return;
  }
  SendFront();
}

void AsyncClient::Connect() {
  // ConnectUnix: the socket may come from the pre-jail reserve (tlsproxy).
  bool in_progress = false;
  Result<UniqueFd> fd = ConnectUnix(opts_.path, &in_progress);
  if (!fd) {
    state_ = State::kConnecting;
    TransportFailure(fd.error());
    return;
  }
  bev_.reset(bufferevent_socket_new(base_, fd->get(), BEV_OPT_CLOSE_ON_FREE));
  if (!bev_) {
    TransportFailure("cannot allocate a bufferevent");
    return;
  }
  fd->release();  // owned by the bufferevent now
  bufferevent_setcb(bev_.get(), &AsyncClient::ReadCb, nullptr, &AsyncClient::EventCb, this);
  state_ = State::kConnecting;
  opened_ = Clock::now();
  ArmTimer();
  // A UNIX-domain connect completes at once (or fails at once); the
  // announcement (or, without one, readiness) is handled in OnRead/OnEvent.
  bufferevent_enable(bev_.get(), EV_READ);
  if (bev_ && state_ == State::kConnecting) {
    state_ = opts_.protocol.empty() ? State::kReady : State::kHello;
    if (state_ == State::kReady) SendFront();
  }
}

void AsyncClient::SendFront() {
  if (queue_.empty() || !bev_) return;
  parser_.Reset();
  bufferevent_write(bev_.get(), queue_.front().bytes.data(), queue_.front().bytes.size());
  state_ = State::kAwaitReply;
  ArmTimer();
}

// Complete - pop the front request and run its callback.
void AsyncClient::Complete(Result<Record> result) {
  if (queue_.empty()) return;
  Callback cb = std::move(queue_.front().cb);
  queue_.pop_front();
  cb(std::move(result));
}

void AsyncClient::TransportFailure(const std::string& why) {
  Drop();
  if (queue_.empty()) return;
  Pending& front = queue_.front();
  if (--front.attempts_left > 0 && Clock::now() < front.deadline) {
    StartNext();  // reconnect once
    return;
  }
  auto alive = alive_;
  Complete(MakeError(opts_.path + ": " + why));
  if (*alive) StartNext();
}

void AsyncClient::OnRead() {
  evbuffer* in = bufferevent_get_input(bev_.get());
  while (evbuffer_get_length(in) > 0) {
    if (state_ != State::kHello && state_ != State::kAwaitReply) {
      log::Warn("%s: unsolicited data from server; closing", opts_.path.c_str());
      TransportFailure("unsolicited data from server");
      return;
    }
    evbuffer_iovec vec;
    if (evbuffer_peek(in, -1, nullptr, &vec, 1) < 1) break;
    Result<size_t> used =
        parser_.Feed(std::span<const uint8_t>(static_cast<const uint8_t*>(vec.iov_base), vec.iov_len));
    if (!used) {
      log::Warn("%s: %s", opts_.path.c_str(), used.error().c_str());
      Drop();
      auto alive = alive_;
      Complete(MakeError(opts_.path + ": " + used.error()));
      if (*alive) StartNext();
      return;
    }
    evbuffer_drain(in, *used);
    if (!parser_.done()) continue;
    Record rec = parser_.Take();
    if (state_ == State::kHello) {
      Result<Announce> a = Announce::Decode(rec);
      Status ok = a ? a->Validate(opts_.protocol) : Status(MakeError(a.error()));
      if (!ok) {
        log::Warn("%s: %s", opts_.path.c_str(), ok.error().c_str());
        Drop();
        auto alive = alive_;
        Complete(MakeError(opts_.path + ": " + ok.error()));
        if (*alive) StartNext();
        return;
      }
      state_ = State::kReady;
      SendFront();
      continue;
    }
    // kAwaitReply: the reply must be the last thing the server sent.
    if (evbuffer_get_length(in) != 0) {
      log::Warn("%s: unexpected bytes after the reply; closing", opts_.path.c_str());
      Drop();
      auto alive = alive_;
      Complete(MakeError(opts_.path + ": unexpected bytes after the reply"));
      if (*alive) StartNext();
      return;
    }
    state_ = State::kReady;
    auto alive = alive_;
    Complete(std::move(rec));
    if (*alive) StartNext();
    return;
  }
}

void AsyncClient::OnEvent(short what) {
  if (what & BEV_EVENT_CONNECTED) return;
  if (state_ == State::kReady && queue_.empty()) {
    Drop();  // the server closed an idle connection
    return;
  }
  if (what & BEV_EVENT_EOF) {
    TransportFailure("unexpected end of file");
  } else if (what & BEV_EVENT_ERROR) {
    int err = EVUTIL_SOCKET_ERROR();
    TransportFailure(std::string("connection error: ") + std::strerror(err));
  }
}

void AsyncClient::OnTimer() {
  if (queue_.empty()) {
    Drop();  // idle timeout
    return;
  }
  if (Clock::now() < queue_.front().deadline) {
    ArmTimer();
    return;
  }
  Drop();
  auto alive = alive_;
  Complete(MakeError(opts_.path + ": timeout"));
  if (*alive) StartNext();
}

void AsyncClient::ReadCb(bufferevent*, void* arg) { static_cast<AsyncClient*>(arg)->OnRead(); }
void AsyncClient::EventCb(bufferevent*, short what, void* arg) { static_cast<AsyncClient*>(arg)->OnEvent(what); }
void AsyncClient::TimerCb(evutil_socket_t, short, void* arg) { static_cast<AsyncClient*>(arg)->OnTimer(); }

}  // namespace pftls::ipc
