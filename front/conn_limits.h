// front/conn_limits.h - connection caps for the front ends: a total limit
// and a per-client-address limit (0 = unlimited). Admit() counts a new
// connection or says why not; Release() uncounts it.
#pragma once

#include <map>
#include <string>

namespace pftls::front {

class ConnLimits {
 public:
  ConnLimits(int total, int per_client) : total_(total), per_client_(per_client) {}

  // Admit - nullptr when admitted, else the reason for the log.
  const char* Admit(const std::string& addr) {
    if (total_ > 0 && count_ >= total_) return "too many connections";
    int& n = by_addr_[addr];
    if (per_client_ > 0 && n >= per_client_) return "too many connections from this client";
    ++n;
    ++count_;
    return nullptr;
  }
  void Release(const std::string& addr) {
    auto it = by_addr_.find(addr);
    if (it == by_addr_.end()) return;
    if (--it->second <= 0) by_addr_.erase(it);
    --count_;
  }
  int count() const { return count_; }

 private:
  int total_, per_client_;
  int count_ = 0;
  std::map<std::string, int> by_addr_;
};

}  // namespace pftls::front
