/*++
 * NAME
 *	keytool/certs.h - self-signed server certificates and CSRs
 * SYNOPSIS
 *	#include "keytool/certs.h"
 *
 *	Result<X509Ptr> c = MakeSelfSignedCert(pkey, {"mx.example"});
 *	Status s = WriteNewCertFile(path, c->get());
 *	Result<X509ReqPtr> r = MakeCsr(pkey, {"mx.example", "mail.example"});
 *	Result<std::string> pem = CsrPem(r->get());
 *	Result<X509Ptr> old = LoadCertificate(path);
 *	Status v = CheckValidNow(old->get());
 * DESCRIPTION
 *	MakeSelfSignedCert() builds what "openssl req -x509 -new -subj
 *	/CN=<first name> -days 36525" makes from postfix-tls-script's
 *	generated configuration: an X.509 v3 certificate, issuer = subject =
 *	CN=<first hostname> (UTF8String), a random positive 159-bit serial,
 *	notBefore = now, notAfter = now + 36525 days, and in this order the
 *	extensions basicConstraints CA:FALSE, subjectKeyIdentifier (SHA-1
 *	of the public key), extendedKeyUsage serverAuth+clientAuth and
 *	subjectAltName DNS:<each hostname>; no key usage, no authority key
 *	identifier. Signed with SHA-256 (Ed25519: pure EdDSA).
 *
 *	MakeCsr() builds what "openssl req -new -subj /" makes: a version 1
 *	request with an empty subject and an extensionRequest attribute
 *	holding subjectKeyIdentifier, extendedKeyUsage serverAuth+clientAuth
 *	and subjectAltName; signed with SHA-256.
 *
 *	WriteNewCertFile() creates the file O_EXCL with mode 0644.
 *
 *	LoadCertificate() returns the first certificate of a PEM file
 *	(other blocks skipped) or of a DER file. CheckValidNow() fails
 *	when the certificate is expired or not yet valid.
 * SECURITY
 *	Host names are placed into the certificate as given (they come
 *	from the administrator or main.cf); nothing is interpreted.
 * DIAGNOSTICS
 *	Errors are returned with the OpenSSL error queue text.
 * CONFIGURATION PARAMETERS
 *	None.
 *--*/
#pragma once

#include <string>
#include <vector>

#include "util/handles.h"
#include "util/result.h"

namespace pftls::keytool {

inline constexpr long kCertDays = 36525;

Result<X509Ptr> MakeSelfSignedCert(EVP_PKEY* pkey, const std::vector<std::string>& hostnames,
                                   long days = kCertDays);
Result<X509ReqPtr> MakeCsr(EVP_PKEY* pkey, const std::vector<std::string>& hostnames);

Result<std::string> CertPem(X509* cert);
Result<std::string> CsrPem(X509_REQ* req);
Status WriteNewCertFile(const std::string& path, X509* cert);

Result<X509Ptr> LoadCertificate(const std::string& path);
// CheckValidNow - error "expired" / "not yet valid" relative to time(nullptr).
Status CheckValidNow(X509* cert);

}  // namespace pftls::keytool
