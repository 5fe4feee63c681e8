// master/pool.cc - see master/pool.h.
#include "master/pool.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "master/spawn.h"
#include "util/log.h"
#include "util/master_proto.h"

namespace pftls::master {

Pool::Pool(MasterContext& ctx, ServiceConfig cfg, std::vector<UniqueFd> listeners)
    : ctx_(ctx), generation_(ctx.generation), cfg_(std::move(cfg)), listeners_(std::move(listeners)) {}

Pool::~Pool() {
  // Events before descriptors.
  listen_events_.clear();
  status_event_.reset();
  throttle_timer_.reset();
  wakeup_timer_.reset();
  probe_timer_.reset();
}

Status Pool::Start() {
  int p[2];
  if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0) return MakeError(log::Format("pipe: %s", strerror(errno)));
  status_read_.reset(p[0]);
  status_write_.reset(p[1]);
  status_event_.reset(event_new(ctx_.base, status_read_.get(), EV_READ | EV_PERSIST, OnStatusReadable, this));
  event_add(status_event_.get(), nullptr);
  throttle_timer_.reset(evtimer_new(ctx_.base, OnThrottleEnd, this));
  for (const UniqueFd& fd : listeners_)
    listen_events_.emplace_back(event_new(ctx_.base, fd.get(), EV_READ | EV_PERSIST, OnListenReadable, this));
  if (cfg_.wakeup > 0) {
    wakeup_timer_.reset(event_new(ctx_.base, -1, EV_PERSIST, OnWakeupTimer, this));
    struct timeval tv = {cfg_.wakeup, 0};
    evtimer_add(wakeup_timer_.get(), &tv);
  }
  UpdateListenWatch();
  return Status::Ok();
}

Status Pool::StartProbation(std::function<void()> on_proven) {
  probe_ = Probe::kRunning;
  on_proven_ = std::move(on_proven);
  if (Status st = Start(); !st) return st;
  probe_timer_.reset(evtimer_new(ctx_.base, OnProbeTimer, this));
  struct timeval tv = {kProbeSeconds, 0};
  evtimer_add(probe_timer_.get(), &tv);
  SpawnOne();
  if (children_.empty()) {
    probe_ = Probe::kFailed;
    probe_why_ = "could not be started";
  } else {
    probe_pid_ = children_.begin()->first;
  }
  return Status::Ok();
}

void Pool::OnProbeTimer(evutil_socket_t, short, void* arg) {
  auto* self = static_cast<Pool*>(arg);
  // Alive for kProbeSeconds without a READY: a program that does not
  // speak the pftls extension (or is slow to start) -- it runs.
  if (self->probe_ == Probe::kRunning) self->Proven();
}

void Pool::Proven() {
  probe_ = Probe::kNone;
  if (probe_timer_) evtimer_del(probe_timer_.get());
  UpdateListenWatch();
  if (on_proven_) {
    std::function<void()> fn = std::move(on_proven_);
    on_proven_ = nullptr;
    fn();  // may move this pool's owner pointer; never destroys it
  }
}

Result<std::vector<UniqueFd>> Pool::DupListeners() const {
  std::vector<UniqueFd> out;
  for (const UniqueFd& fd : listeners_) {
    UniqueFd d(fcntl(fd.get(), F_DUPFD_CLOEXEC, 0));
    if (!d) return MakeError(log::Format("dup listener: %s", strerror(errno)));
    out.push_back(std::move(d));
  }
  return out;
}

std::vector<UniqueFd> Pool::TakeListeners() {
  listen_events_.clear();
  watching_ = false;
  return std::move(listeners_);
}

std::vector<pid_t> Pool::Retire() {
  std::vector<pid_t> pids;
  for (const auto& [pid, child] : children_) pids.push_back(pid);
  children_.clear();
  avail_ = 0;
  status_event_.reset();
  status_read_.reset();  // children see EOF/error on fd 5
  status_write_.reset();
  listen_events_.clear();
  watching_ = false;
  if (wakeup_timer_) evtimer_del(wakeup_timer_.get());
  return pids;
}

void Pool::HoldSize() {
  held_ = !children_.empty();
  UpdateListenWatch();
}

bool Pool::CanGrow() const {
  if (held_) return false;
  size_t limit = cfg_.maxproc == 0 ? static_cast<size_t>(ctx_.ceiling) : static_cast<size_t>(cfg_.maxproc);
  return children_.size() < limit;
}

// UpdateListenWatch - watch the listeners exactly when a waiting client
// should make us start a process: none available, room to grow, not
// throttled, not stopping.
void Pool::UpdateListenWatch() {
  bool want = !ctx_.stopping && !throttled_ && probe_ == Probe::kNone && avail_ == 0 && CanGrow() &&
              status_read_.valid();
  if (want == watching_) return;
  for (EventPtr& ev : listen_events_) {
    if (want) event_add(ev.get(), nullptr);
    else event_del(ev.get());
  }
  watching_ = want;
}

void Pool::OnListenReadable(evutil_socket_t, short, void* arg) {
  auto* self = static_cast<Pool*>(arg);
  if (self->watching_) self->SpawnOne();
}

