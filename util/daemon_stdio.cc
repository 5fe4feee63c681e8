// util/daemon_stdio.cc - stand-alone mode (-S) when standard input is not
// a socket (a terminal, pipes or files): the role gets one end of a
// socketpair; the skeleton copies stdin to it and its output to stdout.
// stdout is written synchronously (it may be a regular file, which epoll
// cannot watch); a regular-file stdin is read whole at start (bounded).
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "util/daemon_state.h"
#include "util/log.h"

namespace pftls::daemon {
namespace {

constexpr size_t kRelayHighWater = 64 * 1024;
constexpr size_t kMaxFileInput = 16 * 1024 * 1024;

// WriteAll - blocking copy of the buffer to stdout.
void DrainToStdout(evbuffer* buf) {
  while (evbuffer_get_length(buf) > 0) {
    int n = evbuffer_write(buf, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      evbuffer_drain(buf, evbuffer_get_length(buf));  // stdout gone: discard
      return;
    }
  }
}

void HalfCloseInner(ServerState& s) {
  shutdown(bufferevent_getfd(s.relay->inner.get()), SHUT_WR);
}

void OnStdinRead(bufferevent* bev, void* arg) {
  auto* s = static_cast<ServerState*>(arg);
  bufferevent_write_buffer(s->relay->inner.get(), bufferevent_get_input(bev));
}

void OnStdinEvent(bufferevent*, short what, void* arg) {
  auto* s = static_cast<ServerState*>(arg);
  if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
    s->relay->in.reset();
    if (evbuffer_get_length(bufferevent_get_output(s->relay->inner.get())) == 0) HalfCloseInner(*s);
  }
}

void OnInnerWritten(bufferevent*, void* arg) {
  auto* s = static_cast<ServerState*>(arg);
  if (!s->relay->in) HalfCloseInner(*s);
}

void OnInnerRead(bufferevent* bev, void*) { DrainToStdout(bufferevent_get_input(bev)); }

void OnInnerEvent(bufferevent*, short, void*) {}  // the Lease decides the end

}  // namespace

UniqueFd StartStdioRelay(ServerState& s) {
  int sp[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sp) < 0)
    log::Fatal("-S: socketpair: %s", strerror(errno));
  SetNonBlocking(1, false);
  s.relay = std::make_unique<StdioRelay>();
  StdioRelay& r = *s.relay;
  r.inner.reset(bufferevent_socket_new(s.base.get(), sp[1], BEV_OPT_CLOSE_ON_FREE));
  if (!r.inner) log::Fatal("-S: bufferevent_socket_new failed");
  bufferevent_setcb(r.inner.get(), OnInnerRead, OnInnerWritten, OnInnerEvent, &s);
  bufferevent_enable(r.inner.get(), EV_READ | EV_WRITE);
  struct stat st;
  if (fstat(0, &st) == 0 && S_ISREG(st.st_mode)) {
    evbuffer* out = bufferevent_get_output(r.inner.get());
    char buf[8192];
    ssize_t n;
    while ((n = read(0, buf, sizeof(buf))) > 0) {
      if (evbuffer_get_length(out) + static_cast<size_t>(n) > kMaxFileInput) log::Fatal("-S: input file too large");
      evbuffer_add(out, buf, static_cast<size_t>(n));
    }
    if (evbuffer_get_length(out) == 0) HalfCloseInner(s);
    return UniqueFd(sp[0]);
  }
  SetNonBlocking(0);
  r.in.reset(bufferevent_socket_new(s.base.get(), 0, 0));
  if (!r.in) log::Fatal("-S: bufferevent_socket_new failed");
  bufferevent_setcb(r.in.get(), OnStdinRead, nullptr, OnStdinEvent, &s);
  bufferevent_setwatermark(r.in.get(), EV_READ, 0, kRelayHighWater);
  bufferevent_enable(r.in.get(), EV_READ);
  return UniqueFd(sp[0]);
}

// FinishStdioRelay - after the loop: copy what the role left in the
// socketpair to stdout, then release the relay.
void FinishStdioRelay(ServerState& s) {
  StdioRelay& r = *s.relay;
  DrainToStdout(bufferevent_get_input(r.inner.get()));
  EvBufferPtr pending(evbuffer_new());  // the bufferevent's input end is frozen
  int inner = bufferevent_getfd(r.inner.get());
  char buf[4096];
  ssize_t n;
  while (pending && (n = read(inner, buf, sizeof(buf))) > 0) evbuffer_add(pending.get(), buf, static_cast<size_t>(n));
  if (pending) DrainToStdout(pending.get());
  s.relay.reset();
}

}  // namespace pftls::daemon
