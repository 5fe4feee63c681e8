/*++
 * NAME
 *	front/relay.h - a bidirectional byte relay between two sockets
 * SYNOPSIS
 *	#include "front/relay.h"
 *
 *	auto r = std::make_unique<Relay>(base, std::move(a), std::move(b), opts, on_done);
 *	r->Start(initial_a_to_b, initial_b_to_a);
 * DESCRIPTION
 *	Copies bytes a->b and b->a with one bounded buffer per direction
 *	(allocated only while it holds data); each direction progresses on
 *	its own. An EOF on one side shuts down the write side of the other
 *	once its buffer is flushed (half-close, as stunnel/hitch users
 *	expect); the relay ends when both directions are done, on an error,
 *	at the idle timeout (no progress) or at the total timeout. on_done
 *	runs once, after both sockets are closed; the owner destroys the
 *	relay on a later loop pass.
 *
 *	Start() may queue bytes already read from either side (for example
 *	what followed a command line in the same read).
 * SECURITY
 *	Bounded memory per connection; hostile peers can only end their own
 *	relay.
 * DIAGNOSTICS
 *	None; the owner logs the outcome (Reason()).
 * CONFIGURATION PARAMETERS
 *	Through RelayOptions.
 *--*/
#pragma once

#include <event2/event.h>

#include <chrono>
#include <functional>
#include <string>

#include "proxy/relay_buffer.h"
#include "util/fd.h"
#include "util/handles.h"

namespace pftls::front {

struct RelayOptions {
  std::chrono::seconds idle_timeout{300};
  std::chrono::seconds total_timeout{0};  // 0: none
  size_t buffer_size = 16 * 1024;
};

class Relay {
 public:
  using DoneFn = std::function<void(Relay*)>;
  Relay(event_base* base, UniqueFd a, UniqueFd b, RelayOptions opts, DoneFn done);
  ~Relay();
  Relay(const Relay&) = delete;
  Relay& operator=(const Relay&) = delete;

  bool Start(const std::string& a_to_b = {}, const std::string& b_to_a = {});
  const char* Reason() const { return reason_; }
  uint64_t bytes_a_to_b() const { return dir_[0].bytes; }
  uint64_t bytes_b_to_a() const { return dir_[1].bytes; }

 private:
  struct Direction {
    int from = -1, to = -1;
    proxy::RelayBuffer buf{16 * 1024};
    bool eof = false;        // no more input
    bool shut = false;       // output side shut down
    bool done = false;
    uint64_t bytes = 0;
    EventPtr rd, wr;
    bool rd_armed = false, wr_armed = false;
  };
  static void OnRead(evutil_socket_t, short, void* arg);
  static void OnWrite(evutil_socket_t, short, void* arg);
  static void OnTimer(evutil_socket_t, short, void* arg);
  bool Pump(Direction& d, bool readable);
  void Update();
  void Finish(const char* reason);
  void Arm(EventPtr& ev, bool* armed, bool want);

  event_base* base_;
  UniqueFd a_, b_;
  RelayOptions opts_;
  DoneFn done_;
  Direction dir_[2];
  EventPtr idle_, total_;
  bool finished_ = false;
  const char* reason_ = "";
};

}  // namespace pftls::front
