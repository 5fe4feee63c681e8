/*++
 * NAME
 *	tlsmgr_bench - lookups+updates per second against a tlsmgr socket
 * SYNOPSIS
 *	tlsmgr_bench [-c clients] [-n pairs] [-w window] [-t cache_type] [-s session_bytes] socket
 * DESCRIPTION
 *	Forks `clients` processes (default 2); each opens one ipc::SyncClient
 *	connection to `socket` (protocol tlsmgr_protocol) and performs
 *	`pairs` (default 10000) update+lookup pairs on cache type
 *	`cache_type` (default smtpd) with distinct ids and a session value of
 *	`session_bytes` bytes (default 2000, roughly a hex-encoded TLS 1.2
 *	session). Each child checks every reply (update status 0, lookup
 *	status 0 with the same bytes) and reports its count through a pipe;
 *	the parent prints
 *
 *	    clients=2 pairs=10000 requests=40000 errors=0 seconds=1.234 requests/s=32415
 *
 *	With -w window > 1 each client keeps up to `window` requests in
 *	flight on its one connection (pipelining: the attr0 stream carries
 *	requests back to back and the server answers them in order), which
 *	measures the server's capacity rather than the IPC round-trip time.
 *	tlsproxy itself sends one request at a time (Postfix convention), so
 *	-w 1 (default) is its pattern; the difference between the two is the
 *	cost of the round trips (process wake-ups), not of tlsmgr's work.
 *
 *	Against a server that answers -1/-2 (cache disabled) every request
 *	counts as an error.
 * SECURITY
 *	A test tool; talks only to the given local socket.
 * DIAGNOSTICS
 *	Exit status 0 when every request succeeded, 1 otherwise, 2 on usage.
 * CONFIGURATION PARAMETERS
 *	None.
 *--*/
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "ipc/attr0.h"
#include "ipc/client_sync.h"
#include "ipc/msg_announce.h"
#include "ipc/msg_tlsmgr.h"
#include "ipc/unix_socket.h"
#include "util/fd.h"

using namespace pftls;

namespace {

struct Totals {
  long ok = 0;
  long errors = 0;
};

Totals RunClient(const std::string& path, const std::string& type, int id, long pairs, size_t session_bytes) {
  ipc::SyncClientOptions o;
  o.path = path;
  o.protocol = std::string(ipc::kTlsmgrProtocol);
  o.idle_timeout = std::chrono::seconds(60);
  ipc::SyncClient c(o);
  Totals t;
  std::string value(session_bytes, 'A');
  for (long i = 0; i < pairs; i++) {
    std::string key = "bench-" + std::to_string(::getpid()) + "-" + std::to_string(id) + "-" + std::to_string(i);
    std::snprintf(value.data(), value.size(), "%016lX", static_cast<unsigned long>(i));
    ipc::UpdateRequest up{type, key, SecretBytes(reinterpret_cast<const uint8_t*>(value.data()), value.size())};
    auto u = c.Request(up);
    if (u && u->status == ipc::kStatOk)
      t.ok++;
    else
      t.errors++;
    auto l = c.Request(ipc::LookupRequest{type, key});
    if (l && l->status == ipc::kStatOk && l->session.size() == value.size() &&
        std::memcmp(l->session.data(), value.data(), value.size()) == 0)
      t.ok++;
    else
      t.errors++;
  }
  return t;
}

// Pipelined - the same update+lookup pairs with up to `window` requests in
// flight; replies are matched to requests by order.
class Pipelined {
 public:
  Pipelined(std::string type, int id, long pairs, size_t session_bytes, int window)
      : type_(std::move(type)), id_(id), pairs_(pairs), value_(session_bytes, 'A'), window_(window) {}

  Totals Run(const std::string& path) {
    Totals t;
    bool in_progress = false;
    Result<UniqueFd> c = ipc::ConnectUnix(path, &in_progress);
    if (!c || !WaitFor(c->get(), POLLOUT)) {
      t.errors = 2 * pairs_;
      return t;
    }
    fd_ = std::move(*c);
    if (!ReadRecord()) {  // the announcement
      t.errors = 2 * pairs_;
      return t;
    }
    long sent = 0, answered = 0, total = 2 * pairs_;
    while (answered < total) {
      std::string out;
      for (; sent < total && sent - answered < window_; sent++) out += Encode(sent);
      if (!out.empty() && !WriteAll(out)) break;
      ipc::Record rec;
      if (!ReadRecord(&rec)) break;
      if (Check(answered, rec))
        t.ok++;
      else
        t.errors++;
      answered++;
    }
    t.errors += total - answered;
    return t;
  }

