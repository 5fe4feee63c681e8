// mgr/ticket_keys.cc - see mgr/ticket_keys.h.
#include "mgr/ticket_keys.h"

#include <fcntl.h>
#include <openssl/core_names.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "util/fd.h"
#include "util/handles.h"
#include "util/log.h"

namespace pftls::mgr {
namespace {

using EvpKdfPtr = CPtr<EVP_KDF, &EVP_KDF_free>;
using EvpKdfCtxPtr = CPtr<EVP_KDF_CTX, &EVP_KDF_CTX_free>;

constexpr char kSalt[] = "pftls ticket key v1";
constexpr char kInfo[] = "pftls-stek";

std::string_view NameOf(const ipc::TicketKey& k) {
  return {reinterpret_cast<const char*>(k.name.data()), k.name.size()};
}

SecretBytes EchoName(std::string_view name) {
  return SecretBytes(reinterpret_cast<const uint8_t*>(name.data()), name.size());
}

}  // namespace

Result<SecretBytes> ReadTicketMasterKey(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd) return MakeError("cannot open ticket master key file " + path + ": " + std::strerror(errno));
  struct stat st;
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode))
    return MakeError("ticket master key file " + path + " is not a regular file");
  if (st.st_mode & (S_IRWXG | S_IRWXO))
    log::Warn("ticket master key file %s is accessible by group or others; use mode 0600", path.c_str());
  if (st.st_size < static_cast<off_t>(TicketKeys::kMinMasterKey) ||
      st.st_size > static_cast<off_t>(TicketKeys::kMaxMasterKey))
    return MakeError("ticket master key file " + path + ": size must be 32..4096 bytes");
  SecretBytes key(static_cast<size_t>(st.st_size));
  size_t got = 0;
  while (got < key.size()) {
    ssize_t n = ::read(fd.get(), key.data() + got, key.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return MakeError("cannot read ticket master key file " + path);
    got += static_cast<size_t>(n);
  }
  return key;
}

TicketKeys::TicketKeys(long timeout, SecretBytes master) : timeout_(timeout > 0 ? timeout : 0), master_(std::move(master)) {}

TicketKeys::Answer TicketKeys::Get(std::string_view name, int64_t now) {
  if (!name.empty() && name.size() != ipc::kTicketKeyNameLen) {
    log::Warn("invalid session ticket key name length: %zu", name.size());
    return {ipc::kStatFail, {}};
  }
  if (timeout_ <= 0) {
    stats_.not_found++;
    return {ipc::kStatErr, EchoName(name)};
  }
  Answer a = derived() ? GetDerived(name, now) : GetRandom(name, now);
  if (a.status == ipc::kStatOk) stats_.served++;
  if (a.status == ipc::kStatErr) stats_.not_found++;
  return a;
}

std::optional<ipc::TicketKey> TicketKeys::MakeRandom(int64_t now) {
  ipc::TicketKey k;
  if (RAND_bytes(k.name.data(), static_cast<int>(k.name.size())) != 1 ||
      RAND_bytes(k.bits.data(), static_cast<int>(k.bits.size())) != 1 ||
      RAND_bytes(k.hmac.data(), static_cast<int>(k.hmac.size())) != 1) {
    log::Warn("cannot generate a session ticket key: RAND_bytes failed");
    return std::nullopt;
  }
  k.tout = now + timeout_ / 2 - 1;
  return k;
}

TicketKeys::Answer TicketKeys::GetRandom(std::string_view name, int64_t now) {
  const int64_t half = timeout_ / 2;
  if (name.empty()) {
    if (!slots_[0] || slots_[0]->tout <= now) {
      std::optional<ipc::TicketKey> k = MakeRandom(now);
      if (!k) return {ipc::kStatFail, {}};
      slots_[1] = std::move(slots_[0]);
      slots_[0] = std::move(k);
      stats_.issued++;
    }
    return {ipc::kStatOk, slots_[0]->Serialize()};
  }
  for (const std::optional<ipc::TicketKey>& k : slots_) {
    if (k && NameOf(*k) == name && k->tout + half > now) return {ipc::kStatOk, k->Serialize()};
  }
  return {ipc::kStatErr, EchoName(name)};
}

std::optional<ipc::TicketKey> TicketKeys::Derive(int64_t epoch) {
  EvpKdfPtr kdf(EVP_KDF_fetch(nullptr, "HKDF", nullptr));
  EvpKdfCtxPtr ctx(kdf ? EVP_KDF_CTX_new(kdf.get()) : nullptr);
  if (!ctx) {
    log::Warn("cannot derive a session ticket key: HKDF is not available");
    return std::nullopt;
  }
  uint8_t info[sizeof(kInfo) - 1 + 8];
  std::memcpy(info, kInfo, sizeof(kInfo) - 1);
  uint64_t e = static_cast<uint64_t>(epoch);
  for (int i = 0; i < 8; i++) info[sizeof(kInfo) - 1 + i] = static_cast<uint8_t>(e >> (56 - 8 * i));
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, master_.data(), master_.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, const_cast<char*>(kSalt), sizeof(kSalt) - 1),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info, sizeof(info)),
      OSSL_PARAM_construct_end(),
  };
  SecretBytes okm(ipc::kTicketKeyNameLen + ipc::kTicketCipherKeyLen + ipc::kTicketHmacKeyLen);
  if (EVP_KDF_derive(ctx.get(), okm.data(), okm.size(), params) != 1) {
    log::Warn("cannot derive a session ticket key: HKDF failed");
    return std::nullopt;
  }
  ipc::TicketKey k;
  std::memcpy(k.name.data(), okm.data(), ipc::kTicketKeyNameLen);
  std::memcpy(k.bits.data(), okm.data() + ipc::kTicketKeyNameLen, ipc::kTicketCipherKeyLen);
  std::memcpy(k.hmac.data(), okm.data() + ipc::kTicketKeyNameLen + ipc::kTicketCipherKeyLen, ipc::kTicketHmacKeyLen);
  k.tout = (epoch + 1) * (timeout_ / 2);
  return k;
}

TicketKeys::Answer TicketKeys::GetDerived(std::string_view name, int64_t now) {
  const int64_t half = timeout_ / 2;  // >= 60: T is at least 120
  const int64_t epoch = now / half;
  if (name.empty()) {
    std::optional<ipc::TicketKey> k = Derive(epoch);
    if (!k) return {ipc::kStatFail, {}};
    if (epoch != last_epoch_) {
      last_epoch_ = epoch;
      stats_.issued++;
    }
    return {ipc::kStatOk, k->Serialize()};
  }
  for (int64_t e : {epoch, epoch - 1, epoch + 1}) {
    std::optional<ipc::TicketKey> k = Derive(e);
    if (!k) return {ipc::kStatFail, {}};
    if (NameOf(*k) == name && k->tout + half > now) return {ipc::kStatOk, k->Serialize()};
  }
  return {ipc::kStatErr, EchoName(name)};
}

}  // namespace pftls::mgr
