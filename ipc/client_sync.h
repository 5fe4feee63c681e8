/*++
 * NAME
 *	ipc/client_sync.h - blocking attr0 client with deadlines
 * SYNOPSIS
 *	#include "ipc/client_sync.h"
 *
 *	SyncClientOptions o;
 *	o.path = "private/tlsmgr";		// UNIX stream socket
 *	o.protocol = "tlsmgr_protocol";		// expected announcement
 *	SyncClient c(o);
 *	Result<SeedReply> r = c.Request(SeedRequest{32});
 *	Result<Record> raw = c.Call(encoded_request);
 * DESCRIPTION
 *	A small synchronous client for tools and for code that must answer
 *	inside a callback (tlsproxy's OpenSSL session and ticket callbacks).
 *	It follows the Postfix tlsmgr client conventions (spec §5.1):
 *
 *	- one request at a time, strictly request -> reply, no pipelining;
 *	- on each new connection the server's announcement is read and must
 *	  be "protocol=<protocol>" (skipped when protocol is empty);
 *	- the connection is kept between calls, but closed and reopened when
 *	  it was idle for idle_timeout (ipc_idle, 5 s), is older than ttl
 *	  (ipc_ttl, 1000 s) or is readable before a request is sent (the
 *	  server hung up);
 *	- a transport failure (connect, write, EOF, read error) is retried
 *	  once on a fresh connection (attempts = 2), after retry_delay,
 *	  within the same deadline;
 *	- every call has one deadline (timeout, measured from the call's
 *	  start) covering connect, announcement, write and reply; poll(2)
 *	  bounds every wait. A late reply cannot be mistaken for the next
 *	  one: a call that fails closes its connection.
 *
 *	Public API:
 *	SyncClient(options) - no I/O until the first call.
 *	Call(bytes) - send one encoded record, return the reply record.
 *	Request(req) - Encode, Call, Reply::Decode and Reply::Validate for
 *	    any request type with a Reply (msg_tlsmgr.h).
 *	Close() - drop the connection now.
 *	connected() - a connection is open.
 * SECURITY
 *	Replies are hostile input: bounded by the attr0 limits, a reply with
 *	extra bytes after the record or a wrong announcement is an error and
 *	the connection is closed. Uses MSG_NOSIGNAL; never raises SIGPIPE.
 * DIAGNOSTICS
 *	Errors are returned, not logged; the caller logs one line.
 * CONFIGURATION PARAMETERS
 *	Callers map ipc_timeout, ipc_idle and ipc_ttl onto the options.
 *--*/
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "ipc/attr0.h"
#include "util/fd.h"
#include "util/result.h"

namespace pftls::ipc {

struct SyncClientOptions {
  std::string path;
  std::string protocol;
  std::chrono::milliseconds timeout{std::chrono::seconds(10)};
  std::chrono::milliseconds idle_timeout{std::chrono::seconds(5)};
  std::chrono::milliseconds ttl{std::chrono::seconds(1000)};
  std::chrono::milliseconds retry_delay{0};
  int attempts = 2;
};

class SyncClient {
 public:
  explicit SyncClient(SyncClientOptions options) : opts_(std::move(options)) {}

  Result<Record> Call(std::string_view request);

  template <class Req>
  Result<typename Req::Reply> Request(const Req& req) {
    Result<std::string> bytes = req.Encode();
    if (!bytes) return std::move(bytes).take_error();
    Result<Record> rec = Call(*bytes);
    if (!rec) return std::move(rec).take_error();
    Result<typename Req::Reply> reply = Req::Reply::Decode(*rec);
    if (!reply) {
      Close();
      return reply;
    }
    if (Status s = reply->Validate(); !s) {
      Close();
      return MakeError(s.error());
    }
    return reply;
  }

  void Close() { fd_.reset(); }
  bool connected() const { return fd_.valid(); }

 private:
  using Clock = std::chrono::steady_clock;
  // Connect - *fatal: the server answered wrongly (no retry helps).
  Status Connect(Clock::time_point deadline, bool* fatal);
  Status WriteAll(std::string_view bytes, Clock::time_point deadline);
  // ReadRecord - one record; *transport tells whether a failure was I/O.
  Result<Record> ReadRecord(Clock::time_point deadline, bool* transport);
  bool StillUsable(Clock::time_point now);

  SyncClientOptions opts_;
  UniqueFd fd_;
  Clock::time_point opened_;
  Clock::time_point last_used_;
};

}  // namespace pftls::ipc
