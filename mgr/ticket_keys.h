/*++
 * NAME
 *	mgr/ticket_keys.h - RFC 5077 session ticket keys for tlsmgr
 * SYNOPSIS
 *	#include "mgr/ticket_keys.h"
 *
 *	TicketKeys keys(3600);				// T: sanitised smtpd timeout
 *	TicketKeys::Answer a = keys.Get("", now);	// current encryption key
 *	TicketKeys::Answer b = keys.Get(name16, now);	// key by name
 *	// a.status: 0 (a.keybuf = 88-byte record), -1 (a.keybuf = name)
 *
 *	Result<SecretBytes> m = ReadTicketMasterKey("/etc/pftls/stek.key");
 *	TicketKeys shared(3600, std::move(*m));		// derived keys
 * DESCRIPTION
 *	The tktkey service of spec §5.5. With P = floor(T/2):
 *
 *	Random keys (default): an empty-name request returns the current
 *	encryption key, a key whose tout > now. When there is none a new key
 *	is made: name[16], cipher key[32] and HMAC key[32] from RAND_bytes,
 *	tout = now + P - 1; it becomes the current key and the old current
 *	key moves to the previous slot (the older previous key is dropped).
 *	Two slots, in memory only. A request with a 16-byte name returns the
 *	slot with that name while tout + P > now; otherwise status -1 and
 *	keybuf echoes the requested name. T <= 0 (smtpd cache timeout <= 0:
 *	tickets off) answers -1 to every request; a name of another length
 *	is -2 (the ipc layer rejects it first).
 *
 *	Derived keys (pftls addition, DESIGN §5): when a master key is given
 *	(pftls_ticket_master_key_file, at least 32 bytes), keys are not
 *	random but derived per time epoch e = floor(now / P), so several
 *	tlsmgr instances that share the master key file (and NTP) issue and
 *	accept the same keys without talking to each other:
 *
 *	    okm  = HKDF-SHA256(ikm = master, salt = "pftls ticket key v1",
 *	                       info = "pftls-stek" || e as 8 bytes big-endian)
 *	    name = okm[0..16), bits = okm[16..48), hmac = okm[48..80)
 *	    tout = (e + 1) * P
 *
 *	The current key (empty name) is the key of the current epoch; it is
 *	valid for encryption while tout > now, i.e. for the rest of the
 *	epoch, like a random key. A named request is answered when the name
 *	is that of epoch e-1, e or e+1 (the last tolerates a peer whose
 *	clock runs ahead at an epoch boundary) and tout + P > now. The key
 *	is computed with EVP_KDF "HKDF" (OpenSSL 3). Compromise of the master
 *	key exposes every epoch's key: rotate it now and then, keep it
 *	root-owned and off shared disks.
 *
 *	Counters: issued (keys made or derived for a new epoch), served,
 *	not_found.
 * SECURITY
 *	Key bytes live only in SecretBytes, are never persisted and never
 *	logged; log lines name at most a key's expiry time.
 * DIAGNOSTICS
 *	Get() answers -2 when RAND_bytes or HKDF fails (with a warning).
 *	ReadTicketMasterKey() errors name the file; a group/other-readable
 *	file only gets a warning.
 * CONFIGURATION PARAMETERS
 *	smtpd_tls_session_cache_timeout (T), pftls_ticket_master_key_file.
 *--*/
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "ipc/msg_tlsmgr.h"
#include "util/result.h"
#include "util/secret.h"

namespace pftls::mgr {

// ReadTicketMasterKey - the whole file (32..4096 bytes).
Result<SecretBytes> ReadTicketMasterKey(const std::string& path);

class TicketKeys {
 public:
  struct Answer {
    int32_t status = ipc::kStatFail;
    SecretBytes keybuf;
  };
  struct Stats {
    uint64_t issued = 0;
    uint64_t served = 0;
    uint64_t not_found = 0;
  };
  static constexpr size_t kMinMasterKey = 32;
  static constexpr size_t kMaxMasterKey = 4096;

  // timeout: the sanitised smtpd_tls_session_cache_timeout T (0: off).
  explicit TicketKeys(long timeout, SecretBytes master = {});

  // Get - name empty: current key; 16 bytes: key by name.
  Answer Get(std::string_view name, int64_t now);

  long timeout() const { return timeout_; }
  bool derived() const { return !master_.empty(); }
  const Stats& stats() const { return stats_; }

 private:
  std::optional<ipc::TicketKey> MakeRandom(int64_t now);
  std::optional<ipc::TicketKey> Derive(int64_t epoch);
  Answer GetRandom(std::string_view name, int64_t now);
  Answer GetDerived(std::string_view name, int64_t now);

  long timeout_;
  SecretBytes master_;
  // slots_[0] current, slots_[1] previous.
  std::array<std::optional<ipc::TicketKey>, 2> slots_;
  int64_t last_epoch_ = INT64_MIN;  // derived mode: for the issued counter
  Stats stats_;
};

}  // namespace pftls::mgr
