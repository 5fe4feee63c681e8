/*++
 * NAME
 *	util/daemon.h - the daemon skeleton: master(8) conventions, jail, loop
 * SYNOPSIS
 *	#include "util/daemon.h"
 *
 *	int main(int argc, char** argv) {
 *	  daemon::ServerSpec spec;
 *	  spec.program = "tlsproxy";
 *	  spec.flavour = daemon::Flavour::kEvent;
 *	  spec.limit = daemon::ProcessLimit::kZero;
 *	  spec.watchdog_param = "tlsproxy_watchdog_timeout";
 *	  spec.pre_jail = [](daemon::Server& s) { ... load keys ... };
 *	  spec.on_accept = [](daemon::Server& s, UniqueFd fd, daemon::Lease l) {
 *	    ... keep fd and l in the session; drop l when it ends ...
 *	  };
 *	  return daemon::RunServer(argc, argv, spec);
 *	}
 * DESCRIPTION
 *	RunServer() is the whole life of a pftls daemon, in this order:
 *	generic options; MAIL_CONFIG -> main.cf, with -o overrides; syslog
 *	opened (LOG_NDELAY, before any chroot); mode check; chdir to
 *	queue_directory; -D debugger_command; the jail (sandbox/jail.h:
 *	spec.pre_jail, chroot with -c, mail_owner with -u, no_new_privs,
 *	rlimits, Landlock + seccomp for the role named by spec.program,
 *	spec.post_jail); then the libevent loop until exit.
 *
 *	Generic options (Postfix daemons, spec §9.1): -c chroot to
 *	queue_directory; -d foreground (accepted; stderr logging is -V); -D run
 *	debugger_command first; -i N max_idle; -l process limit 1 (the
 *	service is solitary); -m N max_use; -n name service name; -o
 *	name=value (also "{ name = value }") parameter override, repeatable;
 *	-s N number of listening sockets at fd 6.. (default 1); -S
 *	stand-alone: stdin is the one connection; -t type transport; -u drop
 *	to mail_owner; -v more verbose, repeatable; -V log to stderr; -z
 *	process limit 0. Arguments after the options are in Server::args().
 *
 *	Modes. Under master (default): fd 5 = status channel, fds 6.. the
 *	listeners, GENERATION from the environment. Stand-alone (-S): fd 0
 *	(a socket) is the only connection; exit when it is done. Foreground
 *	listen mode (tests, no master): environment PFTLS_LISTEN holds a
 *	comma-separated list of "unix:/path" or "inet:host:port"; the
 *	skeleton creates those listeners itself (before the jail), there is
 *	no status channel and no retirement, SIGTERM/SIGINT end it.
 *
 *	Flavours. kEvent ("event server", tlsproxy, front ends): one process,
 *	many connections; TAKEN is written before and AVAIL after each
 *	accept+on_accept (with -l, a process limit of 1, only around the
 *	first: master could not start another), so the process looks
 *	available almost always; the
 *	role owns the connection and the Lease that counts it. kMulti
 *	("multi server", tlsmgr): the skeleton owns the connections, calls
 *	on_connect once, then on_request each time one is readable, with
 *	TAKEN before and AVAIL after each request.
 *
 *	Retirement (spec.retire): exit after max_idle seconds without a
 *	connection. Multi servers exit the first time no connection is left
 *	once max_use connections were accepted (accepting goes on until
 *	then, as in Postfix). Event servers, like Postfix 3.4+ event
 *	servers, retire by time only: they stop accepting after
 *	max_idle x max_use seconds (18000 when that is 0) and exit once
 *	idle; a connection count would restart a busy pool many times a
 *	second.
 *
 *	Draining: when fd 5 reports EOF or an error (master exited or
 *	reloaded) the process stops accepting, calls spec.on_drain, and
 *	exits once its connections are gone. A multi server exits at once
 *	(its current request is already answered). With fork_to_drain the
 *	process forks (5 tries, 1 s apart): the parent exits at once so that
 *	master can start fresh processes, the child finishes the sessions.
 *
 *	Watchdog: SIGALRM every timeout/3 seconds (timeout from
 *	spec.watchdog_param, default daemon_timeout) wakes the loop through
 *	a self-pipe; if no loop pass completes for three steps in a row the
 *	process logs "watchdog timeout" and exits. An idle loop is never
 *	killed; a blocked one is.
 *
 *	SIGTERM: clean exit (spec.on_exit, then return from RunServer).
 * SECURITY
 *	Network peers are hostile; the skeleton only accepts and counts.
 *	The jail runs before the loop, never after a connection was seen.
 *	SIGPIPE is ignored; a vanished master is detected, never written
 *	to in a loop.
 * DIAGNOSTICS
 *	Usage and environment errors are fatal ("usage: ...", "service
 *	tlsmgr requires a process limit of 1", "not started by master(8):
 *	descriptor 5 is not open").
 * CONFIGURATION PARAMETERS
 *	queue_directory, mail_owner, syslog_name, syslog_facility, max_idle,
 *	max_use, daemon_timeout (or spec.watchdog_param), debugger_command,
 *	pftls_core_dumps (yes: keep RLIMIT_CORE unlimited; default no = 0),
 *	pftls_sandbox_debug (yes: seccomp traps and logs instead of killing),
 *	pftls_sandbox_selftest (a forbidden call to attempt after the jail;
 *	see sandbox/sandbox.h).
 *--*/
