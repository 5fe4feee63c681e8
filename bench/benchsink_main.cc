/*++
 * NAME
 *	benchsink - trivial SMTP sink and bulk backend for the benchmarks
 * SYNOPSIS
 *	benchsink [-s host:port] [-b host:port]
 * DESCRIPTION
 *	One single-threaded epoll loop, cheap enough that the backend never
 *	bounds a benchmark.
 *
 *	-s: an SMTP sink. Banner 220, EHLO (PIPELINING, 8BITMIME, SIZE; no
 *	XCLIENT and no STARTTLS), HELO, MAIL, RCPT, RSET, NOOP 250, DATA
 *	354 then the message is discarded up to "." and answered 250, QUIT
 *	221 and close; anything else 502.
 *
 *	-b: the bulk protocol of tlsload -M raw. A header line "U n", "D n"
 *	or "E n": U discards n bytes and answers "OK\n", D sends n bytes, E
 *	echoes n bytes. The connection closes when the client closes.
 * SECURITY
 *	A test tool for loopback: binds only where it is told.
 * DIAGNOSTICS
 *	Start-up errors on stderr, exit status 1.
 * CONFIGURATION PARAMETERS
 *	None.
 *--*/
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <string>

#include "util/fd.h"

using namespace pftls;

namespace {

constexpr size_t kMaxLine = 4096;
constexpr size_t kChunk = 64 * 1024;
const char kZeros[kChunk] = {};

struct Conn {
  UniqueFd fd;
  bool smtp = false;
  bool data = false;       // SMTP: inside DATA
  bool quit = false;       // close once out is written
  bool header_done = false;
  char op = 0;             // bulk: U, D or E
  long left = 0;           // bulk: bytes still to receive (U, E) or send (D)
  std::string in, out;
  uint32_t interest = 0;
};

UniqueFd Listen(const std::string& hp) {
  size_t colon = hp.rfind(':');
  if (colon == std::string::npos) return UniqueFd();
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(atoi(hp.c_str() + colon + 1)));
  if (inet_pton(AF_INET, hp.substr(0, colon).c_str(), &a.sin_addr) != 1) return UniqueFd();
  UniqueFd fd(socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  int one = 1;
  setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) < 0 || listen(fd.get(), 4096) < 0) return UniqueFd();
  return fd;
}

void SmtpLine(Conn& c, const std::string& line) {
  if (c.data) {
    if (line == ".\r\n" || line == ".\n") {
      c.data = false;
      c.out += "250 2.0.0 Ok: discarded\r\n";
    }
    return;
  }
  std::string v = line.substr(0, 4);
  for (auto& ch : v) ch = static_cast<char>(toupper(static_cast<unsigned char>(ch)));
  if (v == "EHLO") c.out += "250-sink.example\r\n250-PIPELINING\r\n250-SIZE 100000000\r\n250 8BITMIME\r\n";
  else if (v == "HELO" || v == "MAIL" || v == "RCPT" || v == "RSET" || v == "NOOP") c.out += "250 2.0.0 Ok\r\n";
  else if (v == "DATA") c.data = true, c.out += "354 End data with <CR><LF>.<CR><LF>\r\n";
  else if (v == "QUIT") c.quit = true, c.out += "221 2.0.0 Bye\r\n";
  else c.out += "502 5.5.2 Error: command not recognized\r\n";
}

// Consumes c.in; returns false when the connection must close.
bool Consume(Conn& c) {
  if (c.smtp) {
    size_t pos = 0, nl;
    while (!c.quit && (nl = c.in.find('\n', pos)) != std::string::npos) {
      SmtpLine(c, c.in.substr(pos, nl + 1 - pos));
      pos = nl + 1;
    }
    c.in.erase(0, pos);
    return c.in.size() <= kMaxLine || c.data;
  }
  if (!c.header_done) {
    size_t nl = c.in.find('\n');
    if (nl == std::string::npos) return c.in.size() < 64;
    c.op = c.in[0];
    c.left = atol(c.in.c_str() + 1);
    if ((c.op != 'U' && c.op != 'D' && c.op != 'E') || c.left < 0) return false;
    c.in.erase(0, nl + 1);
    c.header_done = true;
  }
  if (c.op == 'U' || c.op == 'E') {
    long take = std::min<long>(c.left, static_cast<long>(c.in.size()));
    if (c.op == 'E') c.out.append(c.in, 0, static_cast<size_t>(take));
    c.left -= take;
    c.in.clear();
    if (c.op == 'U' && c.left == 0) c.out += "OK\n", c.op = 'X';
  }
  return true;
}

