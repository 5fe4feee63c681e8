/*++
 * NAME
 *	echosvc - a test service built on the daemon skeleton
 * SYNOPSIS
 *	echosvc [generic daemon options] [multi]
 * DESCRIPTION
 *	For tests of master/ and util/daemon.h. Answers each line received
 *	with "<pid> <echosvc_param> <line>". With the operand "multi" it is
 *	a multi server (TAKEN/AVAIL around each request), otherwise an event
 *	server (TAKEN/AVAIL around each accept). Logs "started" once per
 *	process, so tests can count starts.
 * SECURITY
 *	Test code; lines are capped at 1024 bytes, longer input is dropped
 *	with the connection.
 * DIAGNOSTICS
 *	"echosvc_fail_start is set -- exiting" (exit 1 before serving).
 * CONFIGURATION PARAMETERS
 *	echosvc_param (any text, echoed), echosvc_delay (milliseconds to
 *	block per line, to make the process busy), echosvc_fail_start
 *	(yes: exit 1 at start, to test throttling).
 *--*/
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <ctime>
#include <cstring>
#include <map>
#include <memory>
#include <string>

#include "util/daemon.h"
#include "util/handles.h"
#include "util/log.h"

using namespace pftls;

namespace {

struct Settings {
  std::string param;
  long delay_ms = 0;
};
Settings g_settings;

std::string Answer(const std::string& line) {
  // Block the whole process (signals do not cut the delay short).
  if (g_settings.delay_ms > 0) {
    struct timespec left = {g_settings.delay_ms / 1000, (g_settings.delay_ms % 1000) * 1000000};
    while (nanosleep(&left, &left) < 0 && errno == EINTR) {
    }
  }
  return std::to_string(getpid()) + " " + g_settings.param + " " + line + "\n";
}

// Session - one event-server connection; owns its bufferevent and lease.
struct Session {
  daemon::Lease lease;
  BufferEventPtr bev;
};
std::map<Session*, std::unique_ptr<Session>> g_sessions;

void EndSession(Session* s) { g_sessions.erase(s); }

void OnRead(bufferevent* bev, void* arg) {
  evbuffer* in = bufferevent_get_input(bev);
  for (;;) {
    size_t len = 0;
    char* line = evbuffer_readln(in, &len, EVBUFFER_EOL_CRLF);
    if (line == nullptr) break;
    std::string text(line, len);
    free(line);
    std::string out = Answer(text);
    bufferevent_write(bev, out.data(), out.size());
  }
  if (evbuffer_get_length(in) > 1024) EndSession(static_cast<Session*>(arg));
}

void OnFlushed(bufferevent*, void* arg) { EndSession(static_cast<Session*>(arg)); }

void OnEvent(bufferevent* bev, short what, void* arg) {
  if (what & BEV_EVENT_ERROR) {
    EndSession(static_cast<Session*>(arg));
  } else if (what & BEV_EVENT_EOF) {
    // Client finished sending: end once the answers are out.
    if (evbuffer_get_length(bufferevent_get_output(bev)) == 0) {
      EndSession(static_cast<Session*>(arg));
      return;
    }
    bufferevent_disable(bev, EV_READ);
    bufferevent_setcb(bev, nullptr, OnFlushed, OnEvent, arg);
  }
}

void OnAccept(daemon::Server& srv, UniqueFd fd, daemon::Lease lease) {
  auto s = std::make_unique<Session>();
  s->lease = std::move(lease);
  s->bev.reset(bufferevent_socket_new(srv.base(), fd.release(), BEV_OPT_CLOSE_ON_FREE));
  Session* key = s.get();
  bufferevent_setcb(s->bev.get(), OnRead, nullptr, OnEvent, key);
  bufferevent_enable(s->bev.get(), EV_READ | EV_WRITE);
  g_sessions[key] = std::move(s);
}

// Multi server: partial lines per connection.
std::map<int, std::string> g_partial;

daemon::Next OnRequest(daemon::Server&, int fd) {
  char buf[512];
  ssize_t n = read(fd, buf, sizeof(buf));
  if (n == 0) {
    if (g_partial[fd] == "W") log::Info("wakeup received");
    return daemon::Next::kClose;
  }
  if (n < 0) return (errno == EAGAIN || errno == EINTR) ? daemon::Next::kContinue : daemon::Next::kClose;
  std::string& acc = g_partial[fd];
  acc.append(buf, static_cast<size_t>(n));
  size_t nl;
  while ((nl = acc.find('\n')) != std::string::npos) {
    std::string line = acc.substr(0, nl);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    acc.erase(0, nl + 1);
    std::string out = Answer(line);
    if (write(fd, out.data(), out.size()) != static_cast<ssize_t>(out.size())) return daemon::Next::kClose;
  }
  if (acc.size() > 1024) return daemon::Next::kClose;
  return daemon::Next::kContinue;
}

}  // namespace

int main(int argc, char** argv) {
  daemon::ServerSpec spec;
  spec.program = "echosvc";
  spec.flavour = (argc > 1 && strcmp(argv[argc - 1], "multi") == 0) ? daemon::Flavour::kMulti : daemon::Flavour::kEvent;
  // "nofiles": like the roles that write no files (RLIMIT_FSIZE 0), to test
  // that their log lines still reach master's stderr when that is a file.
  spec.writes_files = !(argc > 1 && strcmp(argv[argc - 1], "nofiles") == 0);
  spec.pre_jail = [](daemon::Server& srv) {
    config::Config& c = srv.cfg();
    Result<std::string> fail = c.Expand("echosvc_fail_start");  // "$name" allowed: one switch per service
    if (fail && *fail == "yes")
      log::Fatal("echosvc_fail_start is set -- exiting (service %s)", srv.service_name().c_str());
    g_settings.param = c.Str("echosvc_param");
    g_settings.delay_ms = atol(c.Raw("echosvc_delay").value_or("0").c_str());
  };
  spec.post_jail = [](daemon::Server& srv) {
    log::Info("started service=%s param=%s uid=%d", srv.service_name().c_str(), g_settings.param.c_str(),
              static_cast<int>(getuid()));
  };
  spec.on_accept = OnAccept;
  spec.on_request = OnRequest;
  spec.on_disconnect = [](daemon::Server&, int fd) { g_partial.erase(fd); };
  spec.on_exit = [](daemon::Server&) { g_sessions.clear(); };
  return daemon::RunServer(argc, argv, spec);
}
