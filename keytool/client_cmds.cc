// keytool/client_cmds.cc - enable-client, all-default-client,
// all-default-server, and the subcommand dispatcher.
#include "keytool/getopts.h"
#include "keytool/messages.h"
#include "keytool/subcommands.h"
#include "util/log.h"

namespace pftls::keytool {

int CmdEnableClient(Context& ctx, const Args& args) {
  Result<ParsedArgs> p = GetOpts(Args(args.begin() + 1, args.end()), "r:");
  // No positional arguments.
  if (!p || !p->positional.empty()) log::Fatal("%s", UsageEnableClient(args[0]).c_str());
  const std::string* r = p->Find('r');
  std::string rand = RandomSource(ctx, r ? *r : "");
  std::string dbtype = CacheDbType(ctx);
  if (!AllDefault(ctx, kClientSettings)) {
    EmitInfo(InfoEnableClient(dbtype));
    return 0;
  }
  std::vector<std::pair<std::string, std::string>> set = {
      {"smtp_tls_security_level", "may"},
      {"smtp_tls_loglevel", "1"},
  };
  if (!dbtype.empty())
    set.emplace_back("smtp_tls_session_cache_database", dbtype + ":" + ExpandOrDie(ctx, "data_directory") + "/smtp_scache");
  if (!rand.empty()) set.emplace_back("tls_random_source", rand);
  Status s = config::EditMainCf(ctx.cfg.main_cf_path(), set);
  if (!s) log::Fatal("%s", s.error().c_str());
  EmitInfo(InfoClientDeployed());
  return 0;
}

int CmdAllDefault(Context& ctx, const Args& args) {
  if (args.size() > 1) log::Fatal("%s", UsageAllDefault(args[0]).c_str());
  bool client = args[0] == "all-default-client";
  return AllDefault(ctx, client ? kClientSettings : kServerSettings) ? 0 : 1;
}

int RunSubcommand(Context& ctx, const Args& args) {
  static const struct {
    const char* name;
    int (*fn)(Context&, const Args&);
  } kTable[] = {
      {"enable-client", CmdEnableClient},
      {"enable-server", CmdEnableServer},
      {"new-server-key", CmdNewServerKey},
      {"new-server-cert", CmdNewServerCert},
      {"deploy-server-cert", CmdDeployServerCert},
      {"output-server-csr", CmdOutputServerCsr},
      {"output-server-tlsa", CmdOutputServerTlsa},
      {"all-default-client", CmdAllDefault},
      {"all-default-server", CmdAllDefault},
  };
  std::string cmd = args.empty() ? std::string() : args[0];
  for (const auto& e : kTable)
    if (cmd == e.name) return e.fn(ctx, args);
  log::Error("unknown tls command: '%s'", cmd.c_str());
  log::Fatal("%s", UsageGeneral().c_str());
}

}  // namespace pftls::keytool
