/*++
 * NAME
 *	front/smtp_conn.h - smtpfront's buffered socket: what it used of a
 *	libevent bufferevent, with no memory held while idle
 * SYNOPSIS
 *	#include "front/smtp_conn.h"
 *
 *	auto c = std::make_unique<SmtpConn>(base, kMaxBuffered);
 *	c->SetCallbacks(on_read, on_written, on_event, arg);
 *	c->Attach(fd);  or  c->Connect(addr, len);
 *	c->SetTimeouts(read_timeout, write_timeout);   // 0: none
 *	c->Enable(EV_READ | EV_WRITE);
 *	c->Write(bytes);  c->input();  c->Drain(n);
 * DESCRIPTION
 *	SmtpConn owns one non-blocking stream socket with an input and an
 *	output queue. It behaves as smtpfront used its bufferevents: reads
 *	(at most 16 KiB per wake-up) stop while the input holds read_cap
 *	bytes; written bytes leave from the active queue of the same loop
 *	pass, after the running callbacks (replies queued in one pass go out
 *	in one send, with no write event or epoll round trip), and what the
 *	socket does not take waits for writability; on_read runs after each read that
 *	added input, on_written when a write empties the output, on_event
 *	with BEV_EVENT_* flags: CONNECTED, EOF|READING, ERROR|READING or
 *	ERROR|WRITING (errno holds the cause), TIMEOUT|READING (no input for
 *	the read timeout while reading) or TIMEOUT|WRITING (no write progress
 *	for the write timeout, or a connect that does not finish). EOF,
 *	errors and timeouts disable that direction. Connect() failures are
 *	reported through on_event (ERROR), except a socket that cannot be
 *	made (false, errno set). Enable() restarts that direction's timeout.
 *
 *	Memory: an idle connection holds the object and one read event; the
 *	queues hold storage only while they hold bytes, and the write event
 *	exists only while output waits or a connect is under way.
 *
 *	Callbacks may destroy the SmtpConn (the owner resets its pointer);
 *	no callback ever runs from inside a member function the owner calls.
 * SECURITY
 *	The input is capped at read_cap (+ one read of at most 16 KiB); the
 *	output is what the owner writes.
 * DIAGNOSTICS
 *	None; the owner logs.
 * CONFIGURATION PARAMETERS
 *	None.
 *--*/
#pragma once

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <sys/socket.h>

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

#include "util/fd.h"
#include "util/handles.h"

namespace pftls::front {

// ByteQueue - a FIFO of bytes whose storage is freed whenever it empties.
class ByteQueue {
 public:
  std::string_view view() const { return std::string_view(buf_).substr(pos_); }
  size_t size() const { return buf_.size() - pos_; }
  bool empty() const { return pos_ == buf_.size(); }
  void Append(std::string_view bytes);
  void Drain(size_t n);
  void Clear() { Drain(size()); }

 private:
  std::string buf_;
  size_t pos_ = 0;  // bytes of buf_ already taken
};

class SmtpConn {
 public:
  using DataFn = void (*)(SmtpConn*, void* arg);
  using EventFn = void (*)(SmtpConn*, short what, void* arg);
  static constexpr size_t kReadChunk = 16 * 1024;

  SmtpConn(event_base* base, size_t read_cap) : base_(base), read_cap_(read_cap) {}
  ~SmtpConn();
  SmtpConn(const SmtpConn&) = delete;
  SmtpConn& operator=(const SmtpConn&) = delete;

  // Attach - take a connected socket (made non-blocking); false: out of memory.
  bool Attach(int fd);
  // Connect - a new non-blocking socket connecting to addr; false (errno
  // set) when no socket could be made.
  bool Connect(const sockaddr* addr, socklen_t len);
  void SetCallbacks(DataFn on_read, DataFn on_written, EventFn on_event, void* arg);
  void SetTimeouts(std::chrono::seconds read, std::chrono::seconds write);
  void Enable(short what);
  void Disable(short what);

  int fd() const { return fd_.get(); }
  std::string_view input() const { return in_.view(); }
  void Drain(size_t n);
  void AddInput(std::string_view bytes);
  void Write(std::string_view bytes);
  size_t output_size() const { return out_.size(); }

 private:
  static void OnRead(evutil_socket_t, short what, void* arg);
  static void OnWrite(evutil_socket_t, short what, void* arg);
  static void OnFlush(evutil_socket_t, short, void* arg);
  void SendOut();
  void ReadReady(short what);
  void WriteReady(short what);
  // Call helpers: false when the callback destroyed *this.
  bool CallData(DataFn fn);
  bool CallEvent(short what, int err);
  void Update();
  void AddEvent(event* ev, std::chrono::seconds timeout);
  bool WantRead() const { return read_on_ && !connecting_ && fd_ && in_.size() < read_cap_; }
  bool WantWrite() const { return fd_ && (connecting_ || (write_on_ && !out_.empty() && !flush_ev_)); }

  event_base* base_;
  size_t read_cap_;
  UniqueFd fd_;
  EventPtr rd_ev_, wr_ev_;  // wr_ev_ only while wanted
  EventPtr flush_ev_;       // a send queued on this loop pass (Write)
  ByteQueue in_, out_;
  DataFn on_read_ = nullptr, on_written_ = nullptr;
  EventFn on_event_ = nullptr;
  void* arg_ = nullptr;
  struct Frame {  // one per callback running; the destructor marks them all
    bool alive = true;
    Frame* prev = nullptr;
  };
  Frame* frames_ = nullptr;
  std::chrono::seconds read_timeout_{0}, write_timeout_{0};
  int connect_error_ = 0;  // a connect that failed at once, reported from the loop
  bool read_on_ = false, write_on_ = true, rd_armed_ = false;
  bool connecting_ = false;
};

}  // namespace pftls::front
