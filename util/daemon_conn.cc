// util/daemon_conn.cc - accepting connections for the two server flavours
// and the stand-alone (-S) connection (util/daemon.h).
#include <sys/socket.h>
#include <sys/stat.h>

#include <cerrno>
#include <ctime>
#include <cstring>

#include "util/daemon_state.h"
#include "util/log.h"
#include "util/master_proto.h"

namespace pftls::daemon {
namespace {

void OnMultiReadable(evutil_socket_t fd, short, void* arg);

// AddMultiConn - the skeleton owns fd from now on; on_connect may refuse it.
void AddMultiConn(ServerState& s, UniqueFd fd) {
  int raw = fd.get();
  MultiConn& mc = s.conns[raw];
  mc.fd = std::move(fd);
  ConnectionCame(s);
  if (s.spec.on_connect && s.spec.on_connect(*s.server, raw) == Next::kClose) {
    CloseMultiConn(s, raw);
    return;
  }
  mc.ev.reset(event_new(s.base.get(), raw, EV_READ | EV_PERSIST, OnMultiReadable, &s));
  event_add(mc.ev.get(), nullptr);
}

void OnMultiReadable(evutil_socket_t fd, short, void* arg) {
  auto* s = static_cast<ServerState*>(arg);
  Notify(*s, master_proto::kStatTaken);
  Next next = s->spec.on_request(*s->server, fd);
  Notify(*s, master_proto::kStatAvail);
  if (next == Next::kClose) CloseMultiConn(*s, fd);
}

// HandOff - give a new connection to the role.
void HandOff(ServerState& s, UniqueFd fd) {
  if (s.spec.flavour == Flavour::kEvent) {
    ++s.leases;
    ConnectionCame(s);
    s.spec.on_accept(*s.server, std::move(fd), Lease(s.self));
  } else {
    AddMultiConn(s, std::move(fd));
  }
}

constexpr int kAcceptBackoffMs = 250;

// PauseAccepting - out of descriptors or memory. An event server also
// reports itself TAKEN while paused, so master starts another process
// for the clients queued meanwhile (instead of leaving them to this one).
void PauseAccepting(ServerState& s) {
  for (EventPtr& ev : s.listen_events) event_del(ev.get());
  if (s.spec.flavour == Flavour::kEvent && !s.paused_taken) {
    s.paused_taken = true;
    ReportAvail(s);
  }
  if (!s.accept_backoff) {
    s.accept_backoff.reset(evtimer_new(s.base.get(), [](evutil_socket_t, short, void* arg) {
      auto* st = static_cast<ServerState*>(arg);
      if (!st->accepting) return;
      if (st->paused_taken) {
        st->paused_taken = false;
        ReportAvail(*st);
      }
      for (EventPtr& ev : st->listen_events) event_add(ev.get(), nullptr);
    }, &s));
  }
  timeval tv{0, kAcceptBackoffMs * 1000};
  evtimer_add(s.accept_backoff.get(), &tv);
}

void OnAcceptable(evutil_socket_t lfd, short, void* arg) {
  auto* s = static_cast<ServerState*>(arg);
  if (!s->accepting) return;
  // Event servers: the first client's TAKEN/AVAIL pair goes around its
  // hand-off, so that master counts a completed use (a later crash is
  // then not a "bad command startup"). After that, Postfix's pair around
  // every accept (spec §4.1) is replaced by TAKEN while the process is
  // busy (util/daemon_load.cc): the pool grows with CPU load, not with
  // the chance that master reads a TAKEN before its AVAIL. A service with
  // a process limit of 1 (-l) cannot grow and skips the sampling. Every
  // process of a pool wakes for each new connection and all but one lose
  // the race (EAGAIN); the losers do nothing.
  const bool event_flavour = s->spec.flavour == Flavour::kEvent && s->use_count == 0;
  const bool sample_load = s->spec.flavour == Flavour::kEvent && s->use_count > 0 && !s->opts.limit_one;
  UniqueFd fd(accept4(lfd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
  if (!fd) {
    int err = errno;
    if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) {
      // Out of descriptors or memory: the connection stays queued in the
      // kernel. Pause accepting instead of spinning on a level-triggered
      // event; one warning per 10 s at most.
      PauseAccepting(*s);
      time_t now = time(nullptr);
      if (now - s->accept_warned >= 10) {
        s->accept_warned = now;
        log::Warn("accept: %s: pausing new connections for %d ms", strerror(err), kAcceptBackoffMs);
      }
    } else if (err != EAGAIN && err != EWOULDBLOCK && err != ECONNABORTED && err != EINTR) {
      // Another process took it (EAGAIN), or the client went away.
      log::Warn("accept: %s", strerror(err));
    }
    return;
  }
  if (event_flavour) Notify(*s, master_proto::kStatTaken);
  HandOff(*s, std::move(fd));
  if (event_flavour && s->accepting) Notify(*s, master_proto::kStatAvail);
  if (sample_load && s->accepting) SampleLoad(*s);
}

}  // namespace

void CloseMultiConn(ServerState& s, int fd) {
  auto it = s.conns.find(fd);
  if (it == s.conns.end()) return;
  if (s.spec.on_disconnect) s.spec.on_disconnect(*s.server, fd);
  s.conns.erase(it);  // event first, then the descriptor (member order)
  ConnectionGone(s);
}

void ArmListeners(ServerState& s) {
  for (const UniqueFd& fd : s.listen_fds) {
    EventPtr ev(event_new(s.base.get(), fd.get(), EV_READ | EV_PERSIST, OnAcceptable, &s));
    event_add(ev.get(), nullptr);
    s.listen_events.push_back(std::move(ev));
  }
}

void StartStandalone(ServerState& s) {
  struct stat st;
  if (fstat(0, &st) < 0) log::Fatal("-S: standard input: %s", strerror(errno));
  UniqueFd fd;
  if (S_ISSOCK(st.st_mode)) {
    fd.reset(fcntl(0, F_DUPFD_CLOEXEC, 3));
    if (!fd) log::Fatal("dup stdin: %s", strerror(errno));
    SetNonBlocking(fd.get());
  } else {
    fd = StartStdioRelay(s);  // terminal or pipes: relay through a socketpair
  }
  s.accepting = false;  // the one connection is all there will be
  HandOff(s, std::move(fd));
}

}  // namespace pftls::daemon
