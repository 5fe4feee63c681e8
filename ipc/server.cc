// ipc/server.cc - see ipc/server.h.
#include "ipc/server.h"

#include <sys/socket.h>

#include <cerrno>
#include <csignal>
#include <cstring>

#include "ipc/msg_announce.h"
#include "util/log.h"
#include "util/timeval.h"

namespace pftls::ipc {
namespace {

}  // namespace

// ---- Connection

Connection::Connection(Key, Server* server, uint64_t id, UniqueFd fd)
    : server_(server), id_(id), name_(server->opts_.service + "[" + std::to_string(id) + "]"), fd_(std::move(fd)) {}

Connection::~Connection() {
  // Events before the descriptor (member order does the same; explicit
  // here because HandOff releases fd_ first).
  timer_.reset();
  bev_.reset();
}

Status Connection::Start() {
  bev_.reset(bufferevent_socket_new(server_->base_, fd_.get(), 0));
  timer_.reset(evtimer_new(server_->base_, &Connection::TimerCb, this));
  if (!bev_ || !timer_) return MakeError("cannot allocate connection events");
  bufferevent_setcb(bev_.get(), &Connection::ReadCb, &Connection::WriteCb, &Connection::EventCb, this);
  if (!server_->opts_.protocol.empty()) {
    Result<std::string> hello = Announce{server_->opts_.protocol}.Encode();
    if (!hello) return MakeError(hello.error());
    Send(*hello);
  }
  if (bufferevent_enable(bev_.get(), EV_READ | EV_WRITE) != 0) return MakeError("cannot enable connection events");
  ArmIdle();
  return Status::Ok();
}

void Connection::Send(std::string_view bytes) {
  if (!bev_) return;
  out_.append(bytes);
  if (!in_read_) Flush();
}

// Flush - write what Send() collected: directly when nothing is queued in
// the bufferevent (the common case: no write event to arm and disarm),
// the rest through the bufferevent. A write error other than EAGAIN is
// left to the bufferevent, which reports it through OnEvent().
void Connection::Flush() {
  if (out_.empty() || !bev_) return;
  evbuffer* o = bufferevent_get_output(bev_.get());
  size_t off = 0;
  if (evbuffer_get_length(o) == 0) {
    ssize_t w = ::send(fd_.get(), out_.data(), out_.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (w > 0) off = static_cast<size_t>(w);
  }
  if (off < out_.size()) bufferevent_write(bev_.get(), out_.data() + off, out_.size() - off);
  out_.clear();
}

void Connection::HandOff(HandOffFn fn) {
  handoff_ = std::move(fn);
  bufferevent_disable(bev_.get(), EV_READ);
  timeval tv = ToTimeval(server_->opts_.read_timeout);
  evtimer_add(timer_.get(), &tv);
}

void Connection::ArmIdle() {
  timeval tv = ToTimeval(server_->opts_.idle_timeout);
  evtimer_add(timer_.get(), &tv);
}

void Connection::Violation(const std::string& reason) {
  log::Warn("%s: %s; dropping connection", name_.c_str(), reason.c_str());
  Finish();
}

void Connection::Finish() { server_->Remove(id_); }

// Dispatch - route one record; false when *this was destroyed.
bool Connection::Dispatch(const Record& rec) {
  const ServerOptions& o = server_->opts_;
  std::string key;
  if (!o.route_attr.empty()) {
    if (rec.empty() || rec.front().is_group || rec.front().name != o.route_attr) {
      Violation("record does not start with \"" + o.route_attr + "\"");
      return false;
    }
    key = rec.front().value;
  }
  const Route* route = server_->FindRoute(key);
  const Handler* h = route ? &route->handler : (o.unknown ? &o.unknown : nullptr);
  if (h == nullptr) {
    Violation(o.route_attr.empty() ? std::string("unexpected record")
                                   : "unknown " + o.route_attr + " \"" + key.substr(0, kMaxNameLen) + "\"");
    return false;
  }
  if ((*h)(*this, rec) == Next::kClose) {
    closing_ = true;
    bufferevent_disable(bev_.get(), EV_READ);
    timeval tv = ToTimeval(o.read_timeout);
    evtimer_add(timer_.get(), &tv);
  }
  return true;
}

void Connection::OnRead() {
  evbuffer* in = bufferevent_get_input(bev_.get());
  if (first_read_) {
    first_read_ = false;
    if (server_->opts_.master_trigger && evbuffer_get_length(in) <= 2) {
      if (log::Verbose()) log::Info("%s: wake-up trigger, disconnecting", name_.c_str());
      Finish();
      return;
    }
  }
  in_read_ = true;
  while (evbuffer_get_length(in) > 0 && !closing_ && !handoff_) {
    bool was_started = parser_.started();
    evbuffer_iovec vec;
    if (evbuffer_peek(in, -1, nullptr, &vec, 1) < 1) break;
    Result<size_t> used =
        parser_.Feed(std::span<const uint8_t>(static_cast<const uint8_t*>(vec.iov_base), vec.iov_len));
    if (!used) {
      Violation(used.error());
      return;
    }
    evbuffer_drain(in, *used);
    if (!was_started && parser_.started()) {
      // The record deadline runs from its first byte; never re-armed.
      timeval tv = ToTimeval(server_->opts_.read_timeout);
      evtimer_add(timer_.get(), &tv);
    }
    if (parser_.done()) {
      Record rec = parser_.Take();
      if (!Dispatch(rec)) return;
      if (!closing_ && !handoff_) ArmIdle();
    }
  }
  in_read_ = false;
  Flush();
  OnWritten();
}

// OnWritten - output drained (or checked after a dispatch).
void Connection::OnWritten() {
  if (evbuffer_get_length(bufferevent_get_output(bev_.get())) != 0) return;
  if (handoff_) {
    HandOffFn fn = std::move(handoff_);
    evbuffer* in = bufferevent_get_input(bev_.get());
    std::string unread(evbuffer_get_length(in), '\0');
    if (!unread.empty()) evbuffer_remove(in, unread.data(), unread.size());
    bev_.reset();
    timer_.reset();
    UniqueFd sock(fd_.release());
    Finish();  // destroys *this
    fn(std::move(sock), std::move(unread));
    return;
  }
  if (closing_) Finish();
}

void Connection::OnEvent(short what) {
  if (what & BEV_EVENT_EOF) {
    if (parser_.started()) {
      Violation("unexpected end of file inside a record");
      return;
    }
    if (log::Verbose()) log::Info("%s: disconnect", name_.c_str());
    Finish();
    return;
  }
  if (what & BEV_EVENT_ERROR) {
    int err = EVUTIL_SOCKET_ERROR();
    if (parser_.started() || (what & BEV_EVENT_WRITING))
      log::Warn("%s: %s error: %s; dropping connection", name_.c_str(),
                (what & BEV_EVENT_WRITING) ? "write" : "read", std::strerror(err));
    Finish();
  }
}

void Connection::OnTimer() {
  if (closing_ || handoff_) {
    Violation("timeout writing reply");
  } else if (parser_.started()) {
    Violation("timeout reading request");
  } else {
    if (log::Verbose()) log::Info("%s: idle timeout, disconnecting", name_.c_str());
    Finish();
  }
}

void Connection::ReadCb(bufferevent*, void* arg) { static_cast<Connection*>(arg)->OnRead(); }
void Connection::WriteCb(bufferevent*, void* arg) { static_cast<Connection*>(arg)->OnWritten(); }
void Connection::EventCb(bufferevent*, short what, void* arg) { static_cast<Connection*>(arg)->OnEvent(what); }
void Connection::TimerCb(evutil_socket_t, short, void* arg) { static_cast<Connection*>(arg)->OnTimer(); }

// ---- Server

Server::Server(event_base* base, UniqueFd listen_fd, ServerOptions options, std::vector<Route> routes)
    : base_(base), opts_(std::move(options)), routes_(std::move(routes)), listen_fd_(std::move(listen_fd)) {
  // libevent writes with writev(): a peer that hung up must not kill us.
  signal(SIGPIPE, SIG_IGN);
}

Server::~Server() { Stop(); }

Status Server::Start() {
  if (!listen_fd_) return MakeError(opts_.service + ": no listening socket");
  if (!SetNonBlocking(listen_fd_.get())) return MakeError(opts_.service + ": cannot make listener non-blocking");
  listener_.reset(evconnlistener_new(base_, &Server::AcceptCb, this, LEV_OPT_CLOSE_ON_EXEC | LEV_OPT_REUSEABLE, -1,
                                     listen_fd_.get()));
  if (!listener_) return MakeError(opts_.service + ": cannot listen");
  evconnlistener_set_error_cb(listener_.get(), &Server::AcceptErrorCb);
  return Status::Ok();
}

void Server::Stop() {
  listener_.reset();
  conns_.clear();
}

void Server::AcceptCb(evconnlistener*, evutil_socket_t fd, sockaddr*, int, void* arg) {
  static_cast<Server*>(arg)->Accept(UniqueFd(fd));
}

void Server::AcceptErrorCb(evconnlistener*, void* arg) {
  auto* s = static_cast<Server*>(arg);
  int err = EVUTIL_SOCKET_ERROR();
  log::Warn("%s: accept: %s", s->opts_.service.c_str(), std::strerror(err));
}

void Server::Accept(UniqueFd fd) {
  if (conns_.size() >= opts_.max_connections) {
    log::Warn("%s: too many connections (%zu); refusing one", opts_.service.c_str(), conns_.size());
    return;
  }
  uint64_t id = next_id_++;
  auto c = std::make_unique<Connection>(Connection::Key{}, this, id, std::move(fd));
  if (Status s = c->Start(); !s) {
    log::Warn("%s: %s", c->name().c_str(), s.error().c_str());
    return;
  }
  conns_.emplace(id, std::move(c));
}

void Server::Remove(uint64_t id) { conns_.erase(id); }

const Route* Server::FindRoute(const std::string& name) const {
  for (const Route& r : routes_)
    if (r.name == name) return &r;
  return nullptr;
}

}  // namespace pftls::ipc
