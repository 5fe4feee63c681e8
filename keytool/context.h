/*++
 * NAME
 *	keytool/context.h - configuration lookups shared by the subcommands
 * SYNOPSIS
 *	#include "keytool/context.h"
 *
 *	Context ctx{dir, std::move(cfg)};
 *	std::string host = Fqdn(ctx, "");		// myhostname
 *	std::string key = KeyfileFor(ctx, "rsa");	// explicit smtpd_tls_key_file
 *	bool d = AllDefault(ctx, kServerSettings);
 * DESCRIPTION
 *	The main.cf questions postfix-tls-script asks postconf(1), answered
 *	through util/config:
 *
 *	Fqdn() - the given name, else the expanded myhostname; a value
 *	starting with "/" names a file whose content is the host name.
 *
 *	KeyfileFor() - resolves a key argument: "rsa" and "ecdsa" name the
 *	expanded *explicit* smtpd_tls_key_file / smtpd_tls_eckey_file
 *	(postconf -nxh: a default derived from the cert file does not
 *	count); "ed25519" names the first smtpd_tls_chain_files entry whose
 *	private key is Ed25519 (pftls addition); "none" and "" give "";
 *	an absolute path is kept; a relative path is made relative to the
 *	configuration directory.
 *
 *	AllDefault() - true when none of the names is set to a non-empty
 *	value in main.cf (postconf -nh prints nothing).
 *
 *	RandomSource() - the -r value, else the expanded tls_random_source,
 *	else "dev:/dev/urandom" when readable; fatal otherwise.
 *
 *	CacheDbType() - "lmdb" when the dynamic map configuration
 *	(dynamicmaps.cf and dynamicmaps.cf.d/ in meta_directory or the
 *	configuration directory) registers it, else "btree" (compiled into
 *	every Postfix).
 *
 *	UtcStamp() - YYYYMMDD-HHMMSS in UTC.
 *	InConfigDir() - the config-directory-relative interpretation of a
 *	path argument.
 * SECURITY
 *	main.cf is trusted (root owned); file names from it are only read.
 * DIAGNOSTICS
 *	Expansion errors and unreadable myhostname files are fatal.
 * CONFIGURATION PARAMETERS
 *	myhostname, smtpd_tls_key_file, smtpd_tls_eckey_file,
 *	smtpd_tls_chain_files, tls_random_source, data_directory,
 *	meta_directory, and the names given to AllDefault().
 *--*/
#pragma once

#include <ctime>
#include <string>
#include <string_view>
#include <vector>

#include "util/config.h"

namespace pftls::keytool {

struct Context {
  std::string config_dir;
  config::Config cfg;
  bool progress = false;  // show key generation progress (stderr is a tty)
};

inline const std::vector<std::string> kClientSettings = {
    "smtp_use_tls",         "smtp_enforce_tls",   "smtp_tls_enforce_peername", "smtp_tls_security_level",
    "smtp_tls_cert_file",   "smtp_tls_dcert_file", "smtp_tls_eccert_file",
};
inline const std::vector<std::string> kServerSettings = {
    "smtpd_use_tls",       "smtpd_enforce_tls",    "smtpd_tls_security_level",
    "smtpd_tls_cert_file", "smtpd_tls_dcert_file", "smtpd_tls_eccert_file",
};

// ExpandOrDie - expanded value with surrounding whitespace removed.
std::string ExpandOrDie(const Context& ctx, std::string_view name);
// ExplicitExpanded - postconf -nxh: "" unless set in main.cf.
std::string ExplicitExpanded(const Context& ctx, std::string_view name);

std::string Fqdn(const Context& ctx, const std::string& given);
std::string KeyfileFor(const Context& ctx, const std::string& arg);
bool AllDefault(const Context& ctx, const std::vector<std::string>& names);
std::string RandomSource(const Context& ctx, const std::string& given);
std::string CacheDbType(const Context& ctx);
std::string UtcStamp(time_t when);
std::string InConfigDir(const Context& ctx, const std::string& path);
bool IsRegularFile(const std::string& path);

// Trim - remove leading/trailing blanks.
std::string Trim(std::string_view s);

}  // namespace pftls::keytool
