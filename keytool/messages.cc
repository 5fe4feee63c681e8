// keytool/messages.cc - see keytool/messages.h.
#include "keytool/messages.h"

#include "util/log.h"

namespace pftls::keytool {

namespace {
std::string Cat(std::string_view a, std::string_view b, std::string_view c = {}) {
  std::string s(a);
  s += b;
  s += c;
  return s;
}
}  // namespace

std::string UsageGeneral() {
  return "usage: postfix tls enable-client (or enable-server, new-server-key, new-server-cert, "
         "deploy-server-cert, output-server-csr, output-server-tlsa, all-default-client, "
         "all-default-server)";
}

std::string UsageServerKey(std::string_view cmd) {
  return Cat("usage: postfix tls ", cmd, " [-a algorithm] [-b bits ] [hostname ...]");
}

std::string UsageEnableServer(std::string_view cmd) {
  return Cat("usage: postfix tls ", cmd, " [-a algorithm] [-b bits ] [-r devrandom] [hostname ...]");
}

std::string UsageEnableClient(std::string_view cmd) {
  return Cat("usage: postfix tls ", cmd, " [-r devrandom]");
}

std::string UsageOutputCsr(std::string_view cmd) {
  return Cat("usage: postfix tls ", cmd, " [-k keyfile] [hostname ...]");
}

std::string UsageOutputTlsa(std::string_view cmd) {
  return Cat("usage: postfix tls ", cmd, " [-h hostname] [keyfile ...]");
}

std::string UsageDeploy(std::string_view cmd) {
  return Cat("usage: postfix tls ", cmd, " certfile keyfile");
}

std::string UsageAllDefault(std::string_view cmd) { return Cat("usage: postfix tls ", cmd); }

Lines InfoEnableClient(const std::string& dbtype) {
  Lines l = {
      "*** Non-default SMTP client TLS settings detected, no changes made.",
      "For opportunistic TLS in the Postfix SMTP client, the below settings",
      "are typical:",
      "  smtp_tls_security_level = may",
      "  smtp_tls_loglevel = 1",
  };
  if (!dbtype.empty())
    l.push_back("  smtp_tls_session_cache_database = " + dbtype + ":${data_directory}/smtp_scache");
  return l;
}

Lines InfoClientDeployed() {
  return {
      "Enabled opportunistic TLS in the Postfix SMTP client.",
      "Run the command:",
      "  # postfix reload",
      "if you want the new settings to take effect immediately.",
  };
}

Lines InfoEnableServer() {
  return {
      "*** Non-default SMTP server TLS settings detected, no changes made.",
      "For opportunistic TLS in the Postfix SMTP server, the below settings",
      "are typical:",
      "  smtpd_tls_security_level = may",
      "  smtpd_tls_loglevel = 1",
      "You can use \"postfix tls new-server-cert\" to create a new certificate.",
      "Or, \"postfix tls new-server-key\" to also force a new private key.",
      "If you publish DANE TLSA records, see:",
      "  https://tools.ietf.org/html/rfc7671#section-8",
      "  https://tools.ietf.org/html/rfc7671#section-5.1",
      "  https://tools.ietf.org/html/rfc7671#section-5.2",
      "  https://community.letsencrypt.org/t/please-avoid-3-0-1-and-3-0-2-dane-tlsa-records-with-le-certificates/7022",
  };
}

Lines InfoCreated(const std::string& cert, const std::string& key) {
  return {
      "New private key and self-signed certificate created. To deploy run:",
      "  # postfix tls deploy-server-cert " + cert + " " + key,
  };
}

Lines InfoServerDeployed(DeployMode mode) {
  Lines l;
  if (mode == DeployMode::kEnabled) l.push_back("Enabled opportunistic TLS in the Postfix SMTP server");
  l.insert(l.end(), {
                        "New TLS private key and certificate deployed.",
                        "Run the command:",
                        "  # postfix reload",
                        "if you want the new settings to take effect immediately.",
                    });
  return l;
}

Lines InfoCsr(const std::string& cert, const std::string& key, DeployMode mode) {
  Lines l = {
      "To generate a CSR run:",
      "  # postfix tls output-server-csr -k " + key + " [<hostname> ...]",
  };
  if (mode == DeployMode::kNotDeployed)
    l.push_back("Save the signed certificate chain in " + cert + ", and deploy as above.");
  else
    l.push_back("Save the signed certificate chain in " + cert + ".");
  return l;
}

Lines InfoTlsa(const std::string& key, DeployMode mode) {
  // Once deployed, the hint shows all deployed keys: no key argument.
  std::string arg = mode == DeployMode::kNotDeployed ? key : std::string();
  return {
      "To generate TLSA records run:",
      "  # postfix tls output-server-tlsa [-h <hostname>] " + arg,
  };
}

Lines InfoDaneDns(DeployMode mode) {
  if (mode != DeployMode::kNotDeployed)
    return {
        "(If you have DANE TLSA RRs, update them as soon as possible to match",
        "the newly deployed keys).",
    };
  return {"(deploy after updating the DNS and waiting for stale RRs to expire)."};
}

void EmitInfo(const Lines& lines) {
  for (const std::string& line : lines) log::Info("%s", line.c_str());
}

}  // namespace pftls::keytool
