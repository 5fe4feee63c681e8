// proxy/relay_buffer.h - a bounded FIFO byte buffer whose storage exists
// only while it holds data (idle sessions cost no buffer memory).
//
// RelayBuffer(cap): at most cap bytes. WriteSpace() returns where to put up
// to room() bytes (allocating on first use, compacting as needed);
// Commit(n) makes them readable. Data()/size() expose the readable bytes;
// Consume(n) drops a prefix and frees the storage once empty.
#pragma once

#include <cstddef>
#include <cstring>
#include <memory>

namespace pftls::proxy {

class RelayBuffer {
 public:
  explicit RelayBuffer(size_t cap) : cap_(cap) {}

  size_t size() const { return end_ - begin_; }
  size_t room() const { return cap_ - size(); }
  bool empty() const { return size() == 0; }
  bool full() const { return room() == 0; }
  size_t capacity() const { return cap_; }
  bool allocated() const { return static_cast<bool>(mem_); }

  const char* Data() const { return mem_.get() + begin_; }

  // WriteSpace - room() writable bytes at the returned pointer.
  char* WriteSpace() {
    if (!mem_) mem_ = std::make_unique<char[]>(cap_);
    if (begin_ > 0) {  // keep all room contiguous
      std::memmove(mem_.get(), mem_.get() + begin_, size());
      end_ -= begin_;
      begin_ = 0;
    }
    return mem_.get() + end_;
  }
  void Commit(size_t n) { end_ += n; }
  // Append - copy bytes in; returns false (nothing copied) when they do not fit.
  bool Append(const char* p, size_t n) {
    if (n > room()) return false;
    std::memcpy(WriteSpace(), p, n);
    Commit(n);
    return true;
  }
  // Trim - release the storage when nothing is buffered.
  void Trim() {
    if (empty()) {
      begin_ = end_ = 0;
      mem_.reset();
    }
  }
  void Clear() {
    begin_ = end_ = 0;
    mem_.reset();
  }
  void Consume(size_t n) {
    begin_ += n;
    if (begin_ == end_) {
      begin_ = end_ = 0;
      mem_.reset();
    }
  }

 private:
  std::unique_ptr<char[]> mem_;
  size_t cap_;
  size_t begin_ = 0, end_ = 0;
};

}  // namespace pftls::proxy
