// proxy/ticket_cache.cc - see proxy/ticket_cache.h.
#include "proxy/ticket_cache.h"

#include <cstring>

namespace pftls::proxy {

void TicketKeyCache::Insert(tls::TicketKey key) {
  for (auto& slot : slots_) {
    if (slot && slot->name == key.name) {
      slot = std::move(key);
      return;
    }
  }
  // Keep the slots ordered newest first by tout.
  if (slots_[0] && slots_[0]->tout > key.tout) {
    slots_[1] = std::move(key);
  } else {
    slots_[1] = std::move(slots_[0]);
    slots_[0] = std::move(key);
  }
}

const tls::TicketKey* TicketKeyCache::ForEncryption(time_t now) {
  for (auto& slot : slots_)
    if (slot && slot->tout > now) return &*slot;
  if (on_miss_) on_miss_();
  return nullptr;
}

const tls::TicketKey* TicketKeyCache::Find(const uint8_t* name, time_t now) const {
  for (const auto& slot : slots_)
    if (slot && std::memcmp(slot->name.data(), name, tls::kTicketNameLen) == 0 && slot->tout + timeout_ > now)
      return &*slot;
  return nullptr;
}

const tls::TicketKey* TicketKeyCache::ForDecryption(const uint8_t* name, time_t now) { return Find(name, now); }

bool TicketKeyCache::HasCurrent(time_t now) const {
  for (const auto& slot : slots_)
    if (slot && slot->tout > now) return true;
  return false;
}

bool TicketKeyCache::Knows(const uint8_t* name, time_t now) const { return Find(name, now) != nullptr; }

time_t TicketKeyCache::NextRefresh() const { return slots_[0] ? slots_[0]->tout : 0; }

}  // namespace pftls::proxy
