/*++
 * NAME
 *	master - pftls process supervisor (Postfix master(8) compatible)
 * SYNOPSIS
 *	master [-dtv] [-c config_dir]
 * DESCRIPTION
 *	master reads main.cf and master.cf of config_dir (-c, else
 *	$MAIL_CONFIG, else /etc/pftls), creates each service's listening
 *	sockets (UNIX: $queue_directory/private/<name>, mode 0666, owner
 *	mail_owner, in a 0700 directory owned by mail_owner; public/<name>
 *	in a 0710 directory; inet: "host:port", or "port" on every
 *	inet_interfaces address) and starts service processes on demand:
 *	when a client is waiting and no process of the service is available,
 *	it execs $daemon_directory/<command> with
 *	"command [-l] [-z] -n service -t type [-v] [-V] [-u] [-c]
 *	[-o name=value ...] [-s N] args", descriptors 3/4 = flow pipe, 5 =
 *	status pipe, 6.. = listeners, environment GENERATION (octal) and the
 *	import_environment variables (MAIL_CONFIG among them).
 *
 *	Process limits (maxproc): N, "-" = default_process_limit, 0 = grow
 *	with load (one more process whenever none is available), capped at
 *	pftls_process_ceiling. A process that exits abnormally before
 *	completing one use throttles its service for service_throttle_time
 *	("bad command startup -- throttling"). Wake-up services ("1000",
 *	"1000?" = only after first use) get a connection with the byte "W".
 *
 *	SIGHUP: re-read the configuration; old processes see EOF on their
 *	status pipe, finish their work and exit; new processes get the new
 *	configuration; unchanged listeners stay open. A service with running
 *	processes and a process limit other than 1 first starts one new
 *	process (probation): the old ones retire only once it reports READY
 *	(util/master_proto.h; or is alive after 10 s). If it dies first (a
 *	broken key, a bad path) master logs one "error: reload: service ..."
 *	and the old processes keep serving with what they loaded; master
 *	starts no new process for that service until they have all ended
 *	(a new one would read the broken configuration).
 *	SIGTERM/SIGINT: send
 *	SIGTERM to every process, SIGKILL after 5 seconds, then exit.
 *
 *	Options: -c config_dir; -d stay in the foreground and log to stderr
 *	too (services get -V and share stderr, through a pipe to master when
 *	stderr is a regular file: roles with RLIMIT_FSIZE 0 cannot write it); -t exit 0 when no master
 *	runs for this configuration, 1 when one does; -v more verbose
 *	logging (also passed to services).
 * SECURITY
 *	Runs as root: it only reads its configuration, creates sockets and
 *	directories, and forks/execs; it never talks to clients. Services
 *	drop privileges themselves (-u, -c).
 * DIAGNOSTICS
 *	"warning: process PATH pid N exit status N", "... killed by signal
 *	N", "warning: PATH: bad command startup -- throttling", "fatal:
 *	the master is already running (pid N ...)", "fatal: mail_owner:
 *	unknown user name: NAME; create it with: useradd ...".
 * CONFIGURATION PARAMETERS
 *	queue_directory, data_directory, daemon_directory, mail_owner,
 *	setgid_group, default_process_limit, service_throttle_time,
 *	inet_interfaces, inet_protocols, import_environment, syslog_name,
 *	syslog_facility, pftls_process_ceiling (default 256).
 *--*/
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "master/context.h"
#include "master/listeners.h"
#include "master/lock.h"
#include "master/supervisor.h"
#include "util/config.h"
#include "util/handles.h"
#include "util/log.h"

using namespace pftls;
using namespace pftls::master;

namespace {

constexpr const char* kDefaultImport =
    "MAIL_CONFIG MAIL_DEBUG MAIL_LOGTAG TZ XAUTHORITY DISPLAY LANG=C POSTLOG_SERVICE POSTLOG_HOSTNAME";

struct MasterOptions {
  const char* config_dir = nullptr;
  bool foreground = false;
  bool test = false;
  int verbose = 0;
};

MasterOptions ParseArgs(int argc, char** argv) {
  MasterOptions o;
  int c;
  while ((c = getopt(argc, argv, "c:dtv")) != -1) {
    switch (c) {
      case 'c': o.config_dir = optarg; break;
      case 'd': o.foreground = true; break;
      case 't': o.test = true; break;
      case 'v': ++o.verbose; break;
      default:
        log::SetStderr(true);
        log::Fatal("usage: master [-dtv] [-c config_dir]");
    }
  }
  if (optind != argc) {
    log::SetStderr(true);
    log::Fatal("usage: master [-dtv] [-c config_dir]");
  }
  return o;
}

std::vector<std::string> ImportEnvironment(const config::Config& cfg, const std::string& config_dir) {
  std::string list = cfg.Raw("import_environment").value_or("");
  if (list.empty()) list = kDefaultImport;
  std::vector<std::string> env;
  for (const std::string& item : config::SplitList(list)) {
    if (item.find('=') != std::string::npos) {
      env.push_back(item);
    } else if (item != "MAIL_CONFIG") {
      if (const char* v = getenv(item.c_str())) env.push_back(item + "=" + v);
    }
  }
  env.push_back("MAIL_CONFIG=" + config_dir);
  return env;
}

void Daemonize() {
  pid_t pid = fork();
  if (pid < 0) log::Fatal("fork: %s", strerror(errno));
  if (pid > 0) _exit(0);
  if (setsid() < 0) log::Fatal("setsid: %s", strerror(errno));
  int null = open("/dev/null", O_RDWR);
  if (null < 0) log::Fatal("open /dev/null: %s", strerror(errno));
  for (int fd = 0; fd < 3; ++fd) dup2(null, fd);
  if (null > 2) close(null);
  log::SetStderr(false);
}

// CopyStderr - what children wrote to the stderr pipe, onto our stderr.
void CopyStderr(evutil_socket_t fd, short, void*) {
  char buf[65536];
  ssize_t n = read(fd, buf, sizeof(buf));
  for (ssize_t off = 0; n > 0 && off < n;) {
    ssize_t w = write(2, buf + off, static_cast<size_t>(n - off));
    if (w <= 0) break;
    off += w;
  }
}

// PipeChildStderr - with -d, children share our stderr. When that is a
// regular file, the roles that write no files (RLIMIT_FSIZE 0) would get
// EFBIG for every log line, so they get a pipe to us instead and we copy
// their lines. The write end is non-blocking: a child never waits on
// logging (a line is lost when the pipe is full). Lines up to PIPE_BUF
// bytes are written whole, so lines of different processes never mix.
struct StderrPipe {
  UniqueFd rd;  // declared first: the event goes before its descriptor
  EventPtr ev;
};

StderrPipe PipeChildStderr(MasterContext& ctx) {
  struct stat st;
  if (!ctx.keep_stderr || fstat(2, &st) != 0 || !S_ISREG(st.st_mode)) return {};
  int p[2];
  if (pipe2(p, O_CLOEXEC) < 0) log::Fatal("stderr pipe: %s", strerror(errno));
  StderrPipe sp;
  sp.rd.reset(p[0]);
  ctx.child_stderr.reset(p[1]);
  if (fcntl(p[1], F_SETFL, O_NONBLOCK) != 0) log::Fatal("stderr pipe: %s", strerror(errno));
  sp.ev.reset(event_new(ctx.base, sp.rd.get(), EV_READ | EV_PERSIST, CopyStderr, nullptr));
  if (!sp.ev || event_add(sp.ev.get(), nullptr) != 0) log::Fatal("cannot watch the stderr pipe");
  return sp;
}

}  // namespace

