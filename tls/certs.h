/*++
 * NAME
 *	tls/certs.h - load server certificates and keys into an SSL_CTX
 * SYNOPSIS
 *	#include "tls/certs.h"
 *
 *	Result<bool> any = LoadServerCertificates(ctx, settings);
 *	Result<std::vector<KeyCertChain>> c = ReadChainFiles(files);
 * DESCRIPTION
 *	LoadServerCertificates() installs the RSA and ECDSA certificates of
 *	a ServerSettings: from <prefix>chain_files when set (the legacy
 *	cert/key parameters are then ignored, with a warning), else from
 *	cert_file/key_file and eccert_file/eckey_file. A certificate file
 *	may hold its chain after the leaf. DSA files (dcert_file/dkey_file)
 *	are accepted with a warning and not used. Returns true when at
 *	least one certificate was installed, false when none is configured.
 *
 *	ReadChainFiles() reads PEM objects from the files in order and
 *	groups them as chain_files requires: a private key, then its leaf
 *	certificate, then that leaf's issuers; then the next key. The leaf
 *	may also come before its key. Each leaf must match its key.
 * SECURITY
 *	Runs before the jail; private keys never leave the SSL_CTX.
 * DIAGNOSTICS
 *	Errors name the parameter and file: "<parameter>: <file>: <reason>".
 * CONFIGURATION PARAMETERS
 *	<prefix>chain_files, cert_file, key_file, eccert_file, eckey_file,
 *	dcert_file, dkey_file.
 *--*/
#pragma once

#include <string>
#include <vector>

#include "tls/server_ctx.h"
#include "util/handles.h"
#include "util/result.h"

namespace pftls::tls {

struct KeyCertChain {
  EvpPkeyPtr key;
  X509Ptr leaf;
  X509StackPtr chain;
};

Result<std::vector<KeyCertChain>> ReadChainFiles(const std::vector<std::string>& files);
Result<bool> LoadServerCertificates(SSL_CTX* ctx, const ServerSettings& s);

}  // namespace pftls::tls
