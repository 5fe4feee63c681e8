// tls/certs.cc - see tls/certs.h.
#include "tls/certs.h"

#include <openssl/err.h>
#include <openssl/pem.h>

#include <cstring>

#include "util/log.h"

namespace pftls::tls {
namespace {

bool IsKeyLabel(const char* name) { return std::strstr(name, "PRIVATE KEY") != nullptr; }
bool IsCertLabel(const char* name) {
  return std::strcmp(name, "CERTIFICATE") == 0 || std::strcmp(name, "TRUSTED CERTIFICATE") == 0 ||
         std::strcmp(name, "X509 CERTIFICATE") == 0;
}

struct PemFree {
  char *name = nullptr, *header = nullptr;
  unsigned char* data = nullptr;
  ~PemFree() {
    OPENSSL_free(name);
    OPENSSL_free(header);
    if (data) OPENSSL_free(data);
  }
};

// One PEM object re-read as a private key (any supported format).
EvpPkeyPtr KeyFromPem(const char* name, const char* header, const unsigned char* data, long len) {
  BioPtr mem(BIO_new(BIO_s_mem()));
  if (!mem || PEM_write_bio(mem.get(), name, header, data, len) <= 0) return nullptr;
  return EvpPkeyPtr(PEM_read_bio_PrivateKey(mem.get(), nullptr, nullptr, nullptr));
}

Error FileError(const std::string& param, const std::string& file, const std::string& why) {
  return MakeError(param + ": " + file + ": " + why);
}

Status UseKeyCert(SSL_CTX* ctx, KeyCertChain& kc, const std::string& param, const std::string& file) {
  if (SSL_CTX_use_cert_and_key(ctx, kc.leaf.get(), kc.key.get(), kc.chain.get(), 1) != 1)
    return FileError(param, file, "cannot use certificate and key: " + OpenSslReason());
  return Status::Ok();
}

// LoadPair - a certificate file (leaf + optional chain) and its key file.
Status LoadPair(SSL_CTX* ctx, const std::string& cert_param, const std::string& cert_file,
                const std::string& key_param, const std::string& key_file) {
  KeyCertChain kc;
  BioPtr kbio(BIO_new_file(key_file.c_str(), "r"));
  if (!kbio) return FileError(key_param, key_file, "cannot open: " + OpenSslReason());
  kc.key.reset(PEM_read_bio_PrivateKey(kbio.get(), nullptr, nullptr, nullptr));
  if (!kc.key) return FileError(key_param, key_file, "cannot load private key: " + OpenSslReason());
  // The certificate file may or may not contain the key as well.
  BioPtr cbio(BIO_new_file(cert_file.c_str(), "r"));
  if (!cbio) return FileError(cert_param, cert_file, "cannot open: " + OpenSslReason());
  kc.leaf.reset(PEM_read_bio_X509(cbio.get(), nullptr, nullptr, nullptr));
  if (!kc.leaf) return FileError(cert_param, cert_file, "cannot load certificate: " + OpenSslReason());
  kc.chain.reset(sk_X509_new_null());
  while (X509* extra = PEM_read_bio_X509(cbio.get(), nullptr, nullptr, nullptr)) sk_X509_push(kc.chain.get(), extra);
  ERR_clear_error();  // the loop ends on "no start line"
  if (X509_check_private_key(kc.leaf.get(), kc.key.get()) != 1)
    return FileError(cert_param, cert_file, "certificate does not match private key in " + key_file);
  return UseKeyCert(ctx, kc, cert_param, cert_file);
}

}  // namespace

Result<std::vector<KeyCertChain>> ReadChainFiles(const std::vector<std::string>& files) {
  std::vector<KeyCertChain> out;
  for (const std::string& file : files) {
    BioPtr bio(BIO_new_file(file.c_str(), "r"));
    if (!bio) return MakeError(file + ": cannot open: " + OpenSslReason());
    int objects = 0;
    for (;;) {
      PemFree pem;
      long len = 0;
      if (PEM_read_bio(bio.get(), &pem.name, &pem.header, &pem.data, &len) != 1) {
        unsigned long e = ERR_peek_last_error();
        ERR_clear_error();
        if (ERR_GET_REASON(e) == PEM_R_NO_START_LINE) break;
        return MakeError(file + ": malformed PEM data");
      }
      ++objects;
      if (IsKeyLabel(pem.name)) {
        EvpPkeyPtr key = KeyFromPem(pem.name, pem.header, pem.data, len);
        if (!key) return MakeError(file + ": cannot load private key: " + OpenSslReason());
        // A key after a lone leaf completes that leaf; otherwise it starts a group.
        if (!out.empty() && !out.back().key) {
          out.back().key = std::move(key);
        } else {
          KeyCertChain kc;
          kc.key = std::move(key);
          kc.chain.reset(sk_X509_new_null());
          out.push_back(std::move(kc));
        }
      } else if (IsCertLabel(pem.name)) {
        const unsigned char* p = pem.data;
        X509Ptr cert(d2i_X509(nullptr, &p, len));
        if (!cert) return MakeError(file + ": cannot load certificate: " + OpenSslReason());
        // Only the first group may start with its certificate.
        if (out.empty()) {
          KeyCertChain kc;
          kc.chain.reset(sk_X509_new_null());
          out.push_back(std::move(kc));
        }
        KeyCertChain& cur = out.back();
        if (!cur.leaf) cur.leaf = std::move(cert);
        else sk_X509_push(cur.chain.get(), cert.release());
      }
      // Other objects (EC PARAMETERS, ...) are skipped.
    }
    if (objects == 0) return MakeError(file + ": no PEM objects found");
  }
  for (const KeyCertChain& kc : out) {
    if (!kc.key) return MakeError("certificate without a private key");
    if (!kc.leaf) return MakeError("private key without a certificate");
    if (X509_check_private_key(kc.leaf.get(), kc.key.get()) != 1)
      return MakeError("certificate does not match its private key");
  }
  return out;
}

Result<bool> LoadServerCertificates(SSL_CTX* ctx, const ServerSettings& s) {
  const std::string& p = s.prefix;
  if (!s.dcert_file.empty())
    log::Warn("%sdcert_file: DSA certificates are no longer supported; ignoring %s", p.c_str(),
              s.dcert_file.c_str());
  if (!s.chain_files.empty()) {
    if (!s.cert_file.empty() || !s.eccert_file.empty())
      log::Warn("%schain_files is set: ignoring %scert_file and %seccert_file", p.c_str(), p.c_str(), p.c_str());
    std::string joined;
    for (const auto& f : s.chain_files) joined += (joined.empty() ? "" : ", ") + f;
    auto groups = ReadChainFiles(s.chain_files);
    if (!groups) return MakeError(p + "chain_files: " + groups.error());
    for (KeyCertChain& kc : *groups)
      if (Status st = UseKeyCert(ctx, kc, p + "chain_files", joined); !st) return Error{st.error()};
    return !groups->empty();
  }
  bool any = false;
  if (!s.cert_file.empty() && s.cert_file != "none") {
    std::string key = s.key_file.empty() ? s.cert_file : s.key_file;
    if (Status st = LoadPair(ctx, p + "cert_file", s.cert_file, p + "key_file", key); !st) return Error{st.error()};
    any = true;
  }
  if (!s.eccert_file.empty()) {
    std::string key = s.eckey_file.empty() ? s.eccert_file : s.eckey_file;
    if (Status st = LoadPair(ctx, p + "eccert_file", s.eccert_file, p + "eckey_file", key); !st) return Error{st.error()};
    any = true;
  }
  return any;
}

}  // namespace pftls::tls
