// util/log.cc - see util/log.h.
#include "util/log.h"

#include <pthread.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <ctime>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>

namespace pftls::log {
namespace {

constexpr char kDevLog[] = "/dev/log";

struct State {
  std::string tag = "pftls";
  int postlog_fd = -1;  // POSTLOG_SERVICE (maillog_file via postlogd)
  std::string postlog_host;
  int facility = LOG_MAIL;
  bool to_syslog = false;
  // Our own connected /dev/log socket (-1: none). When /dev/log cannot
  // be reached at Open(), syslog_down is set and records go to stderr
  // instead: glibc's syslog() would retry socket+connect on every line.
  int syslog_fd = -1;
  bool syslog_down = false;
  bool glibc_syslog = false;  // /dev/log is not a datagram socket: let glibc handle it
  time_t last_reconnect = 0;
  pid_t pid = 0;  // cached; reset in the child after fork()
  bool to_stderr = false;
  int verbose = 0;
  std::function<void()> fatal_hook;
  CaptureFn capture;
  bool in_fatal = false;
};

State& S() {
  static State s;
  return s;
}

std::string VFormat(const char* fmt, va_list ap) {
  char buf[kMaxRecord];
  int n = vsnprintf(buf, sizeof(buf), fmt, ap);
  if (n < 0) return std::string("(log format error)");
  size_t len = static_cast<size_t>(n) < sizeof(buf) ? static_cast<size_t>(n) : sizeof(buf) - 1;
  std::string out(buf, len);
  for (char& c : out) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) c = '?';
  }
  return out;
}

const char* Prefix(Level level) {
  switch (level) {
    case Level::kInfo: return "";
    case Level::kWarning: return "warning: ";
    case Level::kError: return "error: ";
    case Level::kFatal: return "fatal: ";
    case Level::kPanic: return "panic: ";
  }
  return "";
}

int Priority(Level level) {
  switch (level) {
    case Level::kInfo: return LOG_INFO;
    case Level::kWarning: return LOG_WARNING;
    case Level::kError: return LOG_ERR;
    case Level::kFatal: return LOG_CRIT;
    case Level::kPanic: return LOG_CRIT;
  }
  return LOG_INFO;
}

void ResetPidInChild() { S().pid = 0; }

// ConnectDevLog - a connected datagram socket to /dev/log, or -1 (errno
// EPROTOTYPE: /dev/log is a stream socket).
int ConnectDevLog() {
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_un sun{};
  sun.sun_family = AF_UNIX;
  memcpy(sun.sun_path, kDevLog, sizeof(kDevLog));
  if (connect(fd, reinterpret_cast<sockaddr*>(&sun), sizeof(sun)) == 0) return fd;
  int e = errno;
  close(fd);
  errno = e;
  return -1;
}

// SendSyslog - one RFC 3164 record ("<PRI>Mmm dd hh:mm:ss tag[pid]: text",
// the form glibc's syslog() writes) on our socket; after a failure (the
// syslog daemon restarted) reconnect once, at most every 10 s. False:
// the record was not sent.
bool SendSyslog(Level level, const std::string& text) {
  State& s = S();
  char head[64];
  time_t now = time(nullptr);
  tm t;
  localtime_r(&now, &t);
  char stamp[32];
  strftime(stamp, sizeof(stamp), "%b %e %H:%M:%S", &t);
  snprintf(head, sizeof(head), "<%d>%s ", s.facility | Priority(level), stamp);
  std::string rec = std::string(head) + s.tag + "[" + std::to_string(Pid()) + "]: " + Prefix(level) + text;
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (s.syslog_fd >= 0) {
      ssize_t n = send(s.syslog_fd, rec.data(), rec.size(), MSG_NOSIGNAL);
      if (n == static_cast<ssize_t>(rec.size())) return true;
      if (n < 0 && errno == EINTR) continue;
      close(s.syslog_fd);
      s.syslog_fd = -1;
    }
    if (now - s.last_reconnect < 10) return false;
    s.last_reconnect = now;
    s.syslog_fd = ConnectDevLog();  // inside a chroot this fails: stderr then
    if (s.syslog_fd < 0) return false;
  }
  return false;
}

void Emit(Level level, const std::string& text) {
  State& s = S();
  int saved_errno = errno;
  if (s.capture) {
    s.capture(level, text);
    errno = saved_errno;
    return;
  }
  if (s.postlog_fd >= 0) {
    // postlogd takes syslog-style lines: "Mmm dd hh:mm:ss host tag[pid]: text".
    char stamp[32];
    time_t now = time(nullptr);
    tm t;
    localtime_r(&now, &t);
    strftime(stamp, sizeof(stamp), "%b %e %H:%M:%S", &t);
    std::string rec = std::string(stamp) + " " + s.postlog_host + " " + s.tag + "[" + std::to_string(Pid()) +
                      "]: " + Prefix(level) + text;
    ssize_t ignored = send(s.postlog_fd, rec.data(), rec.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    (void)ignored;
  } else if (s.to_syslog && s.glibc_syslog) {
    syslog(s.facility | Priority(level), "%s%s", Prefix(level), text.c_str());
  } else if (s.to_syslog && !s.syslog_down && !SendSyslog(level, text)) {
    s.syslog_down = true;  // this record and the following ones go to stderr
  }
  bool syslog_used = s.to_syslog && (s.postlog_fd >= 0 || s.glibc_syslog || !s.syslog_down);
  if (s.to_stderr || !syslog_used) {
    std::string line = s.tag + ": " + Prefix(level) + text + "\n";
    // One write per record so concurrent processes do not interleave lines.
    ssize_t ignored = write(STDERR_FILENO, line.data(), line.size());
    (void)ignored;
  }
  errno = saved_errno;
}

void VEmit(Level level, const char* fmt, va_list ap) { Emit(level, VFormat(fmt, ap)); }

}  // namespace

