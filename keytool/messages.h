/*++
 * NAME
 *	keytool/messages.h - the exact texts of "postfix tls"
 * SYNOPSIS
 *	#include "keytool/messages.h"
 *
 *	log::Fatal("%s", UsageFor("enable-client").c_str());
 *	EmitInfo(InfoCreated(cert, key));
 * DESCRIPTION
 *	Usage lines and the informational blocks that postfix-tls-script
 *	logs (spec §6.5-§6.6), each block as a list of lines. EmitInfo()
 *	logs each line as one info record, which is how postlog(1) treats
 *	multi-line standard input.
 *
 *	Server blocks take (certfile, keyfile, mode) where mode is
 *	kNotDeployed (new-server-key/new-server-cert), kEnabled
 *	(enable-server) or kDeployed (deploy-server-cert).
 * SECURITY
 *	File names come from the administrator or from main.cf.
 * DIAGNOSTICS
 *	None.
 * CONFIGURATION PARAMETERS
 *	None.
 *--*/
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace pftls::keytool {

using Lines = std::vector<std::string>;

enum class DeployMode { kNotDeployed, kEnabled, kDeployed };

// Usage texts (without the "fatal: " that logging adds).
std::string UsageGeneral();
std::string UsageServerKey(std::string_view cmd);      // new-server-key, new-server-cert
std::string UsageEnableServer(std::string_view cmd);   // enable-server
std::string UsageEnableClient(std::string_view cmd);
std::string UsageOutputCsr(std::string_view cmd);
std::string UsageOutputTlsa(std::string_view cmd);
std::string UsageDeploy(std::string_view cmd);
std::string UsageAllDefault(std::string_view cmd);

Lines InfoEnableClient(const std::string& dbtype);  // dbtype "" = no cache line
Lines InfoClientDeployed();
Lines InfoEnableServer();
Lines InfoCreated(const std::string& cert, const std::string& key);
Lines InfoServerDeployed(DeployMode mode);
Lines InfoCsr(const std::string& cert, const std::string& key, DeployMode mode);
Lines InfoTlsa(const std::string& key, DeployMode mode);
Lines InfoDaneDns(DeployMode mode);

// EmitInfo - one log::Info record per line.
void EmitInfo(const Lines& lines);

}  // namespace pftls::keytool