void Pool::SpawnOne() {
  std::vector<int> lfds;
  for (const UniqueFd& fd : listeners_) lfds.push_back(fd.get());
  Result<pid_t> pid = Spawn(ctx_, generation_, cfg_.path, cfg_.argv, status_write_.get(), lfds);
  if (!pid) {
    log::Warn("%s: %s", cfg_.path.c_str(), pid.error().c_str());
    Throttle();
    return;
  }
  if (log::Verbose()) log::Info("spawned %s pid %d", cfg_.path.c_str(), static_cast<int>(*pid));
  children_[*pid] = Child{generation_, true, 0, false};
  ++avail_;
  used_ = true;
  UpdateListenWatch();
}

void Pool::Throttle() {
  if (throttled_) return;
  log::Warn("%s: bad command startup -- throttling", cfg_.path.c_str());
  throttled_ = true;
  struct timeval tv = {ctx_.throttle_time, 0};
  evtimer_add(throttle_timer_.get(), &tv);
  UpdateListenWatch();
}

void Pool::OnThrottleEnd(evutil_socket_t, short, void* arg) {
  auto* self = static_cast<Pool*>(arg);
  self->throttled_ = false;
  self->UpdateListenWatch();
}

void Pool::OnStatusReadable(evutil_socket_t, short, void* arg) { static_cast<Pool*>(arg)->ReadStatus(); }

void Pool::ReadStatus() {
  char buf[sizeof(master_proto::StatusRecord) * 64];
  ssize_t n = read(status_read_.get(), buf, sizeof(buf));
  if (n <= 0) return;  // we hold the write end ourselves: no EOF while alive
  status_buf_.append(buf, static_cast<size_t>(n));
  constexpr size_t kRec = sizeof(master_proto::StatusRecord);
  size_t off = 0;
  bool proven = false;
  for (; off + kRec <= status_buf_.size(); off += kRec) {
    auto rec = master_proto::DecodeStatus(std::string_view(status_buf_).substr(off, kRec));
    if (!rec) {
      log::Warn("%s: bad status record -- ignored", cfg_.name.c_str());
      continue;
    }
    auto it = children_.find(rec->pid);
    if (it == children_.end() || rec->generation != generation_ || it->second.generation != rec->generation) {
      if (log::Verbose()) log::Info("%s: status from pid %d generation %o ignored", cfg_.name.c_str(), rec->pid,
                                    rec->generation);
      continue;
    }
    Child& c = it->second;
    if (rec->pid == probe_pid_) proven = true;  // READY, or already serving
    if (rec->avail == master_proto::kStatTaken && c.avail) {
      c.avail = false;
      c.taken = true;
      --avail_;
    } else if (rec->avail == master_proto::kStatAvail && !c.avail) {
      c.avail = true;
      ++c.uses;
      ++avail_;
    }
  }
  status_buf_.erase(0, off);
  if (probe_ == Probe::kRunning && proven) {
    Proven();
    return;
  }
  UpdateListenWatch();
}

bool Pool::OnChildExit(pid_t pid, int st) {
  auto it = children_.find(pid);
  if (it == children_.end()) return false;
  // Status records written before death count: read them first.
  if (status_read_) ReadStatus();
  it = children_.find(pid);
  Child c = it->second;
  children_.erase(it);
  if (c.avail) --avail_;
  if (children_.empty()) held_ = false;  // nothing serves: try again
  std::string why = DescribeExit(st);
  if (probe_ == Probe::kRunning && pid == probe_pid_) {
    // Died before it was ready: the owner keeps the old pool serving.
    probe_ = Probe::kFailed;
    probe_why_ = why.empty() ? "exited" : why;
    if (probe_timer_) evtimer_del(probe_timer_.get());
    return true;
  }
  if (!why.empty() && !ctx_.stopping) {
    log::Warn("process %s pid %d %s", cfg_.path.c_str(), static_cast<int>(pid), why.c_str());
    if (c.uses == 0) Throttle();  // died before completing one use
  }
  UpdateListenWatch();
  return true;
}

void Pool::SignalAll(int sig) {
  for (const auto& [pid, c] : children_) kill(pid, sig);
}

void Pool::OnWakeupTimer(evutil_socket_t, short, void* arg) {
  auto* self = static_cast<Pool*>(arg);
  if (self->cfg_.wakeup_conditional && !self->used_) return;
  if (self->throttled_ || self->ctx_.stopping) return;
  self->SendWakeup();
}

// SendWakeup - connect to our own socket and write "W"; never blocks.
void Pool::SendWakeup() {
  const std::string& path = cfg_.addresses.front();
  struct sockaddr_un sun = {};
  sun.sun_family = AF_UNIX;
  if (path.size() >= sizeof(sun.sun_path)) return;
  memcpy(sun.sun_path, path.c_str(), path.size() + 1);
  UniqueFd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) return;
  if (connect(fd.get(), reinterpret_cast<sockaddr*>(&sun), sizeof(sun)) < 0) {
    log::Warn("%s: wake-up connect: %s", cfg_.name.c_str(), strerror(errno));
    return;
  }
  char w = master_proto::kWakeupByte;
  if (write(fd.get(), &w, 1) != 1 && log::Verbose()) log::Info("%s: wake-up write: %s", cfg_.name.c_str(), strerror(errno));
}

}  // namespace pftls::master
