/*++
 * NAME
 *	ipc/msg_tlsmgr.h - tlsmgr requests and replies
 * SYNOPSIS
 *	#include "ipc/msg_tlsmgr.h"
 *
 *	Result<std::string> req = SeedRequest{32}.Encode();
 *	Result<TlsmgrRequest> any = DecodeTlsmgrRequest(record);
 *	Result<SeedReply> rep = SeedReply::Decode(record);
 *	Result<TicketKey> key = TicketKey::Parse(rep->keybuf.span());
 * DESCRIPTION
 *	The tlsmgr protocol (spec §5): after the announcement
 *	"protocol=tlsmgr_protocol" the client sends one request record at a
 *	time and waits for its reply. Every request starts with "request";
 *	the server reads that attribute first and then the rest strictly per
 *	request type. Attributes, in wire order:
 *
 *	    request=seed    size(INT 1..255)
 *	        reply:      status(INT) seed(DATA)
 *	    request=policy  cache_type(STR)
 *	        reply:      status(INT) cachable(INT 0/1) timeout(INT)
 *	    request=lookup  cache_type(STR) cache_id(STR)
 *	        reply:      status(INT) session(DATA)
 *	    request=update  cache_type(STR) cache_id(STR) session(DATA)
 *	        reply:      status(INT)
 *	    request=delete  cache_type(STR) cache_id(STR)
 *	        reply:      status(INT)
 *	    request=tktkey  keyname(DATA, empty or 16 bytes)
 *	        reply:      status(INT) keybuf(DATA: 88-byte key record)
 *
 *	status is 0 (kStatOk), -1 (kStatErr: not found / not done) or -2
 *	(kStatFail: could not complete), sent as the unsigned image
 *	(4294967295, 4294967294). Each reply has Fail(), the reply a server
 *	sends for a request it cannot serve (status -2, empty values).
 *
 *	TicketKey is the native ticket key record: name[16] at 0, cipher key
 *	bits[32] at 16, HMAC key hmac[32] at 48, tout (time_t, host byte
 *	order) at 80; 88 bytes on LP64. It is encoded field by field.
 *
 *	Validate() holds the semantic limits (spec §5.2, DESIGN §3.2): seed
 *	size 1..255, cache_type smtpd/smtp/lmtp, cache id 1..kMaxCacheIdLen,
 *	session 1..kMaxSessionLen, key name empty or 16 bytes; for replies,
 *	status in {0,-1,-2} and an 88-byte keybuf with status 0.
 * SECURITY
 *	Seeds, sessions and ticket keys are SecretBytes and never logged.
 *	tlsmgr treats sessions and cache ids as opaque.
 * DIAGNOSTICS
 *	Decode/Validate errors name the request and the attribute.
 * CONFIGURATION PARAMETERS
 *	None (tlsmgr_service_name is the caller's business).
 *--*/
#pragma once

#include <ctime>
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "ipc/attr0.h"
#include "util/secret.h"

