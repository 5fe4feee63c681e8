/*++
 * NAME
 *	util/log.h - Postfix-style logging to syslog and stderr
 * SYNOPSIS
 *	#include "util/log.h"
 *
 *	log::Open("postfix", "tlsproxy", LOG_MAIL);	// before any chroot
 *	log::SetStderr(true);				// -V, foreground, tools
 *	log::Info("CONNECT from %s", endpoint);
 *	log::Warn("bogus seed length \"%d\" in \"seed\" request", n);
 *	log::Error(...); log::Fatal(...); log::Panic(...);
 *	if (log::Verbose()) log::Info("detail");
 * DESCRIPTION
 *	Each record goes to syslog as "<syslog_name>/<process>[pid]:
 *	<prefix><text>", and, when enabled, to stderr as
 *	"<syslog_name>/<process>: <prefix><text>". Open() connects its own
 *	datagram socket to /dev/log once, before any chroot, and sends
 *	RFC 3164 records (what syslog(3) writes) on it; when /dev/log
 *	cannot be connected (no syslog daemon) records go to stderr instead
 *	(which master collects), rather than letting glibc retry a socket
 *	and a connect for every record. A send that fails later (the daemon
 *	restarted) reconnects once, at most every 10 s, else the record goes
 *	to stderr. A stream /dev/log is left to glibc's syslog(3). The pid
 *	is cached and reset in a forked child (pthread_atfork). When POSTLOG_SERVICE is set
 *	(Postfix master(8) with maillog_file), records go to postlogd(8)
 *	through that socket instead of syslog; it is connected in Open(),
 *	before any chroot.
 *
 *	Severity prefixes follow Postfix: none for info, "warning: ",
 *	"error: ", "fatal: " (then exit(1)) and "panic: " (then abort()).
 *	Meaning (DESIGN §3.9): panic = our bug, fatal = broken environment or
 *	configuration, warning = one peer misbehaved (drop only that peer).
 *
 *	Verbose() returns the -v count; AddVerbose() raises it.
 *
 *	SetFatalHook() registers one function run once before a fatal exit
 *	(for example to save the PRNG exchange file). SetCaptureForTest()
 *	diverts records to a function, for unit tests.
 * SECURITY
 *	Every entry point is printf-like with a compile-time checked format
 *	(the format attribute plus -Wformat=2 -Werror): a non-literal format
 *	does not compile. Control characters in the final text are replaced
 *	by '?', so hostile input cannot forge extra log lines. Records are
 *	capped at kMaxRecord bytes. Never log keys, tickets, seeds or
 *	session bytes.
 * DIAGNOSTICS
 *	Fatal exits with status 1; Panic aborts.
 * CONFIGURATION PARAMETERS
 *	syslog_name, syslog_facility (applied by the caller through Open()).
 *--*/
#pragma once

#include <sys/types.h>
#include <syslog.h>

#include <functional>
#include <string>
#include <string_view>

#define PFTLS_PRINTF(f, a) __attribute__((format(printf, f, a)))

namespace pftls::log {

inline constexpr size_t kMaxRecord = 4096;

enum class Level { kInfo, kWarning, kError, kFatal, kPanic };

// Open - set the tag "<syslog_name>/<process>" and open syslog now.
void Open(std::string_view syslog_name, std::string_view process,
          int facility = LOG_MAIL);
// SetStderr - also write records to stderr.
void SetStderr(bool on);
// SetSyslog - enable or disable the syslog sink (on by default after Open).
void SetSyslog(bool on);
// Tag - the current "<syslog_name>/<process>" tag.
const std::string& Tag();
// FacilityByName - "mail" -> LOG_MAIL, ...; -1 when unknown.
int FacilityByName(std::string_view name);

// Pid - getpid(), cached (reset in a forked child).
pid_t Pid();

int Verbose();
void AddVerbose();
void SetVerbose(int level);

void SetFatalHook(std::function<void()> hook);
using CaptureFn = std::function<void(Level, std::string_view)>;
// SetCaptureForTest - divert records to fn (nullptr restores normal output).
void SetCaptureForTest(CaptureFn fn);

void Info(const char* fmt, ...) PFTLS_PRINTF(1, 2);
void Warn(const char* fmt, ...) PFTLS_PRINTF(1, 2);
void Error(const char* fmt, ...) PFTLS_PRINTF(1, 2);
[[noreturn]] void Fatal(const char* fmt, ...) PFTLS_PRINTF(1, 2);
[[noreturn]] void Panic(const char* fmt, ...) PFTLS_PRINTF(1, 2);

// Format - printf into a std::string, capped at kMaxRecord bytes.
std::string Format(const char* fmt, ...) PFTLS_PRINTF(1, 2);

}  // namespace pftls::log
