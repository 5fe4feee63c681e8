// util/daemon_server.cc - RunServer(): options, configuration, mode, jail,
// the loop, status notifications, retirement and draining (util/daemon.h).
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "sandbox/jail.h"
#include "util/daemon_state.h"
#include "util/listen.h"
#include "util/log.h"
#include "util/master_proto.h"

namespace pftls::daemon {

// --- Server accessors -----------------------------------------------------

config::Config& Server::cfg() { return *s_->cfg; }
event_base* Server::base() { return s_->base.get(); }
const Options& Server::options() const { return s_->opts; }
const std::string& Server::service_name() const { return s_->opts.service_name; }
const std::vector<std::string>& Server::args() const { return s_->opts.args; }
Mode Server::mode() const { return s_->mode; }
unsigned Server::generation() const { return s_->generation; }
size_t Server::connections() const { return s_->Connections(); }
bool Server::draining() const { return s_->draining; }
void Server::Stop() {
  s_->stop = true;
  event_base_loopbreak(s_->base.get());
}

void Lease::Release() {
  if (auto s = s_.lock()) {
    if (s->leases > 0) --s->leases;
    ConnectionGone(*s);
  }
  s_.reset();
}

// --- status channel -------------------------------------------------------

// Notify - tell master TAKEN (0) or AVAIL (1); a failed write means master
// is gone, which the status event reports as well.
void Notify(ServerState& s, int avail) {
  if (!s.status_ok) return;
  master_proto::StatusRecord rec{static_cast<int>(log::Pid()), s.generation, avail};
  if (!master_proto::WriteStatus(master_proto::kStatusFd, rec)) {
    if (log::Verbose()) log::Info("status write: %s", strerror(errno));
    s.status_ok = false;
  }
}

namespace {

void OnStatus(evutil_socket_t fd, short, void* arg) {
  auto* s = static_cast<ServerState*>(arg);
  char c;
  ssize_t n = read(fd, &c, 1);
  if (n > 0) return;  // master never writes here; ignore
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  s->status_ok = false;
  s->server->Drain("master disconnect");
}

void OnSignal(evutil_socket_t sig, short, void* arg) {
  auto* s = static_cast<ServerState*>(arg);
  if (log::Verbose()) log::Info("signal %d -- exiting", static_cast<int>(sig));
  s->server->Stop();
}

void OnIdle(evutil_socket_t, short, void* arg) {
  auto* s = static_cast<ServerState*>(arg);
  if (s->Connections() == 0) {
    if (log::Verbose()) log::Info("idle timeout -- exiting");
    s->server->Stop();
  }
}

void OnLifetime(evutil_socket_t, short, void* arg) {
  auto* s = static_cast<ServerState*>(arg);
  if (log::Verbose()) log::Info("process lifetime reached -- retiring");
  StopAccepting(*s);
  if (s->Connections() == 0) s->server->Stop();
}

void ArmIdle(ServerState& s) {
  if (!s.idle_timer || s.max_idle <= 0) return;
  struct timeval tv = {s.max_idle, 0};
  evtimer_add(s.idle_timer.get(), &tv);
}

// ForkToDrain - the child keeps the sessions, the parent exits at once
// without running destructors (they would touch the shared sessions).
void ForkToDrain(ServerState& s) {
  for (int attempt = 0; attempt < 5; ++attempt) {
    pid_t pid = fork();
    if (pid == 0) {
      if (event_reinit(s.base.get()) < 0) log::Fatal("event_reinit after fork failed");
      WatchdogRearm();
      return;
    }
    if (pid > 0) _exit(0);
    log::Warn("fork to drain: %s", strerror(errno));
    sleep(1);
  }
  log::Warn("could not fork to drain; finishing sessions in this process");
}

Mode DetectMode(const Options& o) {
  if (o.stdin_mode) return Mode::kStandalone;
  if (const char* l = getenv("PFTLS_LISTEN"); l && *l) return Mode::kListen;
  return Mode::kMaster;
}

void CheckMasterFds(ServerState& s) {
  if (fcntl(master_proto::kStatusFd, F_GETFD) < 0) {
    log::SetStderr(true);  // run by hand: say it where it is seen
    log::Fatal("not started by master(8): descriptor %d is not open (use -S, or PFTLS_LISTEN for tests)",
               master_proto::kStatusFd);
  }
  for (int i = 0; i < s.opts.socket_count; ++i) {
    int fd = master_proto::kListenFd + i;
    if (fcntl(fd, F_GETFD) < 0) log::Fatal("not started by master(8): listen descriptor %d is not open", fd);
    SetNonBlocking(fd);
    SetCloseOnExec(fd);
    s.listen_fds.emplace_back(fd);
  }
  SetCloseOnExec(master_proto::kStatusFd);
  SetCloseOnExec(master_proto::kFlowReadFd);
  SetCloseOnExec(master_proto::kFlowWriteFd);
  s.status_ok = true;
}

long ParamSeconds(config::Config& cfg, const std::string& name) {
  Result<long> t = cfg.TryTime(name);
  if (!t) log::Fatal("%s", t.error().c_str());
  return *t;
}

void DebugMe(config::Config& cfg) {
  std::string cmd = cfg.Str("debugger_command");
  if (cmd.empty()) log::Fatal("-D option requires that debugger_command is set");
  log::Info("running: %s", cmd.c_str());
  int rc = system(cmd.c_str());
  if (rc != 0) log::Warn("debugger_command exit status %d", rc);
}

}  // namespace

void StopAccepting(ServerState& s) {
  if (!s.accepting) return;
  s.accepting = false;
  // Still alive but no longer serving: do not let master count us as available.
  Notify(s, master_proto::kStatTaken);
  s.listen_events.clear();
  s.listen_fds.clear();
  if (s.lifetime_timer) evtimer_del(s.lifetime_timer.get());
}

// The use limit does not stop a busy server from accepting (Postfix's
// multi servers loop while use_count < max_use or clients remain): a
// solitary front end (maxproc 1) that stopped accepting would leave new
// clients in the listen queue until its last session ended.
// The process exits the first time it is idle with the limit reached.
void ConnectionCame(ServerState& s) {
  ++s.use_count;
  if (s.idle_timer) evtimer_del(s.idle_timer.get());
}

void ConnectionGone(ServerState& s) {
  if (s.Connections() != 0) return;
  // Event servers (tlsproxy, the front ends) retire by time only, as
  // Postfix 3.4+ event servers do (spec §4.1): max_idle x max_use seconds
  // (OnLifetime). A count of 100 clients would restart a busy tlsproxy
  // every few hundred milliseconds (measured: ~100 us per session).
  bool used_up = s.spec.flavour != Flavour::kEvent && s.max_use > 0 && s.use_count >= s.max_use;
  if (used_up && log::Verbose()) log::Info("use limit %ld reached -- retiring", s.max_use);
  if (s.mode == Mode::kStandalone || !s.accepting || s.draining || used_up) {
    s.server->Stop();
    return;
  }
  ArmIdle(s);
}

void Server::Drain(const char* reason) {
  ServerState& s = *s_;
  if (s.draining) return;
  if (log::Verbose()) log::Info("%s -- draining", reason);
  s.draining = true;
  s.status_event.reset();
  StopAccepting(s);
  if (s.spec.on_drain) s.spec.on_drain(*this);
  if (s.spec.flavour == Flavour::kMulti) {
    while (!s.conns.empty()) CloseMultiConn(s, s.conns.begin()->first);
    Stop();
    return;
  }
  if (s.Connections() == 0) {
    Stop();
    return;
  }
  if (s.spec.fork_to_drain) ForkToDrain(s);
}

int RunServer(int argc, char** argv, const ServerSpec& spec) {
  signal(SIGPIPE, SIG_IGN);
  // With RLIMIT_FSIZE 0, a log line to a file-backed stderr must fail
  // (EFBIG), not kill the process.
  signal(SIGXFSZ, SIG_IGN);
  auto state = std::make_shared<ServerState>();
  ServerState& s = *state;
  Server server(state);
  s.server = &server;
  s.self = state;
  s.spec = spec;

  Result<Options> opts = ParseOptions(argc, argv);
  if (!opts) {
    log::SetStderr(true);
    log::Fatal("usage: %s [-cdDlSuvVz] [-i max_idle] [-m max_use] [-n name] [-o name=value] [-s N] [-t type]: %s",
               spec.program.c_str(), opts.error().c_str());
  }
  s.opts = *opts;
  if (s.opts.service_name.empty()) s.opts.service_name = spec.program;
  s.mode = DetectMode(s.opts);
  // Postfix's master(8) passes -d to its children when it runs in the
  // foreground itself: -d must not mean stderr logging there (their
  // stderr may be master's log file). -V does; no master does.
  if (s.opts.log_stderr || s.mode != Mode::kMaster) log::SetStderr(true);
  log::SetVerbose(s.opts.verbose);

  Result<config::Config> cfg = config::Config::Load(config::ConfigDir(nullptr));
  if (!cfg) log::Fatal("%s", cfg.error().c_str());
  s.cfg.emplace(std::move(*cfg));
  config::Config& c = *s.cfg;
  for (const auto& [name, value] : s.opts.overrides) c.Override(name, value);
  if (!s.opts.max_idle.empty()) c.Override("max_idle", s.opts.max_idle);
  if (!s.opts.max_use.empty()) c.Override("max_use", s.opts.max_use);
  c.Override("service_name", s.opts.service_name);

  int facility = log::FacilityByName(c.Str("syslog_facility"));
  if (facility < 0) log::Fatal("unknown syslog_facility: %s", c.Str("syslog_facility").c_str());
  log::Open(c.Str("syslog_name"), spec.program, facility);  // LOG_NDELAY: before chroot

  if (const char* g = getenv(master_proto::kGenerationEnv)) s.generation = static_cast<unsigned>(strtoul(g, nullptr, 8));
  if (const char* r = getenv(master_proto::kReadyEnv)) s.report_ready = strcmp(r, "1") == 0;
  if (s.mode == Mode::kMaster) {
    if (spec.limit == ProcessLimit::kOne && !s.opts.limit_one)
      log::Fatal("service %s requires a process limit of 1", s.opts.service_name.c_str());
    if (spec.limit == ProcessLimit::kZero && !s.opts.limit_zero)
      log::Fatal("service %s requires a process limit of 0", s.opts.service_name.c_str());
    CheckMasterFds(s);
  } else if (s.mode == Mode::kListen) {
    Result<std::vector<UniqueFd>> fds = ListenFromSpec(getenv("PFTLS_LISTEN"), 100);
    if (!fds) log::Fatal("PFTLS_LISTEN: %s", fds.error().c_str());
    s.listen_fds = std::move(*fds);
  }
  if (spec.flavour == Flavour::kEvent && !spec.on_accept) log::Panic("%s: event server without on_accept", spec.program.c_str());
  if (spec.flavour == Flavour::kMulti && !spec.on_request) log::Panic("%s: multi server without on_request", spec.program.c_str());

  std::string queue_dir = c.Str("queue_directory");
  if (chdir(queue_dir.c_str()) < 0) log::Fatal("chdir %s: %s", queue_dir.c_str(), strerror(errno));
  if (s.opts.debug_me) DebugMe(c);

  s.max_idle = spec.retire && s.mode == Mode::kMaster ? ParamSeconds(c, "max_idle") : 0;
  s.max_use = spec.retire && s.mode == Mode::kMaster ? c.Long("max_use") : 0;
  long watchdog = ParamSeconds(c, spec.watchdog_param);

  s.base.reset(event_base_new());
  if (!s.base) log::Fatal("event_base_new failed");

  sandbox::JailSpec jail;
  jail.role = spec.program;
  if (s.opts.chroot) jail.chroot_dir = queue_dir;
  if (s.opts.unprivileged) jail.user = c.Str("mail_owner");
  jail.forks = spec.forks || spec.fork_to_drain;
  jail.no_files = !spec.writes_files;
  Result<bool> cores = config::ParseBoolValue(c.Raw("pftls_core_dumps").value_or("no"));
  jail.core_limit = (cores && *cores) ? RLIM_INFINITY : 0;
  Result<bool> sbdebug = config::ParseBoolValue(c.Raw("pftls_sandbox_debug").value_or("no"));
  if (!sbdebug) log::Fatal("pftls_sandbox_debug: %s", sbdebug.error().c_str());
  jail.sandbox_debug = *sbdebug;
  jail.selftest = c.Raw("pftls_sandbox_selftest").value_or("");
  if (spec.data_paths) jail.data_paths = spec.data_paths(server);
  sandbox::EnterJail(jail, {.pre_jail = [&] { if (spec.pre_jail) spec.pre_jail(server); },
                            .post_jail = [&] { if (spec.post_jail) spec.post_jail(server); }});

  // Events: signals, master status, listeners, timers, watchdog.
  // Under master, ^C at a foreground master's terminal reaches the whole
  // process group: master stops us with SIGTERM, so SIGINT is ignored here.
  if (s.mode == Mode::kMaster) signal(SIGINT, SIG_IGN);
  int sigs[] = {SIGTERM, SIGINT};
  for (int sig : sigs) {
    if (sig == SIGINT && s.mode == Mode::kMaster) continue;
    EventPtr ev(evsignal_new(s.base.get(), sig, OnSignal, &s));
    evsignal_add(ev.get(), nullptr);
    s.signal_events.push_back(std::move(ev));
  }
  if (s.status_ok) {
    s.status_event.reset(event_new(s.base.get(), master_proto::kStatusFd, EV_READ | EV_PERSIST, OnStatus, &s));
    event_add(s.status_event.get(), nullptr);
  }
  if (s.mode == Mode::kStandalone) {
    StartStandalone(s);
  } else {
    ArmListeners(s);
  }
  if (s.mode == Mode::kMaster && s.report_ready) Notify(s, master_proto::kStatReady);
  if (s.max_idle > 0) {
    s.idle_timer.reset(evtimer_new(s.base.get(), OnIdle, &s));
    ArmIdle(s);
  }
  if (spec.retire && s.mode == Mode::kMaster && spec.flavour == Flavour::kEvent) {
    long life = s.max_idle * s.max_use;
    if (life <= 0) life = 18000;
    s.lifetime_timer.reset(evtimer_new(s.base.get(), OnLifetime, &s));
    struct timeval tv = {life, 0};
    evtimer_add(s.lifetime_timer.get(), &tv);
  }
  WatchdogStart(s.base.get(), watchdog);

  while (!s.stop) {
    int rc = event_base_loop(s.base.get(), EVLOOP_ONCE);
    if (rc < 0) log::Fatal("event loop failure");
    WatchdogPass();
    if (rc == 1) break;  // nothing left to wait for
  }
  WatchdogStop();  // the watchdog ends with the loop
  if (spec.on_exit) spec.on_exit(server);
  while (!s.conns.empty()) CloseMultiConn(s, s.conns.begin()->first);
  if (s.relay) FinishStdioRelay(s);
  return 0;
}

}  // namespace pftls::daemon
