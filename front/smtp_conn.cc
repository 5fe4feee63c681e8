// front/smtp_conn.cc - see front/smtp_conn.h.
#include "front/smtp_conn.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace pftls::front {

void ByteQueue::Append(std::string_view bytes) {
  if (bytes.empty()) return;
  if (pos_ > 0 && pos_ >= size()) {  // the taken prefix is the larger part: move the rest down
    buf_.erase(0, pos_);
    pos_ = 0;
  }
  buf_.append(bytes);
}

void ByteQueue::Drain(size_t n) {
  pos_ += std::min(n, size());
  if (pos_ == buf_.size()) {
    std::string().swap(buf_);  // an empty queue holds no storage
    pos_ = 0;
  }
}

SmtpConn::~SmtpConn() {
  for (Frame* f = frames_; f; f = f->prev) f->alive = false;
}

bool SmtpConn::Attach(int fd) {
  fd_.reset(fd);
  SetNonBlocking(fd);
  rd_ev_.reset(event_new(base_, fd, EV_READ | EV_PERSIST, OnRead, this));
  return static_cast<bool>(rd_ev_);
}

bool SmtpConn::Connect(const sockaddr* addr, socklen_t len) {
  int fd = socket(addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  fd_.reset(fd);
  rd_ev_.reset(event_new(base_, fd, EV_READ | EV_PERSIST, OnRead, this));
  if (!rd_ev_) {
    errno = ENOMEM;
    return false;
  }
  connecting_ = true;
  if (connect(fd, addr, len) != 0 && errno != EINPROGRESS && errno != EINTR) {
    if (errno != ECONNREFUSED) return false;
    // Refused at once (a local listener's full backlog or none): reported
    // from the loop, as a connect that fails later is.
    connect_error_ = errno;
    wr_ev_.reset(event_new(base_, fd, EV_WRITE, OnWrite, this));
    if (!wr_ev_) {
      errno = ENOMEM;
      return false;
    }
    event_active(wr_ev_.get(), EV_WRITE, 1);
    return true;
  }
  Update();  // watch for the end of the connect (immediate success included)
  return true;
}

void SmtpConn::SetCallbacks(DataFn on_read, DataFn on_written, EventFn on_event, void* arg) {
  on_read_ = on_read;
  on_written_ = on_written;
  on_event_ = on_event;
  arg_ = arg;
}

void SmtpConn::AddEvent(event* ev, std::chrono::seconds timeout) {
  if (timeout.count() > 0) {
    timeval tv{static_cast<time_t>(timeout.count()), 0};
    event_add(ev, &tv);
  } else {
    event_add(ev, nullptr);
    event_remove_timer(ev);  // event_add(ev, nullptr) keeps an earlier timeout
  }
}

void SmtpConn::SetTimeouts(std::chrono::seconds read, std::chrono::seconds write) {
  read_timeout_ = read;
  write_timeout_ = write;
  if (rd_armed_) AddEvent(rd_ev_.get(), read_timeout_);
  if (wr_ev_ && !connect_error_) AddEvent(wr_ev_.get(), write_timeout_);
}

void SmtpConn::Enable(short what) {
  if (what & EV_READ) {
    read_on_ = true;
    if (WantRead()) {  // re-adding restarts the timeout
      AddEvent(rd_ev_.get(), read_timeout_);
      rd_armed_ = true;
    }
  }
  if (what & EV_WRITE) {
    write_on_ = true;
    if (wr_ev_ && !connect_error_) AddEvent(wr_ev_.get(), write_timeout_);
  }
  Update();
}

void SmtpConn::Disable(short what) {
  if (what & EV_READ) read_on_ = false;
  if (what & EV_WRITE) write_on_ = false;
  Update();
}

void SmtpConn::Drain(size_t n) {
  in_.Drain(n);
  Update();
}

void SmtpConn::AddInput(std::string_view bytes) {
  in_.Append(bytes);
  Update();
}

void SmtpConn::Write(std::string_view bytes) {
  if (bytes.empty()) return;
  bool first = out_.empty();
  out_.Append(bytes);
  if (first && !flush_ev_ && write_on_ && !connecting_ && !connect_error_ && fd_) {
    // Sent from the active queue of this loop pass, after the callbacks
    // already running (what they queue leaves in the same send), without
    // a write event: no epoll_ctl pair and no epoll round trip per
    // reply. Only what the socket does not take waits for writability.
    flush_ev_.reset(event_new(base_, -1, 0, OnFlush, this));
    if (flush_ev_) {
      event_active(flush_ev_.get(), EV_WRITE, 0);
      return;
    }
  }
  Update();
}

void SmtpConn::OnFlush(evutil_socket_t, short, void* arg) {
  auto* self = static_cast<SmtpConn*>(arg);
  EventPtr done = std::move(self->flush_ev_);  // freed on return
  self->SendOut();
}

// Update - arm the read event and make or drop the write event as the
// state asks; never runs a callback.
void SmtpConn::Update() {
  if (!fd_ || !rd_ev_) return;
  bool want = WantRead();
  if (want != rd_armed_) {
    if (want) AddEvent(rd_ev_.get(), read_timeout_);
    else event_del(rd_ev_.get());
    rd_armed_ = want;
  }
  if (connect_error_) return;  // the pending report owns wr_ev_
  if (!WantWrite()) {
    wr_ev_.reset();
  } else if (!wr_ev_) {
    wr_ev_.reset(event_new(base_, fd_.get(), EV_WRITE | EV_PERSIST, OnWrite, this));
    // Out of memory: the read timeout (or the owner's) ends the connection.
    if (wr_ev_) AddEvent(wr_ev_.get(), write_timeout_);
  }
}

bool SmtpConn::CallData(DataFn fn) {
  if (!fn) return true;
  Frame f{true, frames_};
  frames_ = &f;
  fn(this, arg_);
  if (!f.alive) return false;
  frames_ = f.prev;
  return true;
}

bool SmtpConn::CallEvent(short what, int err) {
  if (!on_event_) return true;
  Frame f{true, frames_};
  frames_ = &f;
  errno = err;
  on_event_(this, what, arg_);
  if (!f.alive) return false;
  frames_ = f.prev;
  return true;
}

void SmtpConn::OnRead(evutil_socket_t, short what, void* arg) { static_cast<SmtpConn*>(arg)->ReadReady(what); }
void SmtpConn::OnWrite(evutil_socket_t, short what, void* arg) { static_cast<SmtpConn*>(arg)->WriteReady(what); }

void SmtpConn::ReadReady(short what) {
  if (what & EV_TIMEOUT) {
    read_on_ = false;
    Update();
    CallEvent(BEV_EVENT_TIMEOUT | BEV_EVENT_READING, 0);
    return;
  }
  size_t room = in_.size() < read_cap_ ? read_cap_ - in_.size() : 0;
  if (room == 0) return Update();
  char buf[kReadChunk];
  ssize_t n = read(fd_.get(), buf, std::min(room, sizeof(buf)));
  if (n > 0) {
    in_.Append(std::string_view(buf, static_cast<size_t>(n)));
    if (CallData(on_read_)) Update();
    return;
  }
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  int err = n < 0 ? errno : 0;
  read_on_ = false;
  Update();
  CallEvent(static_cast<short>((n == 0 ? BEV_EVENT_EOF : BEV_EVENT_ERROR) | BEV_EVENT_READING), err);
}

void SmtpConn::WriteReady(short what) {
  if (connect_error_) {
    int err = connect_error_;
    connect_error_ = 0;
    connecting_ = read_on_ = write_on_ = false;
    Update();
    CallEvent(BEV_EVENT_ERROR, err);
    return;
  }
  if (what & EV_TIMEOUT) {
    connecting_ = write_on_ = false;
    Update();
    CallEvent(BEV_EVENT_TIMEOUT | BEV_EVENT_WRITING, 0);
    return;
  }
  if (connecting_) {
    int err = 0;
    socklen_t len = sizeof(err);
    if (getsockopt(fd_.get(), SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
    if (err == EINPROGRESS || err == EINTR) return;
    connecting_ = false;
    if (err != 0) {
      read_on_ = write_on_ = false;
      Update();
      CallEvent(BEV_EVENT_ERROR, err);
      return;
    }
    Update();
    if (CallEvent(BEV_EVENT_CONNECTED, 0)) Update();  // queued output goes on the next pass
    return;
  }
  SendOut();
}

void SmtpConn::SendOut() {
  if (!fd_ || out_.empty() || !write_on_ || connecting_ || connect_error_) return Update();
  std::string_view out = out_.view();
  ssize_t n = send(fd_.get(), out.data(), out.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  if (n < 0) {
    if (errno == EAGAIN || errno == EINTR) return Update();  // the write event waits
    int err = errno;
    write_on_ = false;
    Update();
    CallEvent(BEV_EVENT_ERROR | BEV_EVENT_WRITING, err);
    return;
  }
  out_.Drain(static_cast<size_t>(n));
  Update();  // the rest waits for the write event; empty: no write event
  if (out_.empty()) CallData(on_written_);
}

}  // namespace pftls::front