void Open(std::string_view syslog_name, std::string_view process, int facility) {
  State& s = S();
  s.tag = std::string(syslog_name);
  if (!process.empty()) s.tag += "/" + std::string(process);
  s.facility = facility;
  s.pid = 0;
  // Probe /dev/log once, now (before any chroot), and keep the socket.
  // No syslog daemon: say everything on stderr (master collects it)
  // rather than let every record pay a failed socket+connect.
  if (s.syslog_fd >= 0) close(s.syslog_fd);
  s.syslog_fd = ConnectDevLog();
  s.glibc_syslog = s.syslog_fd < 0 && errno == EPROTOTYPE;
  s.syslog_down = s.syslog_fd < 0 && !s.glibc_syslog;
  s.last_reconnect = time(nullptr);
  closelog();
  if (s.glibc_syslog) {
    // The tag string must outlive openlog(): it is owned by the static State.
    openlog(s.tag.c_str(), LOG_PID | LOG_NDELAY, facility);
  }
  s.to_syslog = true;
  // Postfix 3.4+ master(8) with maillog_file: log through postlogd.
  const char* postlog = getenv("POSTLOG_SERVICE");
  if (postlog && *postlog && s.postlog_fd < 0) {
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un sun{};
    sun.sun_family = AF_UNIX;
    if (fd >= 0 && strlen(postlog) < sizeof(sun.sun_path)) {
      memcpy(sun.sun_path, postlog, strlen(postlog) + 1);
      if (connect(fd, reinterpret_cast<sockaddr*>(&sun), sizeof(sun)) == 0) {
        s.postlog_fd = fd;
        const char* host = getenv("POSTLOG_HOSTNAME");
        s.postlog_host = host ? host : "localhost";
        s.postlog_host = s.postlog_host.substr(0, s.postlog_host.find('.'));  // short name, as syslog
        fd = -1;
      }
    }
    if (fd >= 0) close(fd);
  }
}

void SetStderr(bool on) { S().to_stderr = on; }
void SetSyslog(bool on) { S().to_syslog = on; }
const std::string& Tag() { return S().tag; }

int FacilityByName(std::string_view name) {
  static const struct { const char* name; int value; } kTable[] = {
      {"auth", LOG_AUTH},     {"authpriv", LOG_AUTHPRIV}, {"cron", LOG_CRON},
      {"daemon", LOG_DAEMON}, {"kern", LOG_KERN},         {"lpr", LOG_LPR},
      {"mail", LOG_MAIL},     {"news", LOG_NEWS},         {"syslog", LOG_SYSLOG},
      {"user", LOG_USER},     {"uucp", LOG_UUCP},         {"local0", LOG_LOCAL0},
      {"local1", LOG_LOCAL1}, {"local2", LOG_LOCAL2},     {"local3", LOG_LOCAL3},
      {"local4", LOG_LOCAL4}, {"local5", LOG_LOCAL5},     {"local6", LOG_LOCAL6},
      {"local7", LOG_LOCAL7},
  };
  for (const auto& f : kTable)
    if (name == f.name) return f.value;
  return -1;
}

pid_t Pid() {
  static bool atfork = [] { return pthread_atfork(nullptr, nullptr, ResetPidInChild) == 0; }();
  (void)atfork;
  State& s = S();
  if (s.pid == 0) s.pid = getpid();
  return s.pid;
}

int Verbose() { return S().verbose; }
void AddVerbose() { ++S().verbose; }
void SetVerbose(int level) { S().verbose = level; }
void SetFatalHook(std::function<void()> hook) { S().fatal_hook = std::move(hook); }
void SetCaptureForTest(CaptureFn fn) { S().capture = std::move(fn); }

void Info(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  VEmit(Level::kInfo, fmt, ap);
  va_end(ap);
}

void Warn(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  VEmit(Level::kWarning, fmt, ap);
  va_end(ap);
}

void Error(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  VEmit(Level::kError, fmt, ap);
  va_end(ap);
}

void Fatal(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  VEmit(Level::kFatal, fmt, ap);
  va_end(ap);
  State& s = S();
  if (s.fatal_hook && !s.in_fatal) {
    s.in_fatal = true;
    s.fatal_hook();
  }
  exit(1);
}

void Panic(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  VEmit(Level::kPanic, fmt, ap);
  va_end(ap);
  abort();
}

std::string Format(const char* fmt, ...) {
  char buf[kMaxRecord];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  if (n < 0) return std::string();
  return std::string(buf, static_cast<size_t>(n) < sizeof(buf) ? static_cast<size_t>(n) : sizeof(buf) - 1);
}

}  // namespace pftls::log
