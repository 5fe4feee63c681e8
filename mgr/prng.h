/*++
 * NAME
 *	mgr/prng.h - tlsmgr entropy source, reseeding and PRNG exchange file
 * SYNOPSIS
 *	#include "mgr/prng.h"
 *
 *	PrngOptions o{"dev:/dev/urandom", 32, "/var/lib/postfix/prng_exch", 3600, 3600};
 *	std::unique_ptr<Prng> p = Prng::Open(o);	// before the jail, as mail_owner
 *	p->Start();					// after the jail: seed, exchange
 *	p->Arm(base);					// reseed/update timers
 *	...
 *	p->Shutdown();					// at exit: exchange file update
 * DESCRIPTION
 *	The PRNG side of tlsmgr (spec §5.6). OpenSSL 3 seeds its own DRBG
 *	from the kernel; tlsmgr adds tls_random_source and the exchange
 *	file on top, as Postfix does.
 *
 *	Entropy source (tls_random_source), opened by Open():
 *	"dev:PATH" - a device kept open; each reseed reads
 *	min(tls_random_bytes, 255) bytes (10 s deadline) into RAND_add().
 *	"egd:PATH" - an EGD socket kept connected; each reseed sends the
 *	bytes 0x01, n (n <= 255), reads the count byte and then that many
 *	bytes (at most n), all within 10 s.
 *	anything else - a plain file: tls_random_bytes bytes are read once at
 *	Start(), then the file is closed and forgotten.
 *	empty - warnings "no entropy source specified with parameter
 *	tls_random_source" and "encryption keys etc. may be predictable".
 *	Reads happen only in Start()/Reseed(), i.e. after the jail.
 *
 *	Exchange file (tls_random_exchange_name): opened by Open() with
 *	O_RDWR|O_CREAT, mode 0600 (the caller runs it as mail_owner); Open()
 *	also keeps a descriptor of the directory so the file can be reopened
 *	from inside a chroot. Update(): flock(LOCK_EX|LOCK_NB), read up to
 *	1024 bytes and RAND_seed() them, RAND_bytes() 1024 fresh bytes, write
 *	them at offset 0, unlock. Run at Start(), at random intervals and at
 *	Shutdown().
 *
 *	Differences from Postfix: an exchange-file error (missing directory,
 *	read-only file or file system, full disk, a lock held by someone
 *	else, the file unlinked under us) is a warning, never fatal: the
 *	descriptor is dropped and the file reopened lazily at the next
 *	update (an unlinked file is reopened at once). A failing entropy
 *	source is likewise a warning (OpenSSL's own seeding continues);
 *	it is reopened at the next reseed when possible.
 *
 *	Timers: RandomDelay(period) = period * r / 255 with r one random
 *	byte and period capped at INT_MAX / 255. Arm(base) schedules the
 *	reseed timer (tls_random_reseed_period) and the exchange timer
 *	(tls_random_prng_update_period) on the caller's libevent base; each
 *	re-arms itself with a new random delay. Callers that drive their
 *	own timers use NextReseedDelay()/NextUpdateDelay() with Reseed()
 *	and Update() instead.
 *
 *	MixTime() stirs the time of day into the pool (call once per
 *	event-loop pass, as Postfix does).
 *
 *	Public API:
 *	Open(options) - never fails; problems are warnings.
 *	Start(), Reseed(), Update(), Shutdown(), MixTime().
 *	Arm(base) - Status; Disarm().
 *	NextReseedDelay(), NextUpdateDelay(), RandomDelay(period).
 *	stats() - reseeds, reseed_failures, updates, update_failures.
 * SECURITY
 *	Random bytes are never logged. Source reads are bounded (<= 255 bytes
 *	per read, 10 s per I/O); an EGD reply count larger than requested is
 *	rejected. The exchange file is opened with O_NOFOLLOW.
 * DIAGNOSTICS
 *	Warnings only; see above.
 * CONFIGURATION PARAMETERS
 *	tls_random_source, tls_random_bytes, tls_random_exchange_name,
 *	tls_random_reseed_period, tls_random_prng_update_period.
 *--*/
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "util/fd.h"
#include "util/handles.h"
#include "util/result.h"

namespace pftls::mgr {

struct PrngOptions {
  std::string source;            // tls_random_source
  int random_bytes = 32;         // tls_random_bytes
  std::string exchange;          // tls_random_exchange_name ("" = none)
  long reseed_period = 3600;     // tls_random_reseed_period
  long update_period = 3600;     // tls_random_prng_update_period
  int io_timeout_ms = 10000;     // per source I/O
};

struct PrngStats {
  uint64_t reseeds = 0;
  uint64_t reseed_failures = 0;
  uint64_t updates = 0;
  uint64_t update_failures = 0;
};

class Prng {
 public:
  static constexpr size_t kExchangeSize = 1024;
  static constexpr int kMaxSourceRead = 255;

  static std::unique_ptr<Prng> Open(PrngOptions options);
  ~Prng();
  Prng(const Prng&) = delete;
  Prng& operator=(const Prng&) = delete;

  void Start();
  // Reseed - read from the source into the pool; false on failure.
  bool Reseed();
  // Update - the exchange file read-mix-write; false on failure (warned).
  bool Update();
  void Shutdown();
  void MixTime();

  Status Arm(event_base* base);
  void Disarm();

  static long RandomDelay(long period);
  long NextReseedDelay() const { return RandomDelay(opts_.reseed_period); }
  long NextUpdateDelay() const { return RandomDelay(opts_.update_period); }

  const PrngStats& stats() const { return stats_; }
  bool exchange_open() const { return xfd_.valid(); }

 private:
  enum class Kind { kNone, kDev, kEgd, kFile };
  explicit Prng(PrngOptions options) : opts_(std::move(options)) {}
  void OpenSource();
  void OpenExchange();
  bool ReadSource(uint8_t* buf, size_t n, size_t* got);
  bool ReadEgd(uint8_t* buf, size_t n, size_t* got);
  void DropExchange(const char* why, int err);
  static void ReseedCb(evutil_socket_t, short, void* arg);
  static void UpdateCb(evutil_socket_t, short, void* arg);

  PrngOptions opts_;
  Kind kind_ = Kind::kNone;
  std::string source_path_;
  UniqueFd src_;
  UniqueFd xdir_;  // directory of the exchange file (O_PATH)
  std::string xbase_;
  UniqueFd xfd_;
  EventPtr reseed_ev_;
  EventPtr update_ev_;
  PrngStats stats_;
};

}  // namespace pftls::mgr
