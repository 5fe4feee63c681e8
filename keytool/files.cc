// keytool/files.cc - see keytool/files.h.
#include "keytool/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "util/fd.h"

namespace pftls::keytool {

Status WriteNewFile(const std::string& path, std::string_view data, mode_t mode) {
  UniqueFd fd(open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode));
  if (!fd) return MakeError("cannot create " + path + ": " + strerror(errno));
  // The mode does not depend on the umask.
  if (fchmod(fd.get(), mode) != 0) return MakeError("cannot chmod " + path + ": " + strerror(errno));
  const char* p = data.data();
  size_t left = data.size();
  while (left > 0) {
    ssize_t n = write(fd.get(), p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return MakeError("cannot write " + path + ": " + strerror(errno));
    p += n;
    left -= static_cast<size_t>(n);
  }
  if (fsync(fd.get()) != 0) return MakeError("cannot fsync " + path + ": " + strerror(errno));
  int raw = fd.release();
  if (close(raw) != 0) return MakeError("cannot close " + path + ": " + strerror(errno));
  return Status::Ok();
}

}  // namespace pftls::keytool
