// util/daemon.cc - see util/daemon.h.
#include "util/daemon.h"

#include <getopt.h>
#include <netdb.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "util/log.h"

namespace pftls::daemon {
namespace {

constexpr int kFlowReadFd = 3, kFlowWriteFd = 4, kStatusFd = 5, kListenFd = 6;
constexpr int kStatTaken = 0, kStatAvail = 1;

struct StatusRecord {
  int pid;
  unsigned generation;
  int avail;
};
static_assert(sizeof(StatusRecord) == 12, "master(8) expects a 12-byte status record");

void Usage(const char* program) {
  log::Fatal("usage: %s [-c] [-d] [-D] [-l] [-n name] [-o name=value] [-s N] [-S] [-t type] [-u] [-v] [-V] [-z]",
             program);
}

bool IsOpenFd(int fd) { return fcntl(fd, F_GETFD) >= 0; }

// ParseOverride - "name=value" or "{ name = value }".
Result<std::pair<std::string, std::string>> ParseOverride(std::string s) {
  auto trim = [](std::string t) {
    size_t b = t.find_first_not_of(" \t"), e = t.find_last_not_of(" \t");
    return b == std::string::npos ? std::string() : t.substr(b, e - b + 1);
  };
  s = trim(s);
  if (!s.empty() && s.front() == '{') {
    if (s.back() != '}') return MakeError("bad -o option: missing '}'");
    s = trim(s.substr(1, s.size() - 2));
  }
  size_t eq = s.find('=');
  if (eq == std::string::npos || eq == 0) return MakeError("bad -o option: expected name=value");
  return std::make_pair(trim(s.substr(0, eq)), trim(s.substr(eq + 1)));
}

// Listen - a listener for PFTLS_LISTEN: a UNIX path or host:port.
Result<UniqueFd> Listen(const std::string& where) {
  if (where.find('/') != std::string::npos) {
    UniqueFd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    sockaddr_un sun{};
    sun.sun_family = AF_UNIX;
    if (where.size() >= sizeof(sun.sun_path)) return MakeError("socket path too long: " + where);
    std::memcpy(sun.sun_path, where.c_str(), where.size() + 1);
    unlink(where.c_str());
    if (!fd || bind(fd.get(), reinterpret_cast<sockaddr*>(&sun), sizeof(sun)) != 0 || chmod(where.c_str(), 0666) != 0 ||
        listen(fd.get(), 128) != 0)
      return MakeError("listen " + where + ": " + strerror(errno));
    return fd;
  }
  size_t colon = where.rfind(':');
  if (colon == std::string::npos) return MakeError("PFTLS_LISTEN: expected a path or host:port: " + where);
  std::string host = where.substr(0, colon), port = where.substr(colon + 1);
  if (host.size() > 1 && host.front() == '[') host = host.substr(1, host.size() - 2);
  addrinfo hints{}, *res = nullptr;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST;
  if (getaddrinfo(host.empty() ? nullptr : host.c_str(), port.c_str(), &hints, &res) != 0 || !res)
    return MakeError("PFTLS_LISTEN: bad address " + where);
  UniqueFd fd(socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  int one = 1;
  setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  bool ok = fd && bind(fd.get(), res->ai_addr, res->ai_addrlen) == 0 && listen(fd.get(), 511) == 0;
  freeaddrinfo(res);
  if (!ok) return MakeError("listen " + where + ": " + strerror(errno));
  return fd;
}

extern "C" void WatchdogAlarm(int) {
  static const char kMsg[] = "fatal: watchdog timeout\n";
  ssize_t ignored = write(STDERR_FILENO, kMsg, sizeof(kMsg) - 1);
  (void)ignored;
  _exit(1);
}

}  // namespace

Result<Options> ParseOptions(int argc, char** argv) {
  Options o;
  optind = 1;
  opterr = 0;
  int c;
  while ((c = getopt(argc, argv, "+cdDi:lm:n:o:r:s:St:uvVz")) != -1) {
    switch (c) {
      case 'c': o.chroot = true; break;
      case 'd': o.foreground = true; break;
      case 'D': o.debugger = true; break;
      case 'l': o.limit_one = true; break;
      case 'n': o.service = optarg; break;
      case 'o': {
        auto kv = ParseOverride(optarg);
        if (!kv) return std::move(kv).take_error();
        o.overrides.push_back(std::move(*kv));
        break;
      }
      case 's': {
        char* end = nullptr;
        long n = strtol(optarg, &end, 10);
        if (!end || *end || n < 0 || n > 64) return MakeError(std::string("bad -s value: ") + optarg);
        o.socket_count = static_cast<int>(n);
        break;
      }
      case 'S': o.stdin_mode = true; break;
      case 't': o.transport = optarg; break;
      case 'u': o.setuid = true; break;
      case 'v': ++o.verbose; break;
      case 'V': o.log_stderr = true; break;
      case 'z': o.limit_zero = true; break;
      case 'i': case 'm': case 'r': break;  // accepted for compatibility
      default: return MakeError(std::string("invalid option: -") + static_cast<char>(optopt));
    }
  }
  for (int i = optind; i < argc; ++i) o.args.emplace_back(argv[i]);
  return o;
}

void Context::Busy() {
  if (status_fd_ < 0 || taken_) return;
  taken_ = true;
  StatusRecord r{getpid(), generation_, kStatTaken};
  ssize_t ignored = write(status_fd_, &r, sizeof(r));
  (void)ignored;
}

void Context::Idle() {
  if (status_fd_ < 0 || !taken_) return;
  taken_ = false;
  StatusRecord r{getpid(), generation_, kStatAvail};
  ssize_t ignored = write(status_fd_, &r, sizeof(r));
  (void)ignored;
}

void Context::Exit(int status) {
  exit_status_ = status;
  event_base_loopbreak(base_.get());
}

// Loop - the event-loop state of Run().
struct Loop {
  Context* ctx = nullptr;
  Kind kind = Kind::kEvent;
  Hooks hooks;
  std::vector<EventPtr> accept_evs;
  EventPtr status_ev, term_ev, int_ev, idle_ev, drain_ev, watchdog_ev, backoff_ev;
  long max_idle = 0, max_use = 0, use_count = 0;
  unsigned watchdog = 0;

