// master_cf.cc - master.cf (master(5)) into MasterService records.
// Logical lines as in main.cf: a line starting with whitespace continues
// the previous entry, a line whose first non-space character is "#" is a
// comment, blank lines are skipped. Fields are separated by whitespace; a
// field "{ ... }" (braces balanced) is one field whose text is the inside
// with surrounding whitespace removed. Columns: service type private
// unpriv chroot wakeup maxproc command [args...]. "-o name=value",
// "-oname=value" and "-o { name = value }" in the arguments become
// overrides.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "util/config.h"
#include "util/config_lines.h"
#include "util/fd.h"

namespace pftls::config {
namespace {

constexpr size_t kMaxMasterCfBytes = 4u << 20;

struct Entry {
  std::string text;
  int line = 0;
};

Error At(const std::string& file, int line, const std::string& what) {
  return MakeError(file + ", line " + std::to_string(line) + ": " + what);
}

std::string Trim(std::string_view s) {
  while (!s.empty() && IsConfigSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsConfigSpace(s.back())) s.remove_suffix(1);
  return std::string(s);
}

// Fields - whitespace-separated words with "{ ... }" grouping.
Result<std::vector<std::string>> Fields(std::string_view s) {
  std::vector<std::string> out;
  size_t p = 0;
  while (true) {
    while (p < s.size() && IsConfigSpace(s[p])) ++p;
    if (p >= s.size()) break;
    if (s[p] == '{') {
      int depth = 0;
      size_t e = p;
      for (; e < s.size(); ++e) {
        if (s[e] == '{') ++depth;
        else if (s[e] == '}' && --depth == 0) break;
      }
      if (e >= s.size()) return MakeError("missing \"}\" in \"" + std::string(s.substr(p)) + "\"");
      if (e + 1 < s.size() && !IsConfigSpace(s[e + 1]))
        return MakeError("need whitespace after \"}\" in \"" + std::string(s.substr(p)) + "\"");
      out.push_back(Trim(s.substr(p + 1, e - p - 1)));
      p = e + 1;
    } else {
      size_t e = p;
      while (e < s.size() && !IsConfigSpace(s[e])) ++e;
      out.emplace_back(s.substr(p, e - p));
      p = e;
    }
  }
  return out;
}

Result<bool> YesNo(const std::string& f, bool dflt, const char* column) {
  if (f == "-") return dflt;
  if (f == "y") return true;
  if (f == "n") return false;
  return MakeError(std::string("bad ") + column + " field \"" + f + "\" (use y, n or -)");
}

Result<int> Number(std::string_view f, const char* column) {
  if (f.empty() || f.size() > 9) return MakeError(std::string("bad ") + column + " field \"" + std::string(f) + "\"");
  int v = 0;
  for (char c : f) {
    if (c < '0' || c > '9') return MakeError(std::string("bad ") + column + " field \"" + std::string(f) + "\"");
    v = v * 10 + (c - '0');
  }
  return v;
}

Result<std::pair<std::string, std::string>> NameValue(const std::string& arg) {
  size_t eq = arg.find('=');
  if (eq == std::string::npos) return MakeError("missing \"=\" in -o argument \"" + arg + "\"");
  std::string n = Trim(std::string_view(arg).substr(0, eq));
  std::string v = Trim(std::string_view(arg).substr(eq + 1));
  if (n.empty()) return MakeError("missing parameter name in -o argument \"" + arg + "\"");
  for (char c : n)
    if (IsConfigSpace(c)) return MakeError("bad parameter name in -o argument \"" + arg + "\"");
  return std::make_pair(n, v);
}

Result<MasterService> ParseEntry(const Entry& e, const std::string& file) {
  Result<std::vector<std::string>> f = Fields(e.text);
  if (!f) return At(file, e.line, f.error());
  const std::vector<std::string>& w = *f;
  if (w.size() < 8) return At(file, e.line, "missing command name (need 8 columns, found " + std::to_string(w.size()) + ")");
  MasterService s;
  s.file = file;
  s.line = e.line;
  s.name = w[0];
  s.type = w[1];
  if (s.type != "inet" && s.type != "unix" && s.type != "unix-dgram" && s.type != "fifo" && s.type != "pass")
    return At(file, e.line, "bad transport type: " + s.type);
  Result<bool> priv = YesNo(w[2], s.type != "inet", "private");
  Result<bool> unpriv = YesNo(w[3], true, "unprivileged");
  Result<bool> chroot = YesNo(w[4], true, "chroot");
  for (const Result<bool>* r : {&priv, &unpriv, &chroot})
    if (!*r) return At(file, e.line, r->error());
  s.private_ = *priv;
  s.unpriv = *unpriv;
  s.chroot = *chroot;
  s.chroot_default = w[4] == "-";
  if (w[5] != "-") {
    std::string_view wk = w[5];
    if (!wk.empty() && wk.back() == '?') {
      s.wakeup_conditional = true;
      wk.remove_suffix(1);
    }
    Result<int> n = Number(wk, "wakeup");
    if (!n) return At(file, e.line, n.error());
    s.wakeup = *n;
  }
  if (w[6] != "-") {
    Result<int> n = Number(w[6], "process limit");
    if (!n) return At(file, e.line, n.error());
    s.maxproc = *n;
  }
  s.command = w[7];
  for (size_t i = 8; i < w.size(); ++i) {
    std::string arg;
    if (w[i] == "-o") {
      if (i + 1 >= w.size()) return At(file, e.line, "-o without name=value");
      arg = w[++i];
    } else if (w[i].size() > 2 && w[i].compare(0, 2, "-o") == 0) {
      arg = w[i].substr(2);
    } else {
      s.args.push_back(w[i]);
      continue;
    }
    Result<std::pair<std::string, std::string>> nv = NameValue(arg);
    if (!nv) return At(file, e.line, nv.error());
    s.overrides.push_back(std::move(*nv));
  }
  return s;
}

}  // namespace

Result<std::vector<MasterService>> ParseMasterCfText(std::string_view text, std::string filename) {
  if (text.size() > kMaxMasterCfBytes) return MakeError(filename + ": file too large");
  std::vector<Entry> entries;
  int line = 0;
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    if (nl == std::string_view::npos) nl = text.size();
    std::string_view ln = text.substr(start, nl - start);
    start = nl + 1;
    ++line;
    if (ln.find('\0') != std::string_view::npos) return At(filename, line, "NUL byte in file (binary file, not a master.cf)");
    size_t p = 0;
    while (p < ln.size() && IsConfigSpace(ln[p])) ++p;
    if (p == ln.size() || ln[p] == '#') continue;
    if (p > 0) {
      if (entries.empty()) return At(filename, line, "continuation line without a service entry");
      entries.back().text += " ";
      entries.back().text += ln;
      continue;
    }
    entries.push_back(Entry{std::string(ln), line});
  }
  std::vector<MasterService> out;
  for (const Entry& e : entries) {
    Result<MasterService> s = ParseEntry(e, filename);
    if (!s) return Error{s.error()};
    for (const MasterService& o : out)
      if (o.name == s->name && o.type == s->type)
        return At(filename, e.line, "duplicate service " + s->name + "/" + s->type + " (first at line " +
                                        std::to_string(o.line) + ")");
    out.push_back(std::move(*s));
  }
  return out;
}

Result<std::vector<MasterService>> ParseMasterCf(const std::string& path) {
  int raw = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (raw < 0) return MakeError("open " + path + ": " + std::strerror(errno));
  UniqueFd fd(raw);
  std::string data;
  char buf[65536];
  for (;;) {
    ssize_t n = read(fd.get(), buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return MakeError("read " + path + ": " + std::strerror(errno));
    if (n == 0) break;
    data.append(buf, static_cast<size_t>(n));
    if (data.size() > kMaxMasterCfBytes) return MakeError(path + ": file too large");
  }
  return ParseMasterCfText(data, path);
}

}  // namespace pftls::config
