/*++
 * NAME
 *	tls/server_ctx.h - server SSL_CTX built from Postfix-style parameters
 * SYNOPSIS
 *	#include "tls/server_ctx.h"
 *
 *	ServerSettings s = LoadServerSettings(cfg, "tlsproxy_tls_", "tlsproxy_");
 *	Result<ServerContext> ctx = BuildServerContext(s);
 *	if (ctx->enabled) ... SSL_new(ctx->ctx.get()) ...
 * DESCRIPTION
 *	LoadServerSettings() reads the server TLS parameters under a prefix
 *	(tlsproxy_tls_*, whose defaults are $smtpd_tls_*), plus the legacy
 *	<legacy>use_tls / <legacy>enforce_tls booleans and the shared tls_*
 *	parameters. Values are expanded; a malformed value is fatal, naming
 *	the parameter (through config::Config's getters).
 *
 *	BuildServerContext() creates the SSL_CTX before the jail: security
 *	level; protocol range (mandatory_protocols at "encrypt",
 *	protocols otherwise); cipher grade and exclusions (mandatory_ciphers
 *	and mandatory_exclude_ciphers at "encrypt", plus "aNULL" when client
 *	certificates are requested); RSA and ECDSA certificates from
 *	cert_file/key_file and eccert_file/eckey_file, or chain_files (which
 *	then wins, with a warning when the legacy files are set too); DSA
 *	files accepted with a warning and ignored; CAfile/CApath; ask_ccert,
 *	req_ccert, ccert_verifydepth; eecdh_grade (auto, strong, ultra,
 *	none) with the tls_eecdh_* curve lists, unsupported curves skipped;
 *	dh1024_param_file (dh512_param_file ignored with a warning);
 *	tls_preempt_cipherlist; session id context "Postfix/TLS", session
 *	timeout 2 x smtpd_tls_session_cache_timeout; one ticket per
 *	handshake; tls_session_ticket_cipher validated (CBC, 16-byte IV, key
 *	16..32 bytes; empty disables tickets); renegotiation and compression
 *	off; OpenSSL's unexpected-EOF treated as a clean close; partial and
 *	moving writes; buffers released while idle.
 *
 *	When the level is "none", or no certificate is configured and
 *	cert_file is not "none", the result has enabled = false (the
 *	hand-off answers status 0). A configured but unusable certificate,
 *	key or parameter file is an error naming the parameter and the file.
 * SECURITY
 *	Private keys are read here, before chroot and privilege drop; they
 *	may stay readable by root only.
 * DIAGNOSTICS
 *	Errors: "<parameter>: <file>: <reason>" with the OpenSSL reason.
 * CONFIGURATION PARAMETERS
 *	<prefix>security_level, <prefix>cert_file, key_file, dcert_file,
 *	dkey_file, eccert_file, eckey_file, chain_files, CAfile, CApath,
 *	ask_ccert, req_ccert, ccert_verifydepth, ciphers, mandatory_ciphers,
 *	exclude_ciphers, mandatory_exclude_ciphers, protocols,
 *	mandatory_protocols, eecdh_grade, dh1024_param_file,
 *	dh512_param_file, fingerprint_digest, always_issue_session_ids,
 *	loglevel; <legacy>use_tls, <legacy>enforce_tls;
 *	smtpd_tls_session_cache_timeout, tls_session_ticket_cipher,
 *	tls_{high,medium,low,export,null}_cipherlist, tls_eecdh_auto_curves,
 *	tls_eecdh_strong_curve, tls_eecdh_ultra_curve,
 *	tls_preempt_cipherlist.
 *--*/
#pragma once

#include <openssl/evp.h>

#include <string>
#include <vector>

#include "tls/policy.h"
#include "util/handles.h"
#include "util/result.h"

namespace pftls::config {
class Config;
}

namespace pftls::tls {

struct ServerSettings {
  std::string prefix;  // e.g. "tlsproxy_tls_", used to name parameters in errors
  std::string security_level;
  bool use_tls = false, enforce_tls = false;
  std::string cert_file, key_file, dcert_file, dkey_file, eccert_file, eckey_file;
  std::vector<std::string> chain_files;
  std::string CAfile, CApath;
  bool ask_ccert = false, req_ccert = false;
  int ccert_verifydepth = 9;
  std::string ciphers = "medium", mandatory_ciphers = "medium";
  std::string exclude_ciphers, mandatory_exclude_ciphers;
  std::string protocols = ">=TLSv1", mandatory_protocols = ">=TLSv1";
  std::string eecdh_grade = "auto";
  std::string dh1024_param_file, dh512_param_file;
  std::string fingerprint_digest = "sha256";
  bool always_issue_session_ids = true;
  int loglevel = 0;
  long session_cache_timeout = 3600;  // seconds, already sanitised
  std::string ticket_cipher = "aes-256-cbc";
  CipherLists cipher_lists;
  std::string eecdh_auto_curves = "X25519 X448 prime256v1 secp521r1 secp384r1";
  std::string eecdh_strong_curve = "prime256v1", eecdh_ultra_curve = "secp384r1";
  bool preempt_cipherlist = false;
};

ServerSettings LoadServerSettings(const config::Config& cfg, const std::string& prefix,
                                  const std::string& legacy_prefix);

struct ServerContext {
  bool enabled = false;          // TLS can be offered
  TlsLevel level = TlsLevel::kNone;
  SslCtxPtr ctx;
  const EVP_CIPHER* ticket_cipher = nullptr;  // nullptr: tickets off
  const EVP_MD* fingerprint_md = nullptr;
  long session_timeout = 0;      // SSL_CTX timeout (2 x cache timeout)
  int loglevel = 0;
};

Result<ServerContext> BuildServerContext(const ServerSettings& settings);

// OpenSslReason - the reasons queued by OpenSSL, joined, then cleared.
std::string OpenSslReason();

}  // namespace pftls::tls