#pragma once

#include <event2/event.h>

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "util/config.h"
#include "util/fd.h"

namespace pftls::daemon {

enum class Flavour { kEvent, kMulti };
// ProcessLimit - what master.cf must say for this role (-l / -z).
enum class ProcessLimit { kAny, kOne, kZero };
enum class Next { kContinue, kClose };
enum class Mode { kMaster, kStandalone, kListen };

// Options - the generic command line (see DESCRIPTION).
struct Options {
  bool chroot = false;            // -c
  bool foreground = false;        // -d
  bool debug_me = false;          // -D
  bool limit_one = false;         // -l
  bool limit_zero = false;        // -z
  bool stdin_mode = false;        // -S
  bool unprivileged = false;      // -u
  bool log_stderr = false;        // -V
  int verbose = 0;                // -v count
  int socket_count = 1;           // -s
  std::string max_idle;           // -i (empty: not given)
  std::string max_use;            // -m
  std::string service_name;       // -n
  std::string transport;          // -t
  std::vector<std::pair<std::string, std::string>> overrides;  // -o
  std::vector<std::string> args;  // operands
};

// ParseOptions - argv[1..] per the generic option set; error names the problem.
Result<Options> ParseOptions(int argc, char** argv);
// ParseOverride - "name=value" or "{ name = value }" -> pair; error if neither.
Result<std::pair<std::string, std::string>> ParseOverride(const std::string& arg);

class Server;
struct ServerState;

// Lease - counts one connection an event server handed to the role; the
// count drops when the Lease is destroyed (keep it in the session object).
class Lease {
 public:
  Lease() = default;
  explicit Lease(std::weak_ptr<ServerState> s) : s_(std::move(s)) {}
  Lease(Lease&&) noexcept = default;
  Lease& operator=(Lease&& o) noexcept {
    if (this != &o) {
      Release();
      s_ = std::move(o.s_);
    }
    return *this;
  }
  ~Lease() { Release(); }
  void Release();

 private:
  std::weak_ptr<ServerState> s_;
};

struct ServerSpec {
  std::string program;                    // role name: log tag, messages
  Flavour flavour = Flavour::kEvent;
  ProcessLimit limit = ProcessLimit::kAny;
  bool forks = false;                     // false: RLIMIT_NPROC 0 in the jail
  bool writes_files = true;               // false: RLIMIT_FSIZE 0 in the jail
  bool retire = true;                     // max_idle / max_use retirement
  bool fork_to_drain = false;             // reload: child finishes sessions
  std::string watchdog_param = "daemon_timeout";

  std::function<void(Server&)> pre_jail;   // open files, load keys
  // Files and directories the role may still read/write inside the jail
  // (Landlock rules, sandbox/sandbox.h); unset: no file access at all.
  std::function<std::vector<std::string>(Server&)> data_paths;
  std::function<void(Server&)> post_jail;  // last set-up inside the jail
  // kEvent: a new connection (non-blocking, close-on-exec).
  std::function<void(Server&, UniqueFd, Lease)> on_accept;
  // kMulti: after accept (e.g. protocol announcement); kClose drops it.
  std::function<Next(Server&, int fd)> on_connect;
  // kMulti: fd is readable: read and answer one request.
  std::function<Next(Server&, int fd)> on_request;
  // kMulti: the skeleton is about to close fd.
  std::function<void(Server&, int fd)> on_disconnect;
  std::function<void(Server&)> on_drain;  // no new work will come
  std::function<void(Server&)> on_exit;   // last call before exit
};

// RunServer - the daemon's life (see DESCRIPTION); returns main()'s status.
int RunServer(int argc, char** argv, const ServerSpec& spec);

// Server - what a role sees of the skeleton inside its callbacks.
class Server {
 public:
  explicit Server(std::shared_ptr<ServerState> s) : s_(std::move(s)) {}
  config::Config& cfg();
  event_base* base();
  const Options& options() const;
  const std::string& service_name() const;  // -n, else spec.program
  const std::vector<std::string>& args() const;
  Mode mode() const;
  unsigned generation() const;
  size_t connections() const;  // leases (kEvent) or open connections (kMulti)
  bool draining() const;
  // Stop - leave the loop after the current pass and exit (on_exit runs).
  void Stop();
  // Drain - stop accepting; exit when the last connection is gone.
  void Drain(const char* reason);

 private:
  std::shared_ptr<ServerState> s_;
};

}  // namespace pftls::daemon
