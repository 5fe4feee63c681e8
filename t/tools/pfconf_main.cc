/*++
 * NAME
 *	pfconf - print main.cf parameters the way postconf(1) does (test tool)
 * SYNOPSIS
 *	pfconf [-c config_dir] [-dhnx] [-o name=value ...] [name ...]
 *	pfconf [-c config_dir] -e name=value ...
 *	pfconf [-c config_dir] -X name ...
 * DESCRIPTION
 *	A test helper built on util/config, mirroring the postconf(1) flags
 *	that the differential test needs: -c directory, -h (value only), -x
 *	(expand $name recursively), -n (only names set in main.cf), -d
 *	(built-in defaults), -o name=value (override), -e (edit) and -X
 *	(remove). Values are printed as postconf prints them: runs of
 *	whitespace become one space, leading and trailing whitespace go.
 *	A name that neither main.cf nor the parameter table knows is
 *	reported as "unknown parameter" on stderr and not printed.
 * SECURITY
 *	A test tool; reads the configuration it is pointed at.
 * DIAGNOSTICS
 *	Errors go to stderr prefixed "pfconf: fatal: "; exit status 1.
 * CONFIGURATION PARAMETERS
 *	Whatever is asked for.
 *--*/
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "util/config.h"

using namespace pftls;

namespace {

[[noreturn]] void Die(const std::string& msg) {
  std::fprintf(stderr, "pfconf: fatal: %s\n", msg.c_str());
  std::exit(1);
}

std::string Fold(const std::string& v) {
  std::string out;
  bool space = false;
  for (char c : v) {
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f') {
      space = true;
      continue;
    }
    if (space && !out.empty()) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

void Usage() {
  std::fprintf(stderr,
               "usage: pfconf [-c dir] [-dhnx] [-o name=value] [name...]\n"
               "       pfconf [-c dir] -e name=value... | -X name...\n");
  std::exit(1);
}

}  // namespace

int main(int argc, char** argv) {
  const char* dir = nullptr;
  bool h = false, x = false, n = false, d = false, e = false, rm = false;
  std::vector<std::pair<std::string, std::string>> overrides;
  int c;
  while ((c = getopt(argc, argv, "c:dehno:xX")) != -1) {
    switch (c) {
      case 'c': dir = optarg; break;
      case 'd': d = true; break;
      case 'e': e = true; break;
      case 'h': h = true; break;
      case 'n': n = true; break;
      case 'x': x = true; break;
      case 'X': rm = true; break;
      case 'o': {
        const char* eq = std::strchr(optarg, '=');
        if (!eq) Die(std::string("-o requires name=value: ") + optarg);
        overrides.emplace_back(std::string(optarg, static_cast<size_t>(eq - optarg)), std::string(eq + 1));
        break;
      }
      default: Usage();
    }
  }
  std::string cdir = config::ConfigDir(dir);
  if (e || rm) {
    std::vector<std::pair<std::string, std::string>> set;
    std::vector<std::string> del;
    for (int i = optind; i < argc; ++i) {
      if (e) {
        const char* eq = std::strchr(argv[i], '=');
        if (!eq) Die(std::string("missing '=' after attribute name: \"") + argv[i] + "\"");
        set.emplace_back(std::string(argv[i], static_cast<size_t>(eq - argv[i])), std::string(eq + 1));
      } else {
        del.emplace_back(argv[i]);
      }
    }
    Status s = config::EditMainCf(cdir + "/main.cf", set, del);
    if (!s) Die(s.error());
    return 0;
  }
  Result<config::Config> cfg = d ? config::Config::FromString("", "(defaults)") : config::Config::Load(cdir);
  if (!cfg) Die(cfg.error());
  for (const auto& [k, v] : overrides) cfg->Override(k, v);
  std::vector<std::string> names;
  for (int i = optind; i < argc; ++i) names.emplace_back(argv[i]);
  if (names.empty()) {
    if (n) {
      names = cfg->Names();
    } else {
      for (const config::ParamSpec* p : config::AllParams()) names.emplace_back(p->name);
    }
  }
  int status = 0;
  for (const std::string& name : names) {
    if (n && !cfg->IsExplicit(name)) continue;
    std::optional<std::string> raw = cfg->Raw(name);
    if (!raw || (!cfg->IsExplicit(name) && !config::FindParam(name))) {
      std::fprintf(stderr, "pfconf: warning: %s: unknown parameter\n", name.c_str());
      continue;
    }
    std::string value = *raw;
    if (x) {
      Result<std::string> r = cfg->Expand(name);
      if (!r) Die(r.error());
      value = *r;
    }
    value = Fold(value);
    if (h) std::printf("%s\n", value.c_str());
    else std::printf("%s =%s%s\n", name.c_str(), value.empty() ? "" : " ", value.c_str());
  }
  return status;
}
