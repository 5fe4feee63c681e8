// keytool/context.cc - see keytool/context.h.
#include "keytool/context.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "keytool/keys.h"
#include "util/log.h"

namespace pftls::keytool {

std::string Trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t' || s[b] == '\n' || s[b] == '\r')) ++b;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t' || s[e - 1] == '\n' || s[e - 1] == '\r')) --e;
  return std::string(s.substr(b, e - b));
}

std::string ExpandOrDie(const Context& ctx, std::string_view name) {
  Result<std::string> v = ctx.cfg.Expand(name);
  if (!v) log::Fatal("%s", v.error().c_str());
  return Trim(*v);
}

std::string ExplicitExpanded(const Context& ctx, std::string_view name) {
  if (!ctx.cfg.IsExplicit(name)) return "";
  return ExpandOrDie(ctx, name);
}

bool IsRegularFile(const std::string& path) {
  struct stat st;
  return !path.empty() && stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

std::string Fqdn(const Context& ctx, const std::string& given) {
  if (!given.empty()) return given;
  std::string host = ExpandOrDie(ctx, "myhostname");
  if (!host.empty() && host[0] == '/') {
    std::ifstream in(host);
    if (!in) log::Fatal("cannot read myhostname file %s: %s", host.c_str(), strerror(errno));
    std::stringstream ss;
    ss << in.rdbuf();
    std::string text = ss.str();
    // As $(cat file): only trailing newlines go.
    while (!text.empty() && text.back() == '\n') text.pop_back();
    return text;
  }
  return host;
}

namespace {

// The first chain file entry whose private key is an Ed25519 key.
std::string Ed25519ChainKey(const Context& ctx) {
  if (!ctx.cfg.IsExplicit("smtpd_tls_chain_files")) return "";
  for (const std::string& f : config::SplitList(ExpandOrDie(ctx, "smtpd_tls_chain_files"))) {
    Result<LoadedKey> k = LoadPrivateKey(f);
    if (k && k->alg == KeyAlg::kEd25519) return f;
  }
  return "";
}

}  // namespace

std::string KeyfileFor(const Context& ctx, const std::string& arg) {
  std::string keyfile;
  if (arg == "rsa") {
    keyfile = ExplicitExpanded(ctx, "smtpd_tls_key_file");
  } else if (arg == "ecdsa") {
    keyfile = ExplicitExpanded(ctx, "smtpd_tls_eckey_file");
  } else if (arg == "ed25519") {
    keyfile = Ed25519ChainKey(ctx);
  } else if (arg.empty() || arg == "none" || arg[0] == '/') {
    keyfile = arg;
  } else {
    keyfile = ctx.config_dir + "/" + arg;
  }
  if (keyfile == "none") keyfile.clear();
  return keyfile;
}

bool AllDefault(const Context& ctx, const std::vector<std::string>& names) {
  for (const std::string& n : names) {
    if (!ctx.cfg.IsExplicit(n)) continue;
    std::optional<std::string> raw = ctx.cfg.Raw(n);
    if (raw && !Trim(*raw).empty()) return false;
  }
  return true;
}

std::string RandomSource(const Context& ctx, const std::string& given) {
  if (!given.empty()) return given;
  std::string v = ExpandOrDie(ctx, "tls_random_source");
  if (!v.empty()) return v;
  if (access("/dev/urandom", R_OK) == 0) return "dev:/dev/urandom";
  log::Fatal("no default TLS random source defined and no /dev/urandom");
}

namespace {

bool FileRegistersLmdb(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    std::string t = Trim(line);
    if (t.rfind("lmdb", 0) == 0 && (t.size() == 4 || t[4] == ' ' || t[4] == '\t')) return true;
  }
  return false;
}

bool DirRegistersLmdb(const std::string& dir) {
  if (FileRegistersLmdb(dir + "/dynamicmaps.cf")) return true;
  std::string d = dir + "/dynamicmaps.cf.d";
  DIR* dp = opendir(d.c_str());
  if (!dp) return false;
  bool found = false;
  while (struct dirent* e = readdir(dp)) {
    if (e->d_name[0] == '.') continue;
    if (FileRegistersLmdb(d + "/" + e->d_name)) {
      found = true;
      break;
    }
  }
  closedir(dp);
  return found;
}

}  // namespace

std::string CacheDbType(const Context& ctx) {
  std::string meta = ExpandOrDie(ctx, "meta_directory");
  if (!meta.empty() && DirRegistersLmdb(meta)) return "lmdb";
  if (DirRegistersLmdb(ctx.config_dir)) return "lmdb";
  return "btree";
}

std::string UtcStamp(time_t when) {
  struct tm tm;
  gmtime_r(&when, &tm);
  char buf[32];
  strftime(buf, sizeof(buf), "%Y%m%d-%H%M%S", &tm);
  return buf;
}

std::string InConfigDir(const Context& ctx, const std::string& path) {
  if (!path.empty() && path[0] == '/') return path;
  return ctx.config_dir + "/" + path;
}

}  // namespace pftls::keytool