int main(int argc, char** argv) {
  // Descriptors 0-2 must exist before we open anything.
  for (int fd = 0; fd < 3; ++fd)
    if (fcntl(fd, F_GETFD) < 0 && open("/dev/null", O_RDWR) != fd) return 1;
  MasterOptions opts = ParseArgs(argc, argv);
  log::SetVerbose(opts.verbose);
  if (opts.foreground || opts.test) log::SetStderr(true);

  std::string config_dir = config::ConfigDir(opts.config_dir);
  std::optional<config::Config> cfg;
  std::vector<config::MasterService> entries;
  if (Status st = ReadConfig(config_dir, &cfg, &entries); !st) {
    log::SetStderr(true);
    log::Fatal("%s", st.error().c_str());
  }
  const std::string data_dir = cfg->Str("data_directory");
  const std::string queue_dir = cfg->Str("queue_directory");
  const std::string lock_path = data_dir + "/master.lock";
  if (opts.test) return InstanceLock::Running(lock_path) ? 1 : 0;

  if (geteuid() != 0) {
    log::SetStderr(true);
    log::Fatal("the master command is reserved for the superuser");
  }
  int facility = log::FacilityByName(cfg->Str("syslog_facility"));
  log::Open(cfg->Str("syslog_name"), "master", facility < 0 ? LOG_MAIL : facility);

  MasterContext ctx;
  ctx.config_dir = config_dir;
  const std::string owner = cfg->Str("mail_owner");
  Result<sandbox::UserIds> ids = sandbox::LookupUser(owner);
  if (!ids) {
    log::SetStderr(true);
    log::Fatal("mail_owner: %s; create it with: %s", ids.error().c_str(), sandbox::UseraddHint(owner).c_str());
  }
  if (ids->uid == 0) log::Fatal("mail_owner %s must not be root", owner.c_str());
  ctx.owner = *ids;

  if (Status st = EnsureDirectory(queue_dir, 0, 0, 0755); !st) log::Fatal("%s", st.error().c_str());
  if (Status st = EnsureDirectory(queue_dir + "/pid", 0, 0, 0755); !st) log::Fatal("%s", st.error().c_str());
  if (Status st = EnsureDirectory(data_dir, ctx.owner.uid, ctx.owner.gid, 0700); !st)
    log::Fatal("%s", st.error().c_str());
  if (chdir(queue_dir.c_str()) < 0) log::Fatal("chdir %s: %s", queue_dir.c_str(), strerror(errno));

  if (!opts.foreground) Daemonize();
  InstanceLock lock;
  if (Status st = lock.Acquire(lock_path, queue_dir + "/pid/master.pid"); !st) log::Fatal("%s", st.error().c_str());
  signal(SIGPIPE, SIG_IGN);
  umask(022);

  int flow[2];
  if (pipe2(flow, O_CLOEXEC | O_NONBLOCK) < 0) log::Fatal("flow pipe: %s", strerror(errno));
  ctx.flow_read.reset(flow[0]);
  ctx.flow_write.reset(flow[1]);
  ctx.devnull.reset(open("/dev/null", O_RDWR | O_CLOEXEC));
  if (!ctx.devnull) log::Fatal("open /dev/null: %s", strerror(errno));
  ctx.keep_stderr = opts.foreground;
  ctx.env = ImportEnvironment(*cfg, config_dir);

  EventBasePtr base(event_base_new());
  if (!base) log::Fatal("event_base_new failed");
  ctx.base = base.get();
  StderrPipe stderr_copy = PipeChildStderr(ctx);
  {
    Supervisor sup(ctx, ArgvOptions{opts.verbose, opts.foreground});
    if (Status st = sup.Apply(*cfg, entries); !st) log::Fatal("%s", st.error().c_str());
    log::Info("daemon started -- version pftls, configuration %s", config_dir.c_str());
    sup.Run();
  }
  log::Info("terminating");
  return 0;
}
