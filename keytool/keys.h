/*++
 * NAME
 *	keytool/keys.h - private key generation, loading and writing
 * SYNOPSIS
 *	#include "keytool/keys.h"
 *
 *	Result<KeyAlg> a = ParseAlgorithm("ecdsa");
 *	Result<EvpPkeyPtr> k = GenerateKey(KeyAlg::kRsa, "2048", progress);
 *	Status s = WriteNewKeyFile(path, *k, KeyFileStyle::kGenerated);
 *	Result<LoadedKey> old = LoadPrivateKey(path);
 *	std::string der = PublicKeyDer(pkey);	// SubjectPublicKeyInfo
 * DESCRIPTION
 *	The OpenSSL 3 (provider API) counterparts of the key handling in
 *	postfix-tls-script, without running openssl(1):
 *
 *	GenerateKey() makes an RSA key of the given size (public exponent
 *	65537), an EC key on the named curve (any name OpenSSL knows:
 *	secp256r1, prime256v1, P-256, secp384r1 ...) or an Ed25519 key
 *	(the spec argument is ignored). A progress function, when given,
 *	receives one character per OpenSSL key generation callback step
 *	('.', '+', '*', '\n').
 *
 *	WriteNewKeyFile() creates the file with O_CREAT|O_EXCL and mode
 *	0600 (never replacing an existing file), writes the PEM and fsyncs.
 *	File formats, as written by openssl(1) 3.x:
 *	  kGenerated (genrsa / ecparam -genkey):
 *	    RSA, Ed25519: PKCS#8 "BEGIN PRIVATE KEY";
 *	    EC: "BEGIN EC PARAMETERS" (named curve OID) followed by
 *	        "BEGIN EC PRIVATE KEY" (SEC1, with public key).
 *	  kCopied (openssl rsa|ec -in old, used by new-server-cert):
 *	    RSA, Ed25519: PKCS#8; EC: "BEGIN EC PRIVATE KEY" only.
 *
 *	LoadPrivateKey() reads the first private key of a PEM file (other
 *	PEM blocks, e.g. certificates, are skipped) or of a DER file; an
 *	encrypted key is not decrypted (no prompt). It reports the key's
 *	algorithm name as postfix-tls-script does ("rsa", "ecdsa") or
 *	"ed25519".
 * SECURITY
 *	Key files are created 0600 with O_EXCL|O_NOFOLLOW, so an existing
 *	file or a planted symlink is never written through. Key material
 *	is never logged.
 * DIAGNOSTICS
 *	Errors are returned as Result/Status text including the OpenSSL
 *	error queue.
 * CONFIGURATION PARAMETERS
 *	None.
 *--*/
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "util/handles.h"
#include "util/result.h"

namespace pftls::keytool {

enum class KeyAlg { kRsa, kEcdsa, kEd25519 };

inline constexpr const char* kDefaultRsaBits = "2048";
inline constexpr const char* kDefaultCurve = "secp256r1";

// AlgName - "rsa", "ecdsa", "ed25519".
const char* AlgName(KeyAlg alg);
// ParseAlgorithm - the -a argument; error for anything else (e.g. "dsa").
Result<KeyAlg> ParseAlgorithm(std::string_view name);
// DefaultSpec - "2048", "secp256r1" or "" (Ed25519).
const char* DefaultSpec(KeyAlg alg);

using ProgressFn = std::function<void(char)>;

// GenerateKey - a new key; spec is the RSA modulus size or the EC curve.
Result<EvpPkeyPtr> GenerateKey(KeyAlg alg, const std::string& spec,
                               const ProgressFn& progress = nullptr);

enum class KeyFileStyle { kGenerated, kCopied };

// KeyPem - the PEM text for pkey in the given style.
Result<std::string> KeyPem(EVP_PKEY* pkey, KeyFileStyle style);
// WriteNewKeyFile - O_EXCL, 0600, PEM in the given style, fsync.
Status WriteNewKeyFile(const std::string& path, EVP_PKEY* pkey, KeyFileStyle style);

struct LoadedKey {
  EvpPkeyPtr pkey;
  KeyAlg alg = KeyAlg::kRsa;
};

// KeyAlgOf - the algorithm of pkey; error for DSA, DH, X25519, ...
Result<KeyAlg> KeyAlgOf(EVP_PKEY* pkey);
// LoadPrivateKey - first private key in the file (PEM or DER).
Result<LoadedKey> LoadPrivateKey(const std::string& path);
// PublicKeyDer - DER SubjectPublicKeyInfo of pkey.
Result<std::string> PublicKeyDer(EVP_PKEY* pkey);

// OpensslErrors - drain the OpenSSL error queue into one line.
std::string OpensslErrors();

}  // namespace pftls::keytool