  size_t Active() const { return hooks.active ? hooks.active() : 0; }

  void StopAccepting() {
    accept_evs.clear();
    ctx->listeners_.clear();
  }

  void StartDrain(const char* why) {
    if (ctx->draining_) return;
    if (log::Verbose()) log::Info("%s: finishing current work", why);
    ctx->draining_ = true;
    StopAccepting();
    timeval tv{0, 200000};
    event_add(drain_ev.get(), &tv);
    CheckDrain();
  }

  void CheckDrain() {
    if (ctx->draining_ && Active() == 0) ctx->Exit(0);
  }

  void ArmIdle() {
    if (kind != Kind::kEvent || max_idle <= 0 || !idle_ev) return;
    timeval tv{max_idle, 0};
    event_add(idle_ev.get(), &tv);
  }

  void OnAccept(int lfd) {
    for (int i = 0; i < 32 && !ctx->draining_; ++i) {
      int fd = accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EINTR || errno == ECONNABORTED) continue;
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
          log::Warn("accept: %s: pausing new connections", strerror(errno));
          for (auto& ev : accept_evs) event_del(ev.get());
          timeval tv{0, 200000};
          event_add(backoff_ev.get(), &tv);
        }
        return;  // EAGAIN and the rest: wait for the next event
      }
      ++use_count;
      ArmIdle();
      ctx->Busy();
      hooks.on_connection(*ctx, UniqueFd(fd));
      ctx->Idle();
      if (kind == Kind::kEvent && max_use > 0 && use_count >= max_use) {
        StartDrain("use count limit reached");
        return;
      }
    }
  }
};

