/*++
 * NAME
 *	postfix-tls - Postfix-compatible TLS key, certificate and DANE tool
 * SYNOPSIS
 *	postfix-tls [-v] [-c config_dir] subcommand [options] [args]
 * DESCRIPTION
 *	A re-implementation of "postfix tls" (postfix-tls-script) on the
 *	OpenSSL 3 library: no openssl(1) command is run. Subcommands:
 *	enable-client, enable-server, new-server-key, new-server-cert,
 *	deploy-server-cert, output-server-csr, output-server-tlsa,
 *	all-default-client, all-default-server. See postfix-tls(1) for
 *	options, files and the pftls additions.
 *
 *	The configuration directory is the -c argument, else $MAIL_CONFIG,
 *	else the pftls default (config::ConfigDir()).
 * SECURITY
 *	Meant to be run by root. Runs with umask 077: new private keys are
 *	created 0600 with O_EXCL, certificates are set to 0644, main.cf is
 *	replaced atomically keeping its mode and owner.
 * DIAGNOSTICS
 *	Messages go to syslog as "<syslog_name>/postfix-tls-script" (the
 *	tag Postfix's script uses, so log parsers keep matching) and, when
 *	standard error is a terminal, also to standard error with the
 *	prefix "postfix/postfix-tls-script: ". Only output-server-csr and
 *	output-server-tlsa write to standard output. Exit status 0 on
 *	success, 1 on any error or (all-default-*) a non-default setting.
 * CONFIGURATION PARAMETERS
 *	config_directory (from -c or MAIL_CONFIG), syslog_name, myhostname,
 *	data_directory, meta_directory, tls_random_source,
 *	smtpd_tls_{key,cert,eckey,eccert}_file, smtpd_tls_chain_files and
 *	the smtp(d) TLS settings listed in postfix-tls(1).
 *--*/
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "keytool/context.h"
#include "keytool/subcommands.h"
#include "util/config.h"
#include "util/log.h"

using namespace pftls;

namespace {

constexpr const char* kProcess = "postfix-tls-script";

[[noreturn]] void Usage() {
  log::Fatal("usage: postfix-tls [-v] [-c config_dir] subcommand [options] [args]");
}

}  // namespace

int main(int argc, char** argv) {
  umask(077);
  bool tty = isatty(STDERR_FILENO) == 1;
  log::Open("postfix", kProcess);
  log::SetStderr(tty);

  const char* dash_c = nullptr;
  int i = 1;
  for (; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--") {
      ++i;
      break;
    }
    if (a.size() < 2 || a[0] != '-') break;
    if (a == "-v") {
      log::AddVerbose();
    } else if (a == "-c") {
      if (i + 1 >= argc) Usage();
      dash_c = argv[++i];
    } else if (a.rfind("-c", 0) == 0) {
      dash_c = argv[i] + 2;
    } else {
      Usage();
    }
  }

  keytool::Context ctx;
  ctx.config_dir = config::ConfigDir(dash_c);
  ctx.progress = tty;
  struct stat st;
  if (ctx.config_dir.empty() || stat(ctx.config_dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    log::Fatal("no Postfix configuration directory %s!", ctx.config_dir.c_str());

  Result<config::Config> cfg = config::Config::Load(ctx.config_dir);
  if (!cfg) log::Fatal("%s", cfg.error().c_str());
  ctx.cfg = std::move(cfg).value();

  // Log as "<syslog_name>/postfix-tls-script", as postfix(1) does via
  // MAIL_LOGTAG.
  Result<std::string> syslog_name = ctx.cfg.Expand("syslog_name");
  if (syslog_name && !syslog_name->empty() && *syslog_name != "postfix") {
    log::Open(*syslog_name, kProcess);
    log::SetStderr(tty);
  }

  keytool::Args args(argv + i, argv + argc);
  return keytool::RunSubcommand(ctx, args);
}
