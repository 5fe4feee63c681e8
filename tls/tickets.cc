// tls/tickets.cc - see tls/tickets.h.
#include "tls/tickets.h"

#include <openssl/core_names.h>
#include <openssl/rand.h>

#include <cstring>
#include <mutex>

namespace pftls::tls {
namespace {

int ExIndex() {
  static int index = -1;
  static std::once_flag once;
  std::call_once(once, [] { index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr); });
  return index;
}

bool SetMac(EVP_MAC_CTX* hctx, const TicketKey& key) {
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_end(),
  };
  return EVP_MAC_init(hctx, key.hmac_key.data(), key.hmac_key.size(), params) == 1;
}

int TicketCallback(SSL* ssl, unsigned char* name, unsigned char* iv, EVP_CIPHER_CTX* cctx,
                   EVP_MAC_CTX* hctx, int enc) {
  SSL_CTX* ctx = SSL_get_SSL_CTX(ssl);
  auto* source = static_cast<TicketKeySource*>(SSL_CTX_get_ex_data(ctx, ExIndex()));
  if (!source || !source->cipher()) return 0;
  const EVP_CIPHER* cipher = source->cipher();
  time_t now = time(nullptr);
  if (enc) {
    const TicketKey* key = source->ForEncryption(now);
    if (!key) return 0;
    int ivlen = EVP_CIPHER_get_iv_length(cipher);
    if (RAND_bytes(iv, ivlen) != 1) return -1;
    std::memcpy(name, key->name.data(), kTicketNameLen);
    if (EVP_EncryptInit_ex(cctx, cipher, nullptr, key->cipher_key.data(), iv) != 1) return -1;
    return SetMac(hctx, *key) ? 1 : -1;
  }
  const TicketKey* key = source->ForDecryption(name, now);
  if (!key) return 0;
  if (EVP_DecryptInit_ex(cctx, cipher, nullptr, key->cipher_key.data(), iv) != 1) return -1;
  if (!SetMac(hctx, *key)) return -1;
  // 2 = "renew": issue a fresh ticket. TLS 1.3 clients use each ticket
  // once (RFC 8446 C.4); without a new one on a resumed handshake every
  // other connection would be a full handshake (as nginx and haproxy do).
  // TLS 1.2 clients reuse their ticket: no renewal there, as before.
  return SSL_version(ssl) >= TLS1_3_VERSION ? 2 : 1;
}

}  // namespace

bool InstallTicketKeys(SSL_CTX* ctx, const EVP_CIPHER* cipher, TicketKeySource* source) {
  if (!cipher || !source) return false;
  source->set_cipher(cipher);
  if (SSL_CTX_set_ex_data(ctx, ExIndex(), source) != 1) return false;
  return SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, TicketCallback) == 1;
}

}  // namespace pftls::tls