int Run(int argc, char** argv, const char* program, Kind kind, Hooks hooks) {
  signal(SIGPIPE, SIG_IGN);
  signal(SIGHUP, SIG_IGN);
  // Roles run with RLIMIT_FSIZE 0: a log write to a file-backed stderr
  // must fail (EFBIG), not kill the process.
  signal(SIGXFSZ, SIG_IGN);
  Context ctx;
  ctx.program_ = program;
  auto opts = ParseOptions(argc, argv);
  if (!opts) {
    log::Error("%s", opts.error().c_str());
    Usage(program);
  }
  ctx.opts_ = std::move(*opts);
  for (int i = 0; i < ctx.opts_.verbose; ++i) log::AddVerbose();

  std::string dir = config::ConfigDir(nullptr);
  auto cfg = config::Config::Load(dir);
  if (!cfg) log::Fatal("%s", cfg.error().c_str());
  ctx.cfg_ = std::move(*cfg);
  for (const auto& [name, value] : ctx.opts_.overrides) ctx.cfg_.Override(name, value);

  int facility = log::FacilityByName(ctx.cfg_.Str("syslog_facility"));
  log::Open(ctx.cfg_.Str("syslog_name"), program, facility < 0 ? LOG_MAIL : facility);
  const char* generation = getenv("GENERATION");
  bool under_master = generation != nullptr && !ctx.opts_.stdin_mode;
  // -d (master passes it when it runs in the foreground) does not mean
  // stderr logging; -V does, and so does running without master.
  if (ctx.opts_.log_stderr || !under_master) log::SetStderr(true);

  if (under_master) {
    ctx.generation_ = static_cast<unsigned>(strtoul(generation, nullptr, 8));
    if (!IsOpenFd(kStatusFd)) log::Fatal("no master status channel (fd %d)", kStatusFd);
    ctx.status_fd_ = kStatusFd;
    SetCloseOnExec(kStatusFd);
    for (int fd : {kFlowReadFd, kFlowWriteFd})
      if (IsOpenFd(fd)) SetCloseOnExec(fd);
    for (int i = 0; i < ctx.opts_.socket_count; ++i) {
      int fd = kListenFd + i;
      if (!IsOpenFd(fd)) log::Fatal("no listening socket at fd %d (-s %d)", fd, ctx.opts_.socket_count);
      SetNonBlocking(fd);
      SetCloseOnExec(fd);
      ctx.listeners_.emplace_back(fd);
    }
  } else if (!ctx.opts_.stdin_mode) {
    const char* where = getenv("PFTLS_LISTEN");
    if (!where || !*where) log::Fatal("no listening socket: run under master(8), set PFTLS_LISTEN, or use -S");
    for (const std::string& w : config::SplitList(where)) {
      auto fd = Listen(w);
      if (!fd) log::Fatal("%s", fd.error().c_str());
      ctx.listeners_.push_back(std::move(*fd));
    }
  }

  std::string queue = ctx.cfg_.Str("queue_directory");
  if (chdir(queue.c_str()) != 0) log::Fatal("chdir %s: %s", queue.c_str(), strerror(errno));

  ctx.base_.reset(event_base_new());
  if (!ctx.base_) log::Fatal("cannot create the event loop");
  if (hooks.pre_jail) hooks.pre_jail(ctx);
  if (hooks.jail) {
    if (Status s = hooks.jail(ctx); !s) log::Fatal("%s", s.error().c_str());
  }
  if (hooks.post_jail) hooks.post_jail(ctx);

  Loop loop;
  loop.ctx = &ctx;
  loop.kind = kind;
  loop.hooks = std::move(hooks);
  if (kind == Kind::kEvent) {
    loop.max_idle = ctx.cfg_.TimeSeconds("max_idle");
    loop.max_use = ctx.cfg_.Int("max_use");
  }
  loop.watchdog = static_cast<unsigned>(ctx.cfg_.TimeSeconds(loop.hooks.watchdog_param));
  event_base* base = ctx.base();

  if (ctx.opts_.stdin_mode) {
    int fd = dup(STDIN_FILENO);
    if (fd < 0) log::Fatal("dup stdin: %s", strerror(errno));
    ctx.draining_ = true;  // one connection, then exit
    if (loop.hooks.on_connection) loop.hooks.on_connection(ctx, UniqueFd(fd));
  }
  if (loop.hooks.on_connection) {
    for (const UniqueFd& l : ctx.listeners_) {
      loop.accept_evs.emplace_back(event_new(base, l.get(), EV_READ | EV_PERSIST, [](evutil_socket_t fd, short, void* arg) {
        static_cast<Loop*>(arg)->OnAccept(fd);
      }, &loop));
      event_add(loop.accept_evs.back().get(), nullptr);
    }
  }
  loop.backoff_ev.reset(evtimer_new(base, [](evutil_socket_t, short, void* arg) {
    auto* l = static_cast<Loop*>(arg);
    for (auto& ev : l->accept_evs) event_add(ev.get(), nullptr);
  }, &loop));
  loop.drain_ev.reset(event_new(base, -1, EV_PERSIST, [](evutil_socket_t, short, void* arg) {
    static_cast<Loop*>(arg)->CheckDrain();
  }, &loop));
  if (ctx.status_fd_ >= 0) {
    loop.status_ev.reset(event_new(base, ctx.status_fd_, EV_READ | EV_PERSIST, [](evutil_socket_t fd, short, void* arg) {
      char buf[64];
      ssize_t n = read(fd, buf, sizeof(buf));
      if (n < 0 && errno == EAGAIN) return;
      auto* l = static_cast<Loop*>(arg);
      l->status_ev.reset();
      l->StartDrain("master is gone or reloading");
    }, &loop));
    event_add(loop.status_ev.get(), nullptr);
  }
  auto on_term = [](evutil_socket_t, short, void* arg) { static_cast<Context*>(arg)->Exit(0); };
  loop.term_ev.reset(evsignal_new(base, SIGTERM, on_term, &ctx));
  event_add(loop.term_ev.get(), nullptr);
  if (!under_master) {
    loop.int_ev.reset(evsignal_new(base, SIGINT, on_term, &ctx));
    event_add(loop.int_ev.get(), nullptr);
  }
  if (kind == Kind::kEvent && loop.max_idle > 0) {
    loop.idle_ev.reset(evtimer_new(base, [](evutil_socket_t, short, void* arg) {
      auto* l = static_cast<Loop*>(arg);
      if (l->Active() == 0 && !l->ctx->opts_.stdin_mode) {
        if (log::Verbose()) log::Info("idle timeout -- exiting");
        l->ctx->Exit(0);
      } else {
        l->ArmIdle();
      }
    }, &loop));
    loop.ArmIdle();
  }
  if (loop.watchdog > 0) {
    signal(SIGALRM, WatchdogAlarm);
    loop.watchdog_ev.reset(event_new(base, -1, EV_PERSIST, [](evutil_socket_t, short, void* arg) {
      alarm(static_cast<Loop*>(arg)->watchdog);
    }, &loop));
    unsigned step = loop.watchdog / 3 ? loop.watchdog / 3 : 1;
    timeval tv{static_cast<time_t>(step), 0};
    event_add(loop.watchdog_ev.get(), &tv);
    alarm(loop.watchdog);
  }
  if (ctx.opts_.stdin_mode) {
    timeval tv{0, 200000};
    event_add(loop.drain_ev.get(), &tv);
  }

  event_base_dispatch(base);
  alarm(0);
  if (loop.hooks.on_exit) loop.hooks.on_exit(ctx);
  return ctx.exit_status_;
}

}  // namespace pftls::daemon
