/*++
 * NAME
 *	ipc/client_async.h - asynchronous attr0 client on libevent
 * SYNOPSIS
 *	#include "ipc/client_async.h"
 *
 *	AsyncClientOptions o;
 *	o.path = "private/tlsmgr"; o.protocol = "tlsmgr_protocol";
 *	AsyncClient c(base, o);
 *	c.Request(SeedRequest{32}, [](Result<SeedReply> r) { ... });
 *	c.Call(encoded_record, [](Result<Record> r) { ... });
 * DESCRIPTION
 *	An event-driven client for a Postfix-style request/reply service
 *	(tlsmgr: spec §5.1). Requests are queued and sent one at a time, in
 *	order; the next is sent only after the previous reply (no
 *	pipelining). For each new connection the server's announcement must
 *	be "protocol=<protocol>" (skipped when protocol is empty).
 *
 *	Each request has a deadline (timeout, from the moment Call() queued
 *	it) covering connect, announcement, write and reply. On a transport
 *	failure (connect error, EOF, I/O error) the request is retried once
 *	on a new connection (attempts = 2) within its deadline. When the
 *	deadline passes the connection is closed, so a late reply can never
 *	be taken for the next request's, and the callback gets an error.
 *	An idle connection is closed after idle_timeout; one older than ttl
 *	is replaced before the next request.
 *
 *	Callbacks run from the event loop, exactly once per request, with
 *	the reply record or an error. A callback may queue new requests or
 *	destroy the client. Destroying the client drops pending requests
 *	without calling their callbacks.
 *
 *	Public API:
 *	AsyncClient(base, options) - no I/O until the first request.
 *	Call(bytes, cb) - queue one encoded record; cb(Result<Record>).
 *	Request(req, cb) - Encode, Call, then Reply::Decode and Validate;
 *	    cb(Result<Req::Reply>).
 *	Close() - close the connection; queued requests fail now.
 *	pending() - queued requests including the one in flight.
 *	connected() - a connection is open.
 * SECURITY
 *	A malformed reply, extra bytes after a reply, unsolicited bytes or a
 *	wrong announcement fail the request (no retry) and close the
 *	connection, with one warning. Constructing an AsyncClient sets
 *	SIGPIPE to SIG_IGN (libevent writes with writev()).
 * DIAGNOSTICS
 *	"warning: <path>: <reason>" for protocol violations; other errors go
 *	to the callback.
 * CONFIGURATION PARAMETERS
 *	Callers map ipc_timeout, ipc_idle and ipc_ttl onto the options.
 *--*/
#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <string>

#include "ipc/attr0.h"
#include "util/handles.h"
#include "util/result.h"

namespace pftls::ipc {

struct AsyncClientOptions {
  std::string path;
  std::string protocol;
  std::chrono::milliseconds timeout{std::chrono::seconds(10)};
  std::chrono::milliseconds idle_timeout{std::chrono::seconds(5)};
  std::chrono::milliseconds ttl{std::chrono::seconds(1000)};
  int attempts = 2;
};

class AsyncClient {
 public:
  using Callback = std::function<void(Result<Record>)>;

  AsyncClient(event_base* base, AsyncClientOptions options);
  ~AsyncClient();
  AsyncClient(const AsyncClient&) = delete;
  AsyncClient& operator=(const AsyncClient&) = delete;

  void Call(std::string request, Callback cb);

  template <class Req>
  void Request(const Req& req, std::function<void(Result<typename Req::Reply>)> cb) {
    Result<std::string> bytes = req.Encode();
    if (!bytes) {
      Fail(bytes.error(), [cb](Result<Record> r) { cb(std::move(r).take_error()); });
      return;
    }
    Call(std::move(*bytes), [cb](Result<Record> rec) {
      if (!rec) return cb(std::move(rec).take_error());
      Result<typename Req::Reply> reply = Req::Reply::Decode(*rec);
      if (reply) {
        if (Status s = reply->Validate(); !s) return cb(MakeError(s.error()));
      }
      cb(std::move(reply));
    });
  }

  void Close();
  size_t pending() const { return queue_.size(); }
  bool connected() const { return bev_ != nullptr; }

 private:
  using Clock = std::chrono::steady_clock;
  enum class State { kIdle, kConnecting, kHello, kReady, kAwaitReply };
  struct Pending {
    std::string bytes;
    Callback cb;
    Clock::time_point deadline;
    int attempts_left;
  };

  void Fail(const std::string& why, Callback cb);
  void StartNext();
  void Connect();
  void SendFront();
  void Drop();                                   // close the connection only
  void Complete(Result<Record> result);          // finish the front request
  void TransportFailure(const std::string& why);
  void OnRead();
  void OnEvent(short what);
  void OnTimer();
  void ArmTimer();

  static void ReadCb(bufferevent*, void* arg);
  static void EventCb(bufferevent*, short what, void* arg);
  static void TimerCb(evutil_socket_t, short, void* arg);

  event_base* base_;
  AsyncClientOptions opts_;
  State state_ = State::kIdle;
  BufferEventPtr bev_;
  EventPtr timer_;
  Attr0Parser parser_;
  Clock::time_point opened_;
  std::deque<Pending> queue_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace pftls::ipc
