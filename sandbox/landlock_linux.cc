// sandbox/landlock_linux.cc - Linux file-system back end (Landlock, raw
// syscalls). The ruleset handles every file-system right the running
// kernel's ABI knows (v1..v5 rights; TCP rights from v4 for roles that
// make no TCP connections; the abstract-socket and signal scopes from v6),
// so anything not granted by a rule is refused with EACCES:
//   tlsproxy, smtpfront/tlsfront, generic: no rule at all - no file access;
//   tlsmgr: read/write/create/remove inside its data directories, read of
//   the entropy file (Confinement::data_paths, opened before chroot).
// Connecting to a pathname UNIX socket is not a file-system right on any
// ABI, so tlsproxy's reconnects to private/tlsmgr keep working.
#ifdef __linux__
#include <fcntl.h>
#include <linux/landlock.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

#include "sandbox/sandbox.h"
#include "util/log.h"

namespace pftls::sandbox {
namespace {

// Rights newer than some installed headers; values are the kernel ABI.
constexpr uint64_t kFsV1 = (1ULL << 13) - 1;  // EXECUTE .. MAKE_SYM
constexpr uint64_t kFsRefer = 1ULL << 13;     // v2
constexpr uint64_t kFsTruncate = 1ULL << 14;  // v3
constexpr uint64_t kFsIoctlDev = 1ULL << 15;  // v5
constexpr uint64_t kNetBindTcp = 1ULL << 0;   // v4
constexpr uint64_t kNetConnectTcp = 1ULL << 1;
constexpr uint64_t kScopeAbstractUnix = 1ULL << 0;  // v6
constexpr uint64_t kScopeSignal = 1ULL << 1;

struct RulesetAttr {  // struct landlock_ruleset_attr as of ABI v6
  uint64_t handled_access_fs;
  uint64_t handled_access_net;
  uint64_t scoped;
};
struct PathBeneathAttr {  // struct landlock_path_beneath_attr (packed)
  uint64_t allowed_access;
  int32_t parent_fd;
} __attribute__((packed));

uint64_t FsRights(int abi) {
  uint64_t r = kFsV1;
  if (abi >= 2) r |= kFsRefer;
  if (abi >= 3) r |= kFsTruncate;
  if (abi >= 5) r |= kFsIoctlDev;
  return r;
}

void AddPath(int ruleset, int fd, const std::string& path, uint64_t handled) {
  struct stat st;
  if (fstat(fd, &st) < 0) log::Fatal("landlock: fstat %s: %s", path.c_str(), strerror(errno));
  constexpr uint64_t kFileRights = LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_WRITE_FILE | kFsTruncate;
  uint64_t allow = LANDLOCK_ACCESS_FS_READ_FILE;  // an entropy file: read only
  if (S_ISDIR(st.st_mode))
    allow = kFileRights | LANDLOCK_ACCESS_FS_READ_DIR | LANDLOCK_ACCESS_FS_REMOVE_FILE | LANDLOCK_ACCESS_FS_MAKE_REG;
  PathBeneathAttr pb{allow & handled, fd};
  if (syscall(__NR_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &pb, 0) < 0)
    log::Fatal("landlock_add_rule %s: %s", path.c_str(), strerror(errno));
}

}  // namespace

int LandlockAbi() {
  long abi = syscall(__NR_landlock_create_ruleset, nullptr, 0, LANDLOCK_CREATE_RULESET_VERSION);
  return abi < 0 ? 0 : static_cast<int>(abi);
}

void ApplyFilesystem(Confinement& c) {
  int abi = LandlockAbi();
  if (abi <= 0) {
    log::Info("sandbox: kernel has no Landlock (%s); file access is limited by chroot and uid only",
              strerror(errno));
    return;
  }
  RulesetAttr attr{FsRights(abi), 0, 0};
  size_t size = sizeof(uint64_t);
  if (abi >= 4 && c.role != Role::kFront && c.role != Role::kGeneric) {
    attr.handled_access_net = kNetBindTcp | kNetConnectTcp;  // no TCP at all
    size = 2 * sizeof(uint64_t);
  }
  if (abi >= 6) {
    attr.scoped = kScopeAbstractUnix | kScopeSignal;
    size = sizeof(RulesetAttr);
  }
  long rs = syscall(__NR_landlock_create_ruleset, &attr, size, 0);
  if (rs < 0) log::Fatal("landlock_create_ruleset (ABI %d): %s", abi, strerror(errno));
  UniqueFd ruleset(static_cast<int>(rs));
  for (size_t i = 0; i < c.data_fds.size() && i < c.data_paths.size(); i++)
    if (c.data_fds[i]) AddPath(ruleset.get(), c.data_fds[i].get(), c.data_paths[i], attr.handled_access_fs);
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) log::Fatal("prctl(PR_SET_NO_NEW_PRIVS): %s", strerror(errno));
  if (syscall(__NR_landlock_restrict_self, ruleset.get(), 0) < 0)
    log::Fatal("landlock_restrict_self: %s", strerror(errno));
  c.data_fds.clear();  // rules hold their own references
  if (log::Verbose()) log::Info("sandbox: Landlock ABI %d: %s", abi,
            c.data_paths.empty() ? "no file-system access" : "file access only under the data paths");
}

void PrepareFilesystem(Confinement& c) {
  c.data_fds.clear();
  for (const std::string& p : c.data_paths) {
    UniqueFd fd(open(p.c_str(), O_PATH | O_CLOEXEC));
    if (!fd && errno == ENOENT) {
      log::Warn("sandbox: %s does not exist; no access to it inside the jail", p.c_str());
    } else if (!fd) {
      log::Fatal("sandbox: open %s: %s", p.c_str(), strerror(errno));
    }
    c.data_fds.push_back(std::move(fd));  // invalid: skipped by ApplyFilesystem
  }
}

}  // namespace pftls::sandbox
#endif  // __linux__
