// util/daemon_options.cc - the generic daemon command line (util/daemon.h).
#include <cstring>
#include <string>

#include "util/daemon.h"
#include "util/log.h"

namespace pftls::daemon {
namespace {

std::string Trim(std::string s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return {};
  size_t e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

bool AllDigits(const std::string& s) {
  if (s.empty() || s.size() > 9) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

}  // namespace

Result<std::pair<std::string, std::string>> ParseOverride(const std::string& arg) {
  std::string text = Trim(arg);
  if (text.size() >= 2 && text.front() == '{' && text.back() == '}') text = Trim(text.substr(1, text.size() - 2));
  size_t eq = text.find('=');
  if (eq == std::string::npos) return MakeError("bad -o argument (want name=value): " + arg);
  std::string name = Trim(text.substr(0, eq));
  std::string value = Trim(text.substr(eq + 1));
  if (name.empty()) return MakeError("bad -o argument (empty name): " + arg);
  for (char c : name)
    if (!(isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.'))
      return MakeError("bad -o argument (bad parameter name): " + arg);
  return std::make_pair(name, value);
}

Result<Options> ParseOptions(int argc, char** argv) {
  Options o;
  int i = 1;
  auto need_arg = [&](const char* arg, size_t& pos, char opt) -> Result<std::string> {
    // "-nname" or "-n name".
    if (arg[pos + 1] != '\0') {
      std::string v(arg + pos + 1);
      pos = strlen(arg) - 1;
      return v;
    }
    if (i + 1 >= argc) return MakeError(std::string("option -") + opt + " requires an argument");
    ++i;
    return std::string(argv[i]);
  };
  for (; i < argc; ++i) {
    const char* a = argv[i];
    if (a[0] != '-' || a[1] == '\0') break;
    if (strcmp(a, "--") == 0) {
      ++i;
      break;
    }
    for (size_t p = 1; a[p] != '\0'; ++p) {
      char c = a[p];
      switch (c) {
        case 'c': o.chroot = true; break;
        case 'd': o.foreground = true; break;
        case 'D': o.debug_me = true; break;
        case 'l': o.limit_one = true; break;
        case 'z': o.limit_zero = true; break;
        case 'S': o.stdin_mode = true; break;
        case 'u': o.unprivileged = true; break;
        case 'V': o.log_stderr = true; break;
        case 'v': ++o.verbose; break;
        case 'i': case 'm': case 'n': case 'o': case 's': case 't': {
          Result<std::string> v = need_arg(a, p, c);
          if (!v) return std::move(v).take_error();
          if (c == 'n') {
            o.service_name = *v;
          } else if (c == 't') {
            o.transport = *v;
          } else if (c == 'i' || c == 'm') {
            if (!AllDigits(*v)) return MakeError(std::string("bad -") + c + " value: " + *v);
            (c == 'i' ? o.max_idle : o.max_use) = *v;
          } else if (c == 's') {
            if (!AllDigits(*v) || std::stoi(*v) < 1 || std::stoi(*v) > 64)
              return MakeError("bad -s socket count: " + *v);
            o.socket_count = std::stoi(*v);
          } else {
            auto kv = ParseOverride(*v);
            if (!kv) return std::move(kv).take_error();
            o.overrides.push_back(*kv);
          }
          break;
        }
        default:
          return MakeError(log::Format("invalid option -%c", c));
      }
    }
  }
  for (; i < argc; ++i) o.args.emplace_back(argv[i]);
  if (o.limit_one && o.limit_zero) return MakeError("options -l and -z exclude each other");
  if (!o.service_name.empty()) {
    for (char ch : o.service_name)
      if (ch == '\0' || ch == '\n') return MakeError("bad -n service name");
  }
  return o;
}

}  // namespace pftls::daemon
