/*++
 * NAME
 *	proxy/ticket_cache.h - tlsproxy's two-slot copy of tlsmgr's ticket keys
 * SYNOPSIS
 *	#include "proxy/ticket_cache.h"
 *
 *	TicketKeyCache cache(timeout_seconds);
 *	cache.set_on_miss([] { fetch the current key from tlsmgr });
 *	cache.Insert(std::move(key));			// a tktkey reply
 *	tls::InstallTicketKeys(ctx, cipher, &cache);
 * DESCRIPTION
 *	Spec §5.5: each server process keeps the two most recent keys it has
 *	seen. A key encrypts new tickets while its tout lies in the future,
 *	and decrypts tickets while tout + T lies in the future (T = the
 *	session cache timeout, i.e. half the SSL_CTX timeout), so tickets
 *	stay usable for T after their key stopped encrypting.
 *
 *	ForEncryption() never waits: with no valid key it returns nullptr
 *	(this handshake issues no ticket) and calls on_miss once, so the
 *	owner can fetch the current key from tlsmgr asynchronously.
 *	Knows(name) tells whether a ticket's key name is present and still
 *	valid for decryption, so the ClientHello hook can fetch an unknown
 *	key by name before OpenSSL asks for it.
 * SECURITY
 *	Keys live in SecretBytes; nothing here logs key bytes.
 * DIAGNOSTICS
 *	None.
 * CONFIGURATION PARAMETERS
 *	smtpd_tls_session_cache_timeout (T).
 *--*/
#pragma once

#include <array>
#include <functional>
#include <optional>

#include "tls/tickets.h"

namespace pftls::proxy {

class TicketKeyCache : public tls::TicketKeySource {
 public:
  explicit TicketKeyCache(long timeout) : timeout_(timeout) {}

  // Insert - add a key; a key with a known name replaces that slot,
  // otherwise the older of the two slots is dropped.
  void Insert(tls::TicketKey key);
  const tls::TicketKey* ForEncryption(time_t now) override;
  const tls::TicketKey* ForDecryption(const uint8_t* name, time_t now) override;
  bool Knows(const uint8_t* name, time_t now) const;
  // HasCurrent - a key that still encrypts (no fetch on a miss).
  bool HasCurrent(time_t now) const;
  // NextRefresh - when the current encryption key expires (0: none).
  time_t NextRefresh() const;
  void set_on_miss(std::function<void()> fn) { on_miss_ = std::move(fn); }
  size_t size() const { return (slots_[0] ? 1 : 0) + (slots_[1] ? 1 : 0); }

 private:
  const tls::TicketKey* Find(const uint8_t* name, time_t now) const;
  long timeout_;
  std::array<std::optional<tls::TicketKey>, 2> slots_;  // [0] newest
  std::function<void()> on_miss_;
};

}  // namespace pftls::proxy
