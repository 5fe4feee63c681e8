/*++
 * NAME
 *	util/daemon.h - the daemon skeleton: master(8) conventions, jail
 *	hooks, the libevent loop
 * SYNOPSIS
 *	#include "util/daemon.h"
 *
 *	daemon::Hooks h;
 *	h.pre_jail = [](daemon::Context& c) { ... load keys ... };
 *	h.jail = [](daemon::Context& c) { return sandbox::EnterJail(...); };
 *	h.post_jail = [](daemon::Context& c) { ... };
 *	h.on_connection = [](daemon::Context& c, UniqueFd fd) { ... };
 *	h.active = [] { return sessions; };
 *	return daemon::Run(argc, argv, "tlsproxy", daemon::Kind::kEvent, h);
 *
 *	generic options: [-c] [-d] [-D] [-l] [-n name] [-o name=value]
 *	[-s N] [-S] [-t type] [-u] [-v] [-V] [-z]
 * DESCRIPTION
 *	Run() parses the generic Postfix daemon options, reads main.cf from
 *	$MAIL_CONFIG (default /etc/pftls) with the -o overrides, opens
 *	syslog as "$syslog_name/<program>" (before any chroot), changes to
 *	queue_directory, then runs: pre_jail, jail (-c: chroot to
 *	queue_directory; -u: drop to mail_owner; always no_new_privs and
 *	the role's limits), post_jail, and the event loop.
 *
 *	Under master(8) (GENERATION set): listening sockets are fds 6..6+N-1
 *	(-s N, default 1), fd 5 is the status pipe carrying 12-byte
 *	{int pid; unsigned generation; int avail} records (TAKEN = 0 around
 *	each accept / request, AVAIL = 1 after), fds 3/4 are the flow pipe.
 *	EOF on fd 5 (master gone or reloading) stops accepting; the process
 *	exits once active() reports no work left (drain). Without GENERATION
 *	and without -S, PFTLS_LISTEN=<unix path|host:port> makes the daemon
 *	create its own listener (tests, stand-alone use). -S serves one
 *	connection on standard input.
 *
 *	Retirement (kEvent servers): after max_idle seconds with no
 *	connection and no active work, or after max_use connections (then
 *	when idle). kMulti servers (tlsmgr) never retire.
 *
 *	Watchdog: a timer re-arms alarm(watchdog) on every loop pass; if one
 *	pass blocks for longer than the watchdog timeout the process is
 *	killed ("watchdog timeout"). An idle loop is never killed.
 *
 *	SIGTERM exits cleanly after on_exit; SIGPIPE is ignored; SIGHUP is
 *	ignored (reload is master's business).
 *
 *	EMFILE/ENFILE on accept pauses accepting for a short back-off
 *	instead of spinning.
 * SECURITY
 *	All privileged work happens before jail; hooks after it run
 *	unprivileged and confined.
 * DIAGNOSTICS
 *	Fatal errors (bad options, config, jail failure) exit 1 with one
 *	"fatal:" line.
 * CONFIGURATION PARAMETERS
 *	queue_directory, mail_owner, syslog_name, syslog_facility, max_idle,
 *	max_use, daemon_timeout (watchdog default), tlsproxy_watchdog_timeout
 *	(for tlsproxy, through Hooks::watchdog_param).
 *--*/
#pragma once

#include <event2/event.h>

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "util/config.h"
#include "util/fd.h"
#include "util/handles.h"
#include "util/result.h"

namespace pftls::daemon {

enum class Kind { kEvent, kMulti };

struct Options {
  bool chroot = false;        // -c
  bool foreground = false;    // -d
  bool debugger = false;      // -D (accepted; no debugger is started)
  bool limit_one = false;     // -l
  bool limit_zero = false;    // -z
  std::string service;        // -n
  std::vector<std::pair<std::string, std::string>> overrides;  // -o
  int socket_count = 1;       // -s
  bool stdin_mode = false;    // -S
  std::string transport = "unix";  // -t
  bool setuid = false;        // -u
  int verbose = 0;            // -v
  bool log_stderr = false;    // -V
  std::vector<std::string> args;  // after the options
};

Result<Options> ParseOptions(int argc, char** argv);

class Context;

struct Hooks {
  std::function<void(Context&)> pre_jail;
  std::function<Status(Context&)> jail;
  std::function<void(Context&)> post_jail;
  // on_connection - a new connection (event: accepted; multi: accepted).
  std::function<void(Context&, UniqueFd)> on_connection;
  // active - work in progress (sessions); draining waits for 0.
  std::function<size_t()> active;
  std::function<void(Context&)> on_exit;
  std::string watchdog_param = "daemon_timeout";
};

class Context {
 public:
  config::Config& cfg() { return cfg_; }
  const Options& options() const { return opts_; }
  event_base* base() { return base_.get(); }
  const std::string& program() const { return program_; }
  // Busy/Idle - TAKEN/AVAIL to master around a unit of work (multi servers).
  void Busy();
  void Idle();
  // Exit - leave the event loop and exit with status (after on_exit).
  void Exit(int status);
  // TakeListeners - the listening sockets, for roles that accept on their
  // own (Hooks::on_connection unset), e.g. tlsmgr on ipc::Server.
  std::vector<UniqueFd> TakeListeners() { return std::move(listeners_); }
  // draining - master went away or retirement began: finish and exit.
  bool draining() const { return draining_; }

 private:
  friend int Run(int, char**, const char*, Kind, Hooks);
  friend struct Loop;
  config::Config cfg_;
  Options opts_;
  EventBasePtr base_;
  std::string program_;
  int status_fd_ = -1;
  unsigned generation_ = 0;
  bool taken_ = false;
  int exit_status_ = 0;
  bool draining_ = false;
  std::vector<UniqueFd> listeners_;
};

// Run - the whole daemon life; returns the exit status for main().
int Run(int argc, char** argv, const char* program, Kind kind, Hooks hooks);

}  // namespace pftls::daemon