// Writes what is pending (and D payload); false on error.
bool Flush(Conn& c) {
  for (;;) {
    if (c.out.empty() && c.op == 'D' && c.left > 0) {
      ssize_t n = send(c.fd.get(), kZeros, static_cast<size_t>(std::min<long>(c.left, kChunk)), MSG_NOSIGNAL);
      if (n < 0) return errno == EAGAIN;
      c.left -= n;
      continue;
    }
    if (c.out.empty()) return true;
    ssize_t n = send(c.fd.get(), c.out.data(), c.out.size(), MSG_NOSIGNAL);
    if (n < 0) return errno == EAGAIN;
    c.out.erase(0, static_cast<size_t>(n));
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string smtp, bulk;
  int ch;
  while ((ch = getopt(argc, argv, "s:b:")) != -1) {
    if (ch == 's') smtp = optarg;
    else if (ch == 'b') bulk = optarg;
    else return fprintf(stderr, "usage: benchsink [-s host:port] [-b host:port]\n"), 2;
  }
  signal(SIGPIPE, SIG_IGN);
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0) rl.rlim_cur = rl.rlim_max, setrlimit(RLIMIT_NOFILE, &rl);
  UniqueFd ep(epoll_create1(EPOLL_CLOEXEC));
  UniqueFd ls, lb;
  if (!smtp.empty() && !(ls = Listen(smtp))) return fprintf(stderr, "benchsink: cannot listen on %s\n", smtp.c_str()), 1;
  if (!bulk.empty() && !(lb = Listen(bulk))) return fprintf(stderr, "benchsink: cannot listen on %s\n", bulk.c_str()), 1;
  for (int l : {ls.get(), lb.get()}) {
    if (l < 0) continue;
    epoll_event ev{EPOLLIN, {}};
    ev.data.fd = l;
    epoll_ctl(ep.get(), EPOLL_CTL_ADD, l, &ev);
  }
  std::map<int, std::unique_ptr<Conn>> conns;
  epoll_event evs[256];
  char buf[kChunk];
  for (;;) {
    int n = epoll_wait(ep.get(), evs, 256, -1);
    if (n < 0 && errno != EINTR) return 1;
    for (int i = 0; i < n; i++) {
      int fd = evs[i].data.fd;
      if (fd == ls.get() || fd == lb.get()) {
        int cfd;
        while ((cfd = accept4(fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
          auto c = std::make_unique<Conn>();
          c->fd.reset(cfd);
          c->smtp = fd == ls.get();
          int one = 1;
          setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          if (c->smtp) c->out = "220 sink.example ESMTP benchsink\r\n";
          c->interest = EPOLLIN;
          epoll_event ev{EPOLLIN, {}};
          ev.data.fd = cfd;
          epoll_ctl(ep.get(), EPOLL_CTL_ADD, cfd, &ev);
          conns[cfd] = std::move(c);
          Flush(*conns[cfd]);
        }
        continue;
      }
      auto it = conns.find(fd);
      if (it == conns.end()) continue;
      Conn& c = *it->second;
      bool ok = true;
      if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
        // Back-pressure: read only while little output is pending.
        while (ok && c.out.size() < 4 * kChunk) {
          ssize_t r = recv(fd, buf, sizeof buf, 0);
          if (r > 0) {
            c.in.append(buf, static_cast<size_t>(r));
            ok = Consume(c);
          } else {
            if (r == 0 || errno != EAGAIN) ok = false;
            break;
          }
        }
      }
      if (ok) ok = Flush(c);
      if (ok && c.quit && c.out.empty()) ok = false;
      if (!ok) {
        conns.erase(it);
        continue;
      }
      uint32_t want = EPOLLIN;
      if (!c.out.empty() || (c.op == 'D' && c.left > 0)) want |= EPOLLOUT;
      if (want != c.interest) {
        epoll_event ev{want, {}};
        ev.data.fd = fd;
        epoll_ctl(ep.get(), EPOLL_CTL_MOD, fd, &ev);
        c.interest = want;
      }
    }
  }
}
