/*++
 * NAME
 *	util/secret.h - byte buffer for secrets, cleansed on destruction
 * SYNOPSIS
 *	#include "util/secret.h"
 *
 *	SecretBytes key(32);
 *	RAND_bytes(key.data(), key.size());
 *	SecretBytes copy = key.Clone();
 * DESCRIPTION
 *	SecretBytes owns a fixed-size heap buffer for key material, ticket
 *	keys, seeds and session blobs. The buffer is wiped with
 *	OPENSSL_cleanse() when the object is destroyed, reset or moved from.
 *	It is move-only; Clone() makes an explicit copy.
 * SECURITY
 *	There is deliberately no conversion to std::string, no stream
 *	operator and no formatter: secret bytes cannot reach a log line by
 *	accident. Equal() compares in constant time (CRYPTO_memcmp).
 * DIAGNOSTICS
 *	None.
 * CONFIGURATION PARAMETERS
 *	None.
 *--*/
#pragma once

#include <openssl/crypto.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>

namespace pftls {

class SecretBytes {
 public:
  SecretBytes() = default;
  explicit SecretBytes(size_t n) : buf_(n ? std::make_unique<uint8_t[]>(n) : nullptr), size_(n) {}
  SecretBytes(const uint8_t* p, size_t n) : SecretBytes(n) {
    if (n) std::memcpy(buf_.get(), p, n);
  }
  ~SecretBytes() { Wipe(); }
  SecretBytes(SecretBytes&& o) noexcept : buf_(std::move(o.buf_)), size_(o.size_) { o.size_ = 0; }
  SecretBytes& operator=(SecretBytes&& o) noexcept {
    if (this != &o) {
      Wipe();
      buf_ = std::move(o.buf_);
      size_ = o.size_;
      o.size_ = 0;
    }
    return *this;
  }
  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;

  SecretBytes Clone() const { return SecretBytes(buf_.get(), size_); }
  uint8_t* data() { return buf_.get(); }
  const uint8_t* data() const { return buf_.get(); }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  std::span<const uint8_t> span() const { return {buf_.get(), size_}; }
  bool Equal(const SecretBytes& o) const {
    return size_ == o.size_ && (size_ == 0 || CRYPTO_memcmp(buf_.get(), o.buf_.get(), size_) == 0);
  }
  void reset() {
    Wipe();
    buf_.reset();
    size_ = 0;
  }

 private:
  void Wipe() {
    if (buf_ && size_) OPENSSL_cleanse(buf_.get(), size_);
  }
  std::unique_ptr<uint8_t[]> buf_;
  size_t size_ = 0;
};

}  // namespace pftls
