/*++
 * NAME
 *	front/session_pool.h - the per-process bookkeeping shared by the
 *	front ends: connection caps, live sessions, deferred destruction
 * SYNOPSIS
 *	#include "front/session_pool.h"
 *
 *	SessionPool<SmtpSession> pool;
 *	pool.SetLimits(1000, 50);                      // pre_jail
 *	pool.Init(base);                               // post_jail
 *	pool.Accept(std::move(fd), std::move(lease),   // on_accept
 *	            [&](UniqueFd fd, const sockaddr_storage& peer, auto done) {
 *	              return std::make_unique<SmtpSession>(base, cfg, std::move(fd), peer, done);
 *	            },
 *	            [&](int fd) { send 421 ... });
 *	pool.Clear();                                  // on_exit
 *
 *	return RunFront<SmtpSession>(argc, argv, "smtpfront", &cfg, &pool, load, reject);
 *	BackendAddr b = RequireBackend(cfg, "smtpfront_relay");
 * DESCRIPTION
 *	Accept() reads the peer address, applies the total and per-address
 *	caps (front/conn_limits.h) and either rejects the client (one log
 *	line "reject: <addr>: <why>", then the optional reject hook, then
 *	close) or builds a session with the factory, keeps it with the
 *	master's lease and starts it. A session's done callback uncounts it
 *	and moves it to a graveyard emptied on the next loop pass, so a
 *	session is never destroyed from inside its own callback.
 *
 *	Session must have Start(); the factory gets a callback
 *	std::function<void(Session*)> to give the session as its DoneFn.
 *
 *	RunFront() is the whole main() of a front end: an event-driven
 *	daemon::RunServer that calls load() before the jail, then builds
 *	Session(base, *cfg, client, peer, done) for every admitted client.
 *	RequireBackend() reads a relay parameter or ends the process with
 *	"<param> is not set" / "<param>: <reason>".
 * SECURITY
 *	Bounded by the caps; no per-client state outlives its session.
 * DIAGNOSTICS
 *	"reject: <addr>: too many connections[ from this client]".
 * CONFIGURATION PARAMETERS
 *	The caller's <front>_connection_limit and
 *	<front>_client_connection_limit.
 *--*/
#pragma once

#include <event2/event.h>
#include <sys/socket.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "front/backend_addr.h"
#include "front/conn_limits.h"
#include "util/config.h"
#include "util/daemon.h"
#include "util/fd.h"
#include "util/handles.h"
#include "util/log.h"

namespace pftls::front {

template <class Session>
class SessionPool {
 public:
  using DoneFn = std::function<void(Session*)>;
  using Factory = std::function<std::unique_ptr<Session>(UniqueFd, const sockaddr_storage&, DoneFn)>;
  using RejectFn = std::function<void(int fd)>;

  void SetLimits(int total, int per_client) { limits_ = std::make_unique<ConnLimits>(total, per_client); }
  void Init(event_base* base) {
    reaper_.reset(event_new(base, -1, 0, [](evutil_socket_t, short, void* arg) {
      static_cast<SessionPool*>(arg)->dead_.clear();
    }, this));
  }

  void Accept(UniqueFd fd, daemon::Lease lease, const Factory& make, const RejectFn& reject = {}) {
    sockaddr_storage peer{};
    socklen_t len = sizeof(peer);
    getpeername(fd.get(), reinterpret_cast<sockaddr*>(&peer), &len);
    std::string addr = AddrString(peer);
    if (const char* why = limits_ ? limits_->Admit(addr) : nullptr) {
      log::Warn("reject: %s: %s", addr.c_str(), why);
      if (reject) reject(fd.get());
      return;  // fd and lease end here
    }
    // The callback captures only `this` (no allocation per session); the
    // address for the per-client count lives in the session's entry.
    auto session = make(std::move(fd), peer, [this](Session* done) {
      auto it = live_.find(done);
      if (it == live_.end()) return;
      if (limits_) limits_->Release(it->second.addr);
      dead_.push_back(std::move(it->second));
      live_.erase(it);
      event_active(reaper_.get(), EV_TIMEOUT, 0);
    });
    Session* raw = session.get();
    live_.emplace(raw, Live{std::move(session), std::move(lease), std::move(addr)});
    raw->Start();
  }

  void Clear() {
    live_.clear();
    dead_.clear();
    reaper_.reset();
  }
  size_t size() const { return live_.size(); }

 private:
  struct Live {
    std::unique_ptr<Session> session;
    daemon::Lease lease;
    std::string addr;  // counted in limits_
  };
  std::unique_ptr<ConnLimits> limits_;
  std::map<Session*, Live> live_;
  std::vector<Live> dead_;
  EventPtr reaper_;
};

inline BackendAddr RequireBackend(const config::Config& cfg, const char* param) {
  std::string relay = cfg.Str(param);
  if (relay.empty()) log::Fatal("%s is not set (inet:host:port or unix:/path)", param);
  auto backend = ParseBackend(relay);
  if (!backend) log::Fatal("%s: %s", param, backend.error().c_str());
  return std::move(*backend);
}

template <class Session, class Config>
int RunFront(int argc, char** argv, const char* program, Config* cfg, SessionPool<Session>* pool,
             std::function<void(daemon::Server&)> load, typename SessionPool<Session>::RejectFn reject = {}) {
  daemon::ServerSpec spec;
  spec.program = program;
  spec.flavour = daemon::Flavour::kEvent;
  spec.writes_files = false;
  spec.pre_jail = std::move(load);
  spec.post_jail = [pool](daemon::Server& s) { pool->Init(s.base()); };
  spec.on_accept = [cfg, pool, reject](daemon::Server& s, UniqueFd fd, daemon::Lease lease) {
    event_base* base = s.base();
    pool->Accept(
        std::move(fd), std::move(lease),
        [cfg, base](UniqueFd client, const sockaddr_storage& peer, typename SessionPool<Session>::DoneFn done) {
          return std::make_unique<Session>(base, *cfg, std::move(client), peer, std::move(done));
        },
        reject);
  };
  spec.on_exit = [pool](daemon::Server&) { pool->Clear(); };
  return daemon::RunServer(argc, argv, spec);
}

}  // namespace pftls::front
