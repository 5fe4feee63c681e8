/*++
 * NAME
 *	tls/tickets.h - RFC 5077 session tickets with tlsmgr-style keys
 * SYNOPSIS
 *	#include "tls/tickets.h"
 *
 *	class MyKeys : public TicketKeySource { ... };
 *	InstallTicketKeys(ctx, EVP_aes_256_cbc(), &my_keys);
 * DESCRIPTION
 *	A TicketKey is Postfix's ticket key record (spec §5.5): a 16-byte
 *	name, a 32-byte cipher key, a 32-byte HMAC-SHA256 key and an
 *	expiry `tout`. A TicketKeySource (in tlsproxy: a two-slot cache
 *	filled from tlsmgr's `tktkey` replies) supplies the key to encrypt
 *	new tickets with and looks keys up by name to decrypt.
 *
 *	InstallTicketKeys() registers the OpenSSL ticket callback on ctx:
 *	encryption uses ForEncryption() with a fresh random 16-byte IV per
 *	ticket; decryption uses ForDecryption(name). No key means "no
 *	ticket" when encrypting and "full handshake" when decrypting: never
 *	a handshake failure.
 * SECURITY
 *	Key bytes live in SecretBytes and are never logged. The source must
 *	outlive ctx.
 * DIAGNOSTICS
 *	None; failures fall back to full handshakes.
 * CONFIGURATION PARAMETERS
 *	tls_session_ticket_cipher (the EVP_CIPHER passed in).
 *--*/
#pragma once

#include <openssl/ssl.h>

#include <array>
#include <cstdint>
#include <ctime>

#include "util/secret.h"

namespace pftls::tls {

inline constexpr size_t kTicketNameLen = 16;
inline constexpr size_t kTicketCipherKeyLen = 32;
inline constexpr size_t kTicketHmacKeyLen = 32;

struct TicketKey {
  std::array<uint8_t, kTicketNameLen> name{};
  SecretBytes cipher_key{kTicketCipherKeyLen};
  SecretBytes hmac_key{kTicketHmacKeyLen};
  time_t tout = 0;
};

class TicketKeySource {
 public:
  virtual ~TicketKeySource() = default;
  // ForEncryption - the current key, or nullptr (then no ticket is issued).
  virtual const TicketKey* ForEncryption(time_t now) = 0;
  // ForDecryption - the key with this name, or nullptr (full handshake).
  virtual const TicketKey* ForDecryption(const uint8_t* name, time_t now) = 0;

  const EVP_CIPHER* cipher() const { return cipher_; }
  void set_cipher(const EVP_CIPHER* c) { cipher_ = c; }

 private:
  const EVP_CIPHER* cipher_ = nullptr;
};

// InstallTicketKeys - use source's keys for tickets on ctx; false on error.
bool InstallTicketKeys(SSL_CTX* ctx, const EVP_CIPHER* cipher, TicketKeySource* source);

}  // namespace pftls::tls
