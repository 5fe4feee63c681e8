// master/spawn.cc - see master/spawn.h. Everything the child needs is
// prepared before fork(); the child only calls async-signal-safe functions.
#include "master/spawn.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "util/log.h"
#include "util/master_proto.h"

namespace pftls::master {
namespace {

constexpr int kHighFd = 64;  // staging range above every target descriptor

[[noreturn]] void ChildFail(const char* what) {
  char buf[256];
  int n = snprintf(buf, sizeof(buf), "master: child setup: %s: %s\n", what, strerror(errno));
  if (n > 0) {
    ssize_t ignored = write(2, buf, static_cast<size_t>(n));
    (void)ignored;
  }
  _exit(127);
}

}  // namespace

Result<pid_t> Spawn(const MasterContext& ctx, unsigned generation, const std::string& path,
                    const std::vector<std::string>& argv, int status_write, const std::vector<int>& listeners) {
  if (listeners.size() + master_proto::kListenFd >= kHighFd) return MakeError("too many listeners");
  std::vector<char*> cargv;
  for (const std::string& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  std::vector<std::string> env = ctx.env;
  env.push_back(log::Format("%s=%o", master_proto::kGenerationEnv, generation));
  env.push_back(std::string(master_proto::kReadyEnv) + "=1");
  std::vector<char*> cenv;
  for (const std::string& e : env) cenv.push_back(const_cast<char*>(e.c_str()));
  cenv.push_back(nullptr);
  // Sources in target order: 0 1 2 3 4 5 6...
  int child_err = !ctx.keep_stderr ? ctx.devnull.get() : ctx.child_stderr ? ctx.child_stderr.get() : 2;
  std::vector<int> sources = {ctx.devnull.get(), ctx.devnull.get(), child_err,
                              ctx.flow_read.get(), ctx.flow_write.get(), status_write};
  sources.insert(sources.end(), listeners.begin(), listeners.end());
  std::vector<int> staged(sources.size(), -1);

  pid_t pid = fork();
  if (pid < 0) return MakeError(log::Format("fork: %s", strerror(errno)));
  if (pid > 0) return pid;

  // Child.
  sigset_t all;
  sigemptyset(&all);
  sigprocmask(SIG_SETMASK, &all, nullptr);
  signal(SIGPIPE, SIG_DFL);
  signal(SIGCHLD, SIG_DFL);
  for (size_t i = 0; i < sources.size(); ++i) {
    staged[i] = fcntl(sources[i], F_DUPFD_CLOEXEC, kHighFd);
    if (staged[i] < 0) ChildFail("stage descriptor");
  }
  for (size_t i = 0; i < sources.size(); ++i)
    if (dup2(staged[i], static_cast<int>(i)) < 0) ChildFail("dup2");
  execve(path.c_str(), cargv.data(), cenv.data());
  ChildFail(path.c_str());
}

std::string DescribeExit(int st) {
  if (WIFSIGNALED(st)) return log::Format("killed by signal %d", WTERMSIG(st));
  if (WIFEXITED(st) && WEXITSTATUS(st) != 0) return log::Format("exit status %d", WEXITSTATUS(st));
  return "";
}

}  // namespace pftls::master