 private:
  std::string Key(long pair) const {
    return "bench-" + std::to_string(::getpid()) + "-" + std::to_string(id_) + "-" + std::to_string(pair);
  }
  std::string& Value(long pair) {
    std::snprintf(value_.data(), value_.size(), "%016lX", static_cast<unsigned long>(pair));
    return value_;
  }
  // Encode - request n: even n an update of pair n/2, odd n its lookup.
  std::string Encode(long n) {
    long pair = n / 2;
    Result<std::string> r = n % 2 == 0
        ? ipc::UpdateRequest{type_, Key(pair),
                             SecretBytes(reinterpret_cast<const uint8_t*>(Value(pair).data()), value_.size())}
              .Encode()
        : ipc::LookupRequest{type_, Key(pair)}.Encode();
    return r ? *r : std::string();
  }
  bool Check(long n, const ipc::Record& rec) {
    if (n % 2 == 0) {
      auto u = ipc::StatusReply::Decode(rec);
      return u && u->status == ipc::kStatOk;
    }
    auto l = ipc::LookupReply::Decode(rec);
    const std::string& v = Value(n / 2);
    return l && l->status == ipc::kStatOk && l->session.size() == v.size() &&
           std::memcmp(l->session.data(), v.data(), v.size()) == 0;
  }
  bool WaitFor(int fd, short what) {
    pollfd p{fd, what, 0};
    return ::poll(&p, 1, 10000) == 1;
  }
  bool WriteAll(const std::string& out) {
    size_t off = 0;
    while (off < out.size()) {
      ssize_t w = ::send(fd_.get(), out.data() + off, out.size() - off, MSG_NOSIGNAL);
      if (w > 0) {
        off += static_cast<size_t>(w);
      } else if (w < 0 && errno == EAGAIN) {
        if (!WaitFor(fd_.get(), POLLOUT)) return false;
      } else {
        return false;
      }
    }
    return true;
  }
  bool ReadRecord(ipc::Record* rec = nullptr) {
    for (;;) {
      if (!in_.empty()) {
        auto used = parser_.Feed(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(in_.data()), in_.size()));
        if (!used) return false;
        in_.erase(0, *used);
        if (parser_.done()) {
          ipc::Record r = parser_.Take();
          if (rec) *rec = std::move(r);
          return true;
        }
      }
      char buf[65536];
      ssize_t n = ::read(fd_.get(), buf, sizeof(buf));
      if (n > 0) {
        in_.append(buf, static_cast<size_t>(n));
      } else if (n < 0 && errno == EAGAIN) {
        if (!WaitFor(fd_.get(), POLLIN)) return false;
      } else {
        return false;
      }
    }
  }

  std::string type_;
  int id_;
  long pairs_;
  std::string value_;
  long window_;
  UniqueFd fd_;
  std::string in_;
  ipc::Attr0Parser parser_;
};

int Usage() {
  std::fprintf(stderr, "usage: tlsmgr_bench [-c clients] [-n pairs] [-w window] [-t cache_type] [-s session_bytes] socket\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  int clients = 2;
  long pairs = 10000;
  std::string type = "smtpd";
  long session_bytes = 2000;
  int window = 1;
  int ch;
  while ((ch = ::getopt(argc, argv, "c:n:w:t:s:")) != -1) {
    switch (ch) {
      case 'c': clients = std::atoi(optarg); break;
      case 'n': pairs = std::atol(optarg); break;
      case 't': type = optarg; break;
      case 's': session_bytes = std::atol(optarg); break;
      case 'w': window = std::atoi(optarg); break;
      default: return Usage();
    }
  }
  if (optind + 1 != argc || clients < 1 || clients > 64 || pairs < 1 || window < 1 || window > 1024 ||
      session_bytes < 16 ||
      session_bytes > static_cast<long>(ipc::kMaxSessionLen))
    return Usage();
  std::string path = argv[optind];

  std::vector<pid_t> kids;
  std::vector<UniqueFd> pipes;
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < clients; i++) {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0) return std::perror("pipe"), 1;
    pid_t pid = ::fork();
    if (pid < 0) return std::perror("fork"), 1;
    if (pid == 0) {
      ::close(p[0]);
      Totals t = window == 1 ? RunClient(path, type, i, pairs, static_cast<size_t>(session_bytes))
                             : Pipelined(type, i, pairs, static_cast<size_t>(session_bytes), window).Run(path);
      ssize_t w = ::write(p[1], &t, sizeof(t));
      ::_exit(w == static_cast<ssize_t>(sizeof(t)) ? 0 : 1);
    }
    ::close(p[1]);
    kids.push_back(pid);
    pipes.emplace_back(p[0]);
  }
  Totals all;
  for (size_t i = 0; i < kids.size(); i++) {
    Totals t;
    if (::read(pipes[i].get(), &t, sizeof(t)) == static_cast<ssize_t>(sizeof(t))) {
      all.ok += t.ok;
      all.errors += t.errors;
    } else {
      all.errors += 2 * pairs;
    }
    int status = 0;
    ::waitpid(kids[i], &status, 0);
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  long requests = all.ok + all.errors;
  std::printf("clients=%d window=%d pairs=%ld requests=%ld errors=%ld seconds=%.3f requests/s=%.0f\n", clients,
              window, pairs, requests, all.errors, secs, secs > 0 ? static_cast<double>(all.ok) / secs : 0.0);
  return all.errors == 0 ? 0 : 1;
}
