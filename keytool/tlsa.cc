// keytool/tlsa.cc - see keytool/tlsa.h.
#include "keytool/tlsa.h"

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "keytool/keys.h"
#include "util/hex.h"

namespace pftls::keytool {

std::string HexLower(std::string_view bytes) {
  return HexEncode(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), HexCase::kLower);
}

Result<std::string> SpkiSha256Hex(EVP_PKEY* pkey) {
  Result<std::string> der = PublicKeyDer(pkey);
  if (!der) return std::move(der).take_error();
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(der->data(), der->size(), md, &len, EVP_sha256(), nullptr) != 1 || len != 32)
    return MakeError("cannot compute SHA-256: " + OpensslErrors());
  return HexLower(std::string_view(reinterpret_cast<char*>(md), len));
}

Result<std::string> CertSpkiSha256Hex(X509* cert) {
  EVP_PKEY* pkey = X509_get0_pubkey(cert);
  if (pkey == nullptr) return MakeError("certificate has no usable public key");
  return SpkiSha256Hex(pkey);
}

std::string TlsaRecord(int port, const std::string& host, const std::string& hex) {
  return "_" + std::to_string(port) + "._tcp." + host + ". IN TLSA 3 1 1 " + hex + "\n";
}

}  // namespace pftls::keytool
