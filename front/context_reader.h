// front/context_reader.h - wait for tlsproxy's TLS context list (the
// SEND_CONTEXT reply, spec 3.2 step 6) on the plaintext stream.
//
// Both front ends connect to their backend only once the client has
// completed the TLS handshake: a client that never does (a flood of
// silent connections, a scanner) costs the backend nothing. tlsproxy
// writes the list once, after the handshake; its own handshake deadline
// is absolute, and ours (timeout) bounds the wait as well. The list is
// bounded (kMaxContextBytes) and strictly decoded; bytes that followed
// it (client data already decrypted) are handed over as `early`.
#pragma once

#include <event2/event.h>

#include <chrono>
#include <functional>
#include <string>

#include "ipc/attr0.h"
#include "ipc/msg_context.h"
#include "util/handles.h"

namespace pftls::front {

inline constexpr size_t kMaxContextBytes = 8 * 1024;

struct ContextResult {
  enum class Kind { kOk, kTimeout, kClosed, kBad } kind = Kind::kBad;
  ipc::TlsContext ctx;  // kOk
  std::string early;    // kOk: bytes that followed the list
  std::string error;    // kBad: why, for the log
};

class ContextReader {
 public:
  using DoneFn = std::function<void(ContextResult)>;

  // fd stays the caller's; done runs once (never from Start) and may
  // destroy the reader.
  ContextReader(event_base* base, int fd, std::chrono::seconds timeout, DoneFn done);
  ContextReader(const ContextReader&) = delete;
  ContextReader& operator=(const ContextReader&) = delete;
  bool Start();

 private:
  static void OnRead(evutil_socket_t, short what, void* arg);
  void Read(short what);
  void Done(ContextResult r);

  event_base* base_;
  int fd_;
  std::chrono::seconds timeout_;
  DoneFn done_;
  EventPtr ev_;
  ipc::Attr0Parser parser_;
  size_t bytes_ = 0;
};

}  // namespace pftls::front
