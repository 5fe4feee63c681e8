// master/supervisor.cc - see master/supervisor.h.
#include "master/supervisor.h"

#include <grp.h>
#include <signal.h>
#include <sys/wait.h>

#include <cerrno>
#include <cstring>
#include <set>

#include "master/listeners.h"
#include "master/spawn.h"
#include "util/log.h"

namespace pftls::master {

Status ReadConfig(const std::string& config_dir, std::optional<config::Config>* cfg,
                  std::vector<config::MasterService>* entries) {
  Result<config::Config> c = config::Config::Load(config_dir);
  if (!c) return Error{c.error()};
  Result<std::vector<config::MasterService>> m = config::ParseMasterCf(config_dir + "/master.cf");
  if (!m) return Error{m.error()};
  cfg->emplace(std::move(*c));
  *entries = std::move(*m);
  return Status::Ok();
}

Supervisor::~Supervisor() {
  signal_events_.clear();
  grace_timer_.reset();
  settle_ev_.reset();
  probation_.clear();
  pools_.clear();
}

Status Supervisor::Apply(const config::Config& cfg, const std::vector<config::MasterService>& entries) {
  Result<std::vector<ServiceConfig>> services = ResolveServices(cfg, entries, argv_opts_);
  if (!services) return Error{services.error()};
  ctx_.throttle_time = cfg.TimeSeconds("service_throttle_time");
  std::string ceiling = cfg.Raw("pftls_process_ceiling").value_or("");
  if (!ceiling.empty()) {
    long v = atol(ceiling.c_str());
    if (v < 1 || v > 10000) return MakeError("pftls_process_ceiling must be 1..10000: " + ceiling);
    ctx_.ceiling = static_cast<int>(v);
  }
  bool need_public = false;
  for (const ServiceConfig& s : *services)
    if (s.type == "unix" && !s.private_) need_public = true;
  const std::string queue_dir = cfg.Str("queue_directory");
  if (Status st = EnsureDirectory(queue_dir + "/private", ctx_.owner.uid, ctx_.owner.gid, 0700); !st) return st;
  if (need_public) {
    gid_t group = ctx_.owner.gid;
    if (struct group* g = getgrnam(cfg.Str("setgid_group").c_str())) group = g->gr_gid;
    if (Status st = EnsureDirectory(queue_dir + "/public", ctx_.owner.uid, group, 0710); !st) return st;
  }

  if (!settle_ev_) settle_ev_.reset(event_new(ctx_.base, -1, 0, OnSettle, this));
  std::map<std::string, std::unique_ptr<Pool>> next;
  std::map<std::string, std::unique_ptr<Pool>> probation;
  for (ServiceConfig& svc : *services) {
    std::vector<UniqueFd> listeners;
    std::string key = svc.Key();
    auto old = pools_.find(key);
    const bool keep = old != pools_.end() && old->second->cfg().SameListeners(svc);
    // Processes of the old configuration keep serving until one of the
    // new configuration has started (a broken key must not stop TLS).
    // Not for a process limit of 1 (tlsmgr: one owner of the cache).
    if (keep && old->second->ProcessCount() > 0 && svc.maxproc != 1) {
      Result<std::vector<UniqueFd>> dups = old->second->DupListeners();
      if (dups) {
        probation[key] = std::make_unique<Pool>(ctx_, std::move(svc), std::move(*dups));
        next[key] = std::move(old->second);
        continue;
      }
      log::Warn("%s: service %s: %s -- replacing its processes at once", svc.origin.c_str(), svc.name.c_str(),
                dups.error().c_str());
    }
    if (keep) {
      listeners = old->second->TakeListeners();
    } else {
      Result<std::vector<UniqueFd>> fds = OpenListeners(svc, ctx_.owner);
      if (!fds) {
        log::Warn("%s: service %s: %s -- service disabled", svc.origin.c_str(), svc.name.c_str(), fds.error().c_str());
        continue;
      }
      listeners = std::move(*fds);
    }
    next[key] = std::make_unique<Pool>(ctx_, std::move(svc), std::move(listeners));
  }
  // Old pools: their children drain and exit on status EOF.
  for (auto& [key, pool] : pools_) {
    if (!pool) continue;  // kept serving (moved to next)
    RetirePool(*pool, !next.count(key), !next.count(key));
  }
  // A probation from an earlier reload is superseded.
  for (auto& [key, pool] : probation_) RetirePool(*pool, true, false);
  probation_.clear();
  proven_.clear();
  pools_ = std::move(next);
  for (auto& [key, pool] : pools_)
    if (!probation.count(key))
      if (Status st = pool->Start(); !st) return st;
  for (auto& [key, pool] : probation) {
    const std::string k = key;
    if (Status st = pool->StartProbation([this, k] {
          proven_.insert(k);
          event_active(settle_ev_.get(), EV_TIMEOUT, 0);
        });
        !st)
      return st;
  }
  probation_ = std::move(probation);
  Settle();
  return Status::Ok();
}

// RetirePool - its children drain and exit on status EOF (stop_now:
// SIGTERM them); remove_socket: a unix service removed from master.cf
// loses its socket files.
void Supervisor::RetirePool(Pool& pool, bool stop_now, bool remove_socket) {
  for (pid_t pid : pool.Retire()) {
    retired_[pid] = pool.cfg().path;
    if (stop_now) kill(pid, SIGTERM);
  }
  std::vector<UniqueFd> gone = pool.TakeListeners();
  if (remove_socket && pool.cfg().type == "unix" && !gone.empty())
    for (const std::string& path : pool.cfg().addresses) unlink(path.c_str());
}

void Supervisor::OnSettle(evutil_socket_t, short, void* arg) { static_cast<Supervisor*>(arg)->Settle(); }

// Settle - commit proven probations (the old pool retires), drop failed
// ones (the old pool keeps serving, one error).
void Supervisor::Settle() {
  for (auto it = probation_.begin(); it != probation_.end();) {
    Pool& fresh = *it->second;
    if (proven_.count(it->first)) {
      auto old = pools_.find(it->first);
      if (old != pools_.end()) RetirePool(*old->second, false, false);
      if (log::Verbose()) log::Info("reload: service %s: new process ready", fresh.cfg().name.c_str());
      pools_[it->first] = std::move(it->second);
      it = probation_.erase(it);
    } else if (fresh.ProbeFailed()) {
      log::Error("reload: service %s: new process %s failed before it was ready (%s) -- the processes of the "
                 "previous configuration keep serving, and no new ones are started; correct the configuration "
                 "and reload",
                 fresh.cfg().name.c_str(), fresh.cfg().path.c_str(), fresh.ProbeFailure().c_str());
      RetirePool(fresh, true, false);
      if (auto old = pools_.find(it->first); old != pools_.end()) old->second->HoldSize();
      it = probation_.erase(it);
    } else {
      ++it;
    }
  }
  proven_.clear();
}

void Supervisor::Run() {
  struct {
    int sig;
    event_callback_fn fn;
  } handlers[] = {{SIGCHLD, OnSigchld}, {SIGHUP, OnSighup}, {SIGTERM, OnSigterm}, {SIGINT, OnSigterm}};
  for (const auto& h : handlers) {
    EventPtr ev(evsignal_new(ctx_.base, h.sig, h.fn, this));
    evsignal_add(ev.get(), nullptr);
    signal_events_.push_back(std::move(ev));
  }
  grace_timer_.reset(evtimer_new(ctx_.base, OnGraceEnd, this));
  Reap();  // children that died before the handler existed
  event_base_dispatch(ctx_.base);
}

size_t Supervisor::LiveChildren() const {
  size_t n = retired_.size();
  for (const auto& [key, pool] : pools_) n += pool->ProcessCount();
  for (const auto& [key, pool] : probation_) n += pool->ProcessCount();
  return n;
}

void Supervisor::OnSigchld(evutil_socket_t, short, void* arg) { static_cast<Supervisor*>(arg)->Reap(); }

void Supervisor::Reap() {
  for (;;) {
    int st = 0;
    pid_t pid = waitpid(-1, &st, WNOHANG);
    if (pid <= 0) break;
    bool found = false;
    for (auto& [key, pool] : pools_)
      if ((found = pool->OnChildExit(pid, st))) break;
    for (auto& [key, pool] : probation_)
      if (!found && (found = pool->OnChildExit(pid, st))) break;
    if (!found) {
      auto it = retired_.find(pid);
      if (it != retired_.end()) {
        std::string why = DescribeExit(st);
        if (!why.empty() && !ctx_.stopping)
          log::Warn("process %s pid %d %s", it->second.c_str(), static_cast<int>(pid), why.c_str());
        retired_.erase(it);
      }
    }
  }
  if (!probation_.empty()) event_active(settle_ev_.get(), EV_TIMEOUT, 0);
  if (ctx_.stopping && LiveChildren() == 0) event_base_loopbreak(ctx_.base);
}

void Supervisor::OnSighup(evutil_socket_t, short, void* arg) { static_cast<Supervisor*>(arg)->Reload(); }

void Supervisor::Reload() {
  if (ctx_.stopping) return;
  std::optional<config::Config> cfg;
  std::vector<config::MasterService> entries;
  if (Status st = ReadConfig(ctx_.config_dir, &cfg, &entries); !st) {
    log::Warn("reload: %s -- keeping the old configuration", st.error().c_str());
    return;
  }
  ++ctx_.generation;
  log::Info("reload -- version %s, configuration %s", "pftls", ctx_.config_dir.c_str());
  if (Status st = Apply(*cfg, entries); !st) log::Warn("reload: %s", st.error().c_str());
}

void Supervisor::OnSigterm(evutil_socket_t sig, short, void* arg) {
  static_cast<Supervisor*>(arg)->BeginStop(static_cast<int>(sig));
}

void Supervisor::BeginStop(int sig) {
  if (ctx_.stopping) return;
  ctx_.stopping = true;
  log::Info("terminating on signal %d", sig);
  for (auto& [key, pool] : pools_) pool->SignalAll(SIGTERM);
  for (auto& [key, pool] : probation_) pool->SignalAll(SIGTERM);
  for (const auto& [pid, path] : retired_) kill(pid, SIGTERM);
  if (LiveChildren() == 0) {
    event_base_loopbreak(ctx_.base);
    return;
  }
  struct timeval tv = {kStopGraceSeconds, 0};
  evtimer_add(grace_timer_.get(), &tv);
}

void Supervisor::OnGraceEnd(evutil_socket_t, short, void* arg) {
  auto* self = static_cast<Supervisor*>(arg);
  log::Warn("%zu process(es) still running after %d s -- sending SIGKILL", self->LiveChildren(), kStopGraceSeconds);
  for (auto& [key, pool] : self->pools_) pool->SignalAll(SIGKILL);
  for (auto& [key, pool] : self->probation_) pool->SignalAll(SIGKILL);
  for (const auto& [pid, path] : self->retired_) kill(pid, SIGKILL);
  // SIGKILL cannot be refused: collect them now, bounded by the count.
  for (size_t n = self->LiveChildren(); n > 0; --n) {
    int st;
    pid_t pid = waitpid(-1, &st, 0);
    if (pid < 0) break;
    for (auto& [key, pool] : self->pools_) pool->OnChildExit(pid, st);
    for (auto& [key, pool] : self->probation_) pool->OnChildExit(pid, st);
    self->retired_.erase(pid);
  }
  event_base_loopbreak(self->ctx_.base);
}

}  // namespace pftls::master
