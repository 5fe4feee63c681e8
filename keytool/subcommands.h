/*++
 * NAME
 *	keytool/subcommands.h - the "postfix tls" subcommands
 * SYNOPSIS
 *	#include "keytool/subcommands.h"
 *
 *	int status = RunSubcommand(ctx, argv_after_options);
 * DESCRIPTION
 *	RunSubcommand() runs one of enable-client, enable-server,
 *	new-server-key, new-server-cert, deploy-server-cert,
 *	output-server-csr, output-server-tlsa, all-default-client or
 *	all-default-server with its arguments (args[0] is the subcommand)
 *	and returns the exit status. Errors are fatal (log::Fatal, exit 1)
 *	with the texts of spec §6.6.
 *
 *	The per-subcommand functions are grouped by file:
 *	server_cmds.cc (key/cert creation and deployment), output_cmds.cc
 *	(CSR and TLSA on stdout), client_cmds.cc (client side and the
 *	all-default tests).
 * SECURITY
 *	Runs as root on the administrator's behalf; writes keys 0600 with
 *	O_EXCL and edits main.cf atomically (one config::EditMainCf call).
 * DIAGNOSTICS
 *	See postfix-tls(1).
 * CONFIGURATION PARAMETERS
 *	See keytool/context.h.
 *--*/
#pragma once

#include <string>
#include <vector>

#include "keytool/context.h"

namespace pftls::keytool {

using Args = std::vector<std::string>;

int RunSubcommand(Context& ctx, const Args& args);

int CmdEnableClient(Context& ctx, const Args& args);
int CmdAllDefault(Context& ctx, const Args& args);  // both variants
int CmdEnableServer(Context& ctx, const Args& args);
int CmdNewServerKey(Context& ctx, const Args& args);
int CmdNewServerCert(Context& ctx, const Args& args);
int CmdDeployServerCert(Context& ctx, const Args& args);
int CmdOutputServerCsr(Context& ctx, const Args& args);
int CmdOutputServerTlsa(Context& ctx, const Args& args);

}  // namespace pftls::keytool
