// config_parse.cc - main.cf lexing: physical lines, comments, continuation
// lines and "name = value" (see util/config_lines.h).
#include <cstring>

#include "util/config_lines.h"
#include "util/log.h"

namespace pftls::config {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsConfigSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsConfigSpace(s.back())) s.remove_suffix(1);
  return s;
}

Error LineError(const std::string& file, int line, const std::string& what) {
  return MakeError(file + ", line " + std::to_string(line) + ": " + what);
}

// Shorten a line for quoting in a message.
std::string Quote(std::string_view s) {
  constexpr size_t kMax = 80;
  std::string out = "\"";
  for (char c : s.substr(0, kMax)) {
    unsigned char u = static_cast<unsigned char>(c);
    out += (u < 0x20 || u >= 0x7f) ? '?' : c;
  }
  if (s.size() > kMax) out += "...";
  return out + "\"";
}

// Finish a logical line: split "name = value".
Status Finish(const MainCfText& t, LogicalLine& l, const std::string& file) {
  std::string text;
  for (size_t i : l.physical) text += t.lines[i];
  std::string_view s = text;
  size_t p = 0;
  while (p < s.size() && IsConfigSpace(s[p])) ++p;
  size_t n = p;
  while (n < s.size() && !IsConfigSpace(s[n]) && s[n] != '=') ++n;
  if (n == p) return LineError(file, l.line, "missing attribute name: " + Quote(Trim(s)));
  l.name = std::string(s.substr(p, n - p));
  size_t e = n;
  while (e < s.size() && IsConfigSpace(s[e])) ++e;
  if (e >= s.size() || s[e] != '=')
    return LineError(file, l.line, "missing '=' after attribute name: " + Quote(Trim(s)));
  l.value = std::string(Trim(s.substr(e + 1)));
  return Status::Ok();
}

}  // namespace

Result<MainCfText> SplitMainCf(std::string_view text, const std::string& filename) {
  if (text.size() > kMaxMainCfBytes)
    return MakeError(filename + ": file too large (" + std::to_string(text.size()) + " bytes, limit " +
                     std::to_string(kMaxMainCfBytes) + ")");
  if (size_t nul = text.find('\0'); nul != std::string_view::npos) {
    int line = 1;
    for (size_t i = 0; i < nul; ++i)
      if (text[i] == '\n') ++line;
    return LineError(filename, line, "NUL byte in file (binary file, not a main.cf)");
  }
  MainCfText t;
  t.final_newline = text.empty() || text.back() == '\n';
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    if (nl == std::string_view::npos) nl = text.size();
    t.lines.emplace_back(text.substr(start, nl - start));
    start = nl + 1;
  }
  bool open = false;
  for (size_t i = 0; i < t.lines.size(); ++i) {
    const std::string& ln = t.lines[i];
    std::string_view trimmed = Trim(ln);
    if (trimmed.empty() || trimmed.front() == '#') continue;
    if (IsConfigSpace(ln.front())) {
      if (!open) {
        log::Warn("%s, line %zu: logical line must not start with whitespace: %s", filename.c_str(), i + 1,
                  Quote(ln).c_str());
        continue;
      }
      t.logical.back().physical.push_back(i);
      continue;
    }
    if (open) {
      if (Status s = Finish(t, t.logical.back(), filename); !s) return Error{s.error()};
    }
    LogicalLine l;
    l.line = static_cast<int>(i + 1);
    l.physical.push_back(i);
    t.logical.push_back(std::move(l));
    open = true;
  }
  if (open) {
    if (Status s = Finish(t, t.logical.back(), filename); !s) return Error{s.error()};
  }
  return t;
}

}  // namespace pftls::config
