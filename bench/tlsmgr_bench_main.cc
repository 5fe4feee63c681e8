/*++
 * NAME
 *	tlsmgr_bench - lookups+updates per second against a tlsmgr socket
 * SYNOPSIS
 *	tlsmgr_bench [-c clients] [-n pairs] [-t cache_type] [-s session_bytes] socket
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
 *	Against a server that answers -1/-2 (cache disabled) every request
 *	counts as an error.
 * SECURITY
 *	A test tool; talks only to the given local socket.
 * DIAGNOSTICS
 *	Exit status 0 when every request succeeded, 1 otherwise, 2 on usage.
 * CONFIGURATION PARAMETERS
 *	None.
 *--*/
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "ipc/client_sync.h"
#include "ipc/msg_announce.h"
#include "ipc/msg_tlsmgr.h"
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

int Usage() {
  std::fprintf(stderr, "usage: tlsmgr_bench [-c clients] [-n pairs] [-t cache_type] [-s session_bytes] socket\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  int clients = 2;
  long pairs = 10000;
  std::string type = "smtpd";
  long session_bytes = 2000;
  int ch;
  while ((ch = ::getopt(argc, argv, "c:n:t:s:")) != -1) {
    switch (ch) {
      case 'c': clients = std::atoi(optarg); break;
      case 'n': pairs = std::atol(optarg); break;
      case 't': type = optarg; break;
      case 's': session_bytes = std::atol(optarg); break;
      default: return Usage();
    }
  }
  if (optind + 1 != argc || clients < 1 || clients > 64 || pairs < 1 || session_bytes < 16 ||
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
      Totals t = RunClient(path, type, i, pairs, static_cast<size_t>(session_bytes));
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
  std::printf("clients=%d pairs=%ld requests=%ld errors=%ld seconds=%.3f requests/s=%.0f\n", clients, pairs, requests,
              all.errors, secs, secs > 0 ? static_cast<double>(all.ok) / secs : 0.0);
  return all.errors == 0 ? 0 : 1;
}
