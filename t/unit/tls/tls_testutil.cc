// t/unit/tls/tls_testutil.cc - see tls_testutil.h.
#include "t/unit/tls/tls_testutil.h"

#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdlib.h>

#include <filesystem>
#include <stdexcept>

namespace pftls::testutil {

EvpPkeyPtr MakeKey(const std::string& kind) {
  if (kind == "rsa") return EvpPkeyPtr(EVP_RSA_gen(2048));
  return EvpPkeyPtr(EVP_EC_gen("P-256"));
}

X509Ptr MakeSelfSigned(EVP_PKEY* key, const std::string& cn) {
  X509Ptr x(X509_new());
  X509_set_version(x.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x.get()), 1);
  X509_gmtime_adj(X509_getm_notBefore(x.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x.get()), 86400L * 30);
  X509_NAME* name = X509_get_subject_name(x.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(x.get(), name);
  X509_set_pubkey(x.get(), key);
  X509_sign(x.get(), key, EVP_sha256());
  return x;
}

void WritePem(const std::string& path, EVP_PKEY* key, X509* cert) {
  BioPtr bio(BIO_new_file(path.c_str(), "w"));
  if (!bio) throw std::runtime_error("cannot write " + path);
  if (key) PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
  if (cert) PEM_write_bio_X509(bio.get(), cert);
}

std::string TempDir() {
  char tmpl[] = "/tmp/pftls-test-XXXXXX";
  char* d = mkdtemp(tmpl);
  if (!d) throw std::runtime_error("mkdtemp");
  return d;
}

void RemoveTree(const std::string& dir) {
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

bool Handshake(SSL* client, SSL* server) {
  for (int i = 0; i < 100; ++i) {
    int c = SSL_do_handshake(client);
    int s = SSL_do_handshake(server);
    if (c == 1 && s == 1) return true;
    int ce = SSL_get_error(client, c), se = SSL_get_error(server, s);
    bool c_ok = c == 1 || ce == SSL_ERROR_WANT_READ || ce == SSL_ERROR_WANT_WRITE;
    bool s_ok = s == 1 || se == SSL_ERROR_WANT_READ || se == SSL_ERROR_WANT_WRITE;
    if (!c_ok || !s_ok) return false;
  }
  return false;
}

void Connect(SSL_CTX* client_ctx, SSL_CTX* server_ctx, SslPtr* client, SslPtr* server) {
  client->reset(SSL_new(client_ctx));
  server->reset(SSL_new(server_ctx));
  BIO *cb = nullptr, *sb = nullptr;
  BIO_new_bio_pair(&cb, 0, &sb, 0);
  SSL_set_bio(client->get(), cb, cb);
  SSL_set_bio(server->get(), sb, sb);
  SSL_set_connect_state(client->get());
  SSL_set_accept_state(server->get());
}

}  // namespace pftls::testutil
