// front/context_reader.h - wait for tlsproxy's TLS context list (the
// SEND_CONTEXT reply, spec 3.2 step 6) on the plaintext stream.
//
// Both front ends connect to their backend only once the client has
// completed the TLS handshake: a client that never does (a flood of
// silent connections, a scanner) costs the backend nothing. tlsproxy
// writes the list once, after the handshake; its own handshake deadline
// is absolute, and ours (timeout) bounds the wait as well. The list is
// bounded (kMaxContextBytes) and strictly decoded (a bad one is logged
// here); bytes that followed it (client data already decrypted) are
// handed over as `early`.
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
  // failure - nullptr when the context arrived, else the session's end
  // reason: "TLS handshake timeout", "TLS handshake failed" (tlsproxy
  // logged why), "bad TLS context" or (prelude) "TLS not available".
  const char* failure = nullptr;
  ipc::TlsContext ctx;
  std::string early;  // bytes that followed the list
};

class ContextReader {
 public:
  using DoneFn = std::function<void(ContextResult)>;

  // Start - read from fd (it stays the caller's); done runs once, never
  // from Start, and may destroy the reader. endpoint is for the log.
  // prelude: tlsproxy's announcement and status come first (the early
  // hand-off, front/handoff_client.h); a status 0 fails the wait as "TLS
  // not available".
  bool Start(event_base* base, int fd, std::chrono::seconds timeout, std::string endpoint, DoneFn done,
             bool prelude = false);
  // Stop - forget the wait (before the caller closes fd).
  void Stop() { ev_.reset(); }

 private:
  static void OnRead(evutil_socket_t, short what, void* arg);
  void Read(short what);
  void Done(ContextResult r);
  void Bad(const std::string& why);
  bool Prelude(const ipc::Record& rec);
  enum class Stage { kAnnounce, kStatus, kContext };

  int fd_ = -1;
  std::string endpoint_;
  DoneFn done_;
  EventPtr ev_;
  ipc::Attr0Parser parser_;
  size_t bytes_ = 0;
  Stage stage_ = Stage::kContext;
};

}  // namespace pftls::front
