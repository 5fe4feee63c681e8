// sandbox/policy.h - the shape of one per-role seccomp table (R11): one
// SyscallRule per line, each with a reason. Tables: sandbox/policy_*.cc.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "sandbox/sandbox.h"

namespace pftls::sandbox {

enum class Act { kAllow, kErrno };
// How the optional argument condition compares: arg & mask == value.
struct ArgCond {
  int index = -1;  // -1: no condition
  uint64_t mask = 0;
  uint64_t value = 0;
};

struct SyscallRule {
  const char* name;
  Act act;
  int err;  // for kErrno
  ArgCond cond;
  const char* reason;
};

constexpr SyscallRule Allow(const char* n, const char* why) { return {n, Act::kAllow, 0, {}, why}; }
constexpr SyscallRule AllowIf(const char* n, int i, uint64_t mask, uint64_t val, const char* why) {
  return {n, Act::kAllow, 0, {i, mask, val}, why};
}
constexpr SyscallRule Deny(const char* n, int e, const char* why) { return {n, Act::kErrno, e, {}, why}; }
constexpr SyscallRule DenyIf(const char* n, int e, int i, uint64_t mask, uint64_t val, const char* why) {
  return {n, Act::kErrno, e, {i, mask, val}, why};
}

// The tables: the base every role shares, then each role's additions.
std::span<const SyscallRule> BasePolicy();
std::span<const SyscallRule> RolePolicy(Role role);

}  // namespace pftls::sandbox
