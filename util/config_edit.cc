// config_edit.cc - EditMainCf: the postconf -e / -X behaviour, atomically.
// Every definition of a name being set is rewritten in place as
// "name = value" (its continuation lines dropped; this is what postconf -e
// does, and the effective value is the same as replacing only the last
// one); names not yet defined are appended in the order given; names being
// removed lose every definition with its continuation lines. Comments,
// blank lines and the order of everything else stay as they were. The new
// text goes to a temporary file in the same directory, which gets the old
// file's mode and owner, is fsync'ed and renamed over the old file; the
// directory is fsync'ed after the rename.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <set>
#include <string>

#include "util/config.h"
#include "util/config_lines.h"
#include "util/fd.h"

namespace pftls::config {
namespace {

Error Sys(const std::string& what, const std::string& path) {
  return MakeError(what + " " + path + ": " + std::strerror(errno));
}

Status CheckName(const std::string& name) {
  if (name.empty()) return MakeError("missing attribute name");
  for (char c : name)
    if (IsConfigSpace(c) || c == '=' || c == '#' || c == '\0' || c == '$' || c == '{' || c == '}')
      return MakeError("bad parameter name: \"" + name + "\"");
  return Status::Ok();
}

Status CheckValue(const std::string& name, const std::string& value) {
  for (char c : value) {
    if (c == '\n' || c == '\r') return MakeError("multi-line value for parameter " + name + " is not accepted");
    if (c == '\0') return MakeError("NUL byte in value for parameter " + name);
  }
  return Status::Ok();
}

std::string TrimCopy(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && IsConfigSpace(s[b])) ++b;
  while (e > b && IsConfigSpace(s[e - 1])) --e;
  return s.substr(b, e - b);
}

Result<std::string> ReadAll(const std::string& path, bool& exists, struct stat& st) {
  int raw = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (raw < 0) {
    if (errno != ENOENT) return Sys("open", path);
    exists = false;
    return std::string();
  }
  UniqueFd fd(raw);
  exists = true;
  if (fstat(fd.get(), &st) != 0) return Sys("fstat", path);
  if (!S_ISREG(st.st_mode)) return MakeError(path + ": not a regular file");
  std::string data;
  char buf[65536];
  for (;;) {
    ssize_t n = read(fd.get(), buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Sys("read", path);
    if (n == 0) break;
    data.append(buf, static_cast<size_t>(n));
    if (data.size() > kMaxMainCfBytes) return MakeError(path + ": file too large");
  }
  return data;
}

Status WriteAll(int fd, const std::string& data, const std::string& path) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = write(fd, data.data() + off, data.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Sys("write", path);
    off += static_cast<size_t>(n);
  }
  return Status::Ok();
}

}  // namespace

Status EditMainCf(const std::string& path, const std::vector<std::pair<std::string, std::string>>& set,
                  const std::vector<std::string>& remove) {
  // Normalise and validate the request first: nothing is written on error.
  std::vector<std::pair<std::string, std::string>> want;  // last value per name, first-mention order
  for (const auto& [n0, v0] : set) {
    std::string n = TrimCopy(n0), v = TrimCopy(v0);
    if (Status s = CheckName(n); !s) return s;
    if (Status s = CheckValue(n, v); !s) return s;
    bool found = false;
    for (auto& w : want)
      if (w.first == n) w.second = v, found = true;
    if (!found) want.emplace_back(n, v);
  }
  std::set<std::string> drop;
  for (const std::string& r0 : remove) {
    std::string r = TrimCopy(r0);
    if (Status s = CheckName(r); !s) return s;
    drop.insert(r);
  }

  bool exists = false;
  struct stat st = {};
  Result<std::string> old = ReadAll(path, exists, st);
  if (!old) return Error{old.error()};
  Result<MainCfText> t = SplitMainCf(*old, path);
  if (!t) return Error{t.error()};

  std::vector<std::optional<std::string>> lines(t->lines.begin(), t->lines.end());
  std::set<std::string> defined;
  for (const LogicalLine& l : t->logical) {
    const std::string* value = nullptr;
    for (const auto& w : want)
      if (w.first == l.name) value = &w.second;
    bool removing = drop.count(l.name) > 0 && !value;
    if (!value && !removing) continue;
    for (size_t i : l.physical) lines[i].reset();
    if (value) lines[l.physical.front()] = l.name + " = " + *value;
    defined.insert(l.name);
  }
  std::string out;
  out.reserve(old->size() + 256);
  for (const auto& l : lines)
    if (l) out += *l + "\n";
  for (const auto& [n, v] : want)
    if (!defined.count(n)) out += n + " = " + v + "\n";

  // Temporary file beside the target, same mode and owner.
  std::string dir = ".";
  if (size_t slash = path.rfind('/'); slash != std::string::npos) dir = slash == 0 ? "/" : path.substr(0, slash);
  std::string tmpl = path + ".pftls-tmp.XXXXXX";
  std::vector<char> name(tmpl.begin(), tmpl.end());
  name.push_back('\0');
  int raw = mkostemp(name.data(), O_CLOEXEC);
  if (raw < 0) return Sys("create temporary file for", path);
  UniqueFd fd(raw);
  std::string tmp(name.data());
  auto fail = [&](Error e) -> Status {
    unlink(tmp.c_str());
    return e;
  };
  mode_t mode = exists ? (st.st_mode & 07777) : 0644;
  if (fchmod(fd.get(), mode) != 0) return fail(Sys("fchmod", tmp));
  if (exists && (st.st_uid != geteuid() || st.st_gid != getegid()) && fchown(fd.get(), st.st_uid, st.st_gid) != 0)
    return fail(Sys("fchown", tmp));
  if (Status s = WriteAll(fd.get(), out, tmp); !s) return fail(Error{s.error()});
  if (fsync(fd.get()) != 0) return fail(Sys("fsync", tmp));
  if (close(fd.release()) != 0) return fail(Sys("close", tmp));
  if (rename(tmp.c_str(), path.c_str()) != 0) return fail(Sys("rename to", path));
  int dfd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    UniqueFd d(dfd);
    if (fsync(d.get()) != 0) return Sys("fsync directory", dir);
  }
  return Status::Ok();
}

}  // namespace pftls::config
