// master/service.cc - see master/service.h.
#include "master/service.h"

#include <set>

#include "util/listen.h"
#include "util/log.h"

namespace pftls::master {
namespace {

// InetAddresses - "host:port" as is; a bare "port" on every inet_interfaces
// address ("all" = 0.0.0.0 and, with IPv6 enabled, ::; "loopback-only" =
// 127.0.0.1).
Result<std::vector<std::string>> InetAddresses(const config::Config& cfg, const std::string& name) {
  auto hp = SplitHostPort(name);
  if (!hp) return std::move(hp).take_error();
  if (!hp->first.empty()) return std::vector<std::string>{name};
  std::vector<std::string> out;
  std::vector<std::string> protocols = cfg.List("inet_protocols");
  bool v6 = false;
  for (const auto& p : protocols)
    if (p == "all" || p == "ipv6") v6 = true;
  for (const std::string& ifc : cfg.List("inet_interfaces")) {
    if (ifc == "all") {
      out.push_back("0.0.0.0:" + hp->second);
      if (v6) out.push_back("[::]:" + hp->second);
    } else if (ifc == "loopback-only" || ifc == "localhost") {
      out.push_back("127.0.0.1:" + hp->second);
    } else if (ifc.find(':') != std::string::npos) {
      out.push_back("[" + ifc + "]:" + hp->second);
    } else {
      out.push_back(ifc + ":" + hp->second);
    }
  }
  if (out.empty()) return MakeError("inet_interfaces is empty");
  return out;
}

}  // namespace

Result<std::vector<ServiceConfig>> ResolveServices(const config::Config& cfg,
                                                   const std::vector<config::MasterService>& entries,
                                                   const ArgvOptions& opts) {
  std::vector<ServiceConfig> out;
  std::set<std::string> seen;
  const std::string queue_dir = cfg.Str("queue_directory");
  const std::string daemon_dir = cfg.Str("daemon_directory");
  for (const config::MasterService& e : entries) {
    ServiceConfig s;
    s.origin = e.file + ", line " + std::to_string(e.line);
    s.name = e.name;
    s.type = e.type;
    if (e.type != "unix" && e.type != "inet") {
      log::Warn("%s: service %s: type %s is not supported by this master; skipped", s.origin.c_str(),
                e.name.c_str(), e.type.c_str());
      continue;
    }
    if (!seen.insert(s.Key()).second)
      return MakeError(s.origin + ": duplicate service " + e.name + " " + e.type);
    if (e.command.empty() || e.command.find('/') != std::string::npos)
      return MakeError(s.origin + ": bad command name \"" + e.command + "\" (a name in daemon_directory)");
    s.private_ = e.private_;
    s.wakeup = e.wakeup;
    s.wakeup_conditional = e.wakeup_conditional;
    if (s.wakeup > 0 && s.type != "unix") {
      log::Warn("%s: wake-up of %s service %s is not supported; ignored", s.origin.c_str(), e.type.c_str(),
                e.name.c_str());
      s.wakeup = 0;
    }
    s.maxproc = e.maxproc < 0 ? cfg.Int("default_process_limit") : e.maxproc;
    s.path = daemon_dir + "/" + e.command;
    if (s.type == "unix") {
      if (e.name.find('/') != std::string::npos) return MakeError(s.origin + ": bad unix service name " + e.name);
      s.addresses.push_back(queue_dir + (e.private_ ? "/private/" : "/public/") + e.name);
    } else {
      Result<std::vector<std::string>> a = InetAddresses(cfg, e.name);
      if (!a) return MakeError(s.origin + ": " + a.error());
      s.addresses = *a;
    }
    // argv: command [-l] [-z] -n service -t type [-v...] [-V] [-u] [-c] [-o n=v...] [-s N] args
    s.argv.push_back(e.command);
    if (s.maxproc == 1) s.argv.push_back("-l");
    if (s.maxproc == 0) s.argv.push_back("-z");
    s.argv.insert(s.argv.end(), {"-n", e.name, "-t", e.type});
    for (int i = 0; i < opts.verbose; ++i) s.argv.push_back("-v");
    if (opts.log_stderr) s.argv.push_back("-V");
    if (e.unpriv) s.argv.push_back("-u");
    if (e.chroot) s.argv.push_back("-c");
    for (const auto& [name, value] : e.overrides) {
      s.argv.push_back("-o");
      s.argv.push_back(name + "=" + value);
    }
    if (s.addresses.size() > 1) {
      s.argv.push_back("-s");
      s.argv.push_back(std::to_string(s.addresses.size()));
    }
    s.argv.insert(s.argv.end(), e.args.begin(), e.args.end());
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace pftls::master