namespace pftls::ipc {

inline constexpr int32_t kStatOk = 0;
inline constexpr int32_t kStatErr = -1;
inline constexpr int32_t kStatFail = -2;

inline constexpr uint32_t kSeedMin = 1;
inline constexpr uint32_t kSeedMax = 255;
inline constexpr size_t kTicketKeyNameLen = 16;
inline constexpr size_t kTicketCipherKeyLen = 32;
inline constexpr size_t kTicketHmacKeyLen = 32;
inline constexpr size_t kTicketKeyRecordSize = 88;
inline constexpr size_t kMaxCacheIdLen = 1024;
inline constexpr size_t kMaxSessionLen = 32 * 1024;

// ValidateCacheType - one of smtpd, smtp, lmtp.
Status ValidateCacheType(std::string_view type);

struct SeedReply {
  int32_t status = kStatOk;
  SecretBytes seed;
  static SeedReply Fail() { return {kStatFail, {}}; }
  Result<std::string> Encode() const;
  static Result<SeedReply> Decode(const Record& rec);
  Status Validate() const;
};

struct SeedRequest {
  static constexpr std::string_view kName = "seed";
  using Reply = SeedReply;
  uint32_t size = 0;
  Result<std::string> Encode() const;
  static Result<SeedRequest> DecodeBody(Reader& r);
  Status Validate() const;
};

struct PolicyReply {
  int32_t status = kStatOk;
  uint32_t cachable = 0;
  uint32_t timeout = 0;
  static PolicyReply Fail() { return {kStatFail, 0, 0}; }
  Result<std::string> Encode() const;
  static Result<PolicyReply> Decode(const Record& rec);
  Status Validate() const;
};

struct PolicyRequest {
  static constexpr std::string_view kName = "policy";
  using Reply = PolicyReply;
  std::string cache_type;
  Result<std::string> Encode() const;
  static Result<PolicyRequest> DecodeBody(Reader& r);
  Status Validate() const;
};

struct LookupReply {
  int32_t status = kStatOk;
  SecretBytes session;
  static LookupReply Fail() { return {kStatFail, {}}; }
  Result<std::string> Encode() const;
  static Result<LookupReply> Decode(const Record& rec);
  Status Validate() const;
};

struct LookupRequest {
  static constexpr std::string_view kName = "lookup";
  using Reply = LookupReply;
  std::string cache_type;
  std::string cache_id;
  Result<std::string> Encode() const;
  static Result<LookupRequest> DecodeBody(Reader& r);
  Status Validate() const;
};

// StatusReply - the reply of update and delete: status only.
struct StatusReply {
  int32_t status = kStatOk;
  static StatusReply Fail() { return {kStatFail}; }
  Result<std::string> Encode() const;
  static Result<StatusReply> Decode(const Record& rec);
  Status Validate() const;
};

struct UpdateRequest {
  static constexpr std::string_view kName = "update";
  using Reply = StatusReply;
  std::string cache_type;
  std::string cache_id;
  SecretBytes session;
  Result<std::string> Encode() const;
  static Result<UpdateRequest> DecodeBody(Reader& r);
  Status Validate() const;
};

struct DeleteRequest {
  static constexpr std::string_view kName = "delete";
  using Reply = StatusReply;
  std::string cache_type;
  std::string cache_id;
  Result<std::string> Encode() const;
  static Result<DeleteRequest> DecodeBody(Reader& r);
  Status Validate() const;
};

struct TktkeyReply {
  int32_t status = kStatOk;
  SecretBytes keybuf;  // status 0: a TicketKey record; -1: the requested name
  static TktkeyReply Fail() { return {kStatFail, {}}; }
  Result<std::string> Encode() const;
  static Result<TktkeyReply> Decode(const Record& rec);
  Status Validate() const;
};

struct TktkeyRequest {
  static constexpr std::string_view kName = "tktkey";
  using Reply = TktkeyReply;
  std::string keyname;  // raw bytes: empty (current key) or 16 bytes
  Result<std::string> Encode() const;
  static Result<TktkeyRequest> DecodeBody(Reader& r);
  Status Validate() const;
};

// TicketKey - the 88-byte native ticket key record (spec §5.5).
struct TicketKey {
  static constexpr size_t kNameOffset = 0;
  static constexpr size_t kBitsOffset = kNameOffset + kTicketKeyNameLen;
  static constexpr size_t kHmacOffset = kBitsOffset + kTicketCipherKeyLen;
  static constexpr size_t kToutOffset = 80;  // hmac ends at 80: 8-aligned already
  static_assert(kHmacOffset + kTicketHmacKeyLen == kToutOffset);
  static_assert(sizeof(time_t) == 8, "the native record layout assumes LP64 time_t");
  static_assert(kToutOffset + sizeof(time_t) == kTicketKeyRecordSize);

  std::array<uint8_t, kTicketKeyNameLen> name{};
  SecretBytes bits{kTicketCipherKeyLen};
  SecretBytes hmac{kTicketHmacKeyLen};
  int64_t tout = 0;

  // Serialize - the 88-byte record (native time_t byte order).
  SecretBytes Serialize() const;
  // Parse - exactly kTicketKeyRecordSize bytes.
  static Result<TicketKey> Parse(std::span<const uint8_t> rec);
};

// The six requests a tlsmgr server accepts.
using TlsmgrRequest =
    std::variant<SeedRequest, PolicyRequest, LookupRequest, UpdateRequest, DeleteRequest, TktkeyRequest>;

// TlsmgrRequestName - the value of the leading "request" attribute.
Result<std::string> TlsmgrRequestName(const Record& rec);
// DecodeTlsmgrRequest - "request" first, then strictly per request type.
Result<TlsmgrRequest> DecodeTlsmgrRequest(const Record& rec);
// DecodeAs - decode a record that must be request type T.
template <class T>
Result<T> DecodeAs(const Record& rec) {
  Reader r(rec, Reader::kStrict);
  if (Status s = r.Expect("request", T::kName); !s)
    return MakeError(std::string(T::kName) + " request: " + s.error());
  Result<T> v = T::DecodeBody(r);
  if (!v) return v;
  if (Status s = r.End(); !s) return MakeError(std::string(T::kName) + " request: " + s.error());
  return v;
}

}  // namespace pftls::ipc
