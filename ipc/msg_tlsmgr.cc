// ipc/msg_tlsmgr.cc - see ipc/msg_tlsmgr.h.
#include "ipc/msg_tlsmgr.h"

#include <cstring>

namespace pftls::ipc {
namespace {

std::span<const uint8_t> Bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

Error Tag(std::string_view what, const std::string& why) { return MakeError(std::string(what) + ": " + why); }

// ReplyStatus - the leading status of every reply.
Status CheckStatus(int32_t status) {
  if (status != kStatOk && status != kStatErr && status != kStatFail)
    return MakeError("bad status " + std::to_string(status));
  return Status::Ok();
}

Status CheckCacheId(const std::string& id) {
  if (id.empty()) return MakeError("empty cache_id");
  if (id.size() > kMaxCacheIdLen) return MakeError("cache_id longer than " + std::to_string(kMaxCacheIdLen));
  return Status::Ok();
}

// ReadCacheKey - cache_type and cache_id, in that order.
Status ReadCacheKey(Reader& r, std::string& type, std::string& id) {
  Result<std::string> t = r.Str("cache_type");
  if (!t) return std::move(t).take_error();
  Result<std::string> i = r.Str("cache_id");
  if (!i) return std::move(i).take_error();
  type = std::move(*t);
  id = std::move(*i);
  return Status::Ok();
}

// ReadStatusFirst - a strict reader positioned after "status".
Result<int32_t> ReadStatus(Reader& r) { return r.IntSigned("status"); }

}  // namespace

Status ValidateCacheType(std::string_view type) {
  if (type == "smtpd" || type == "smtp" || type == "lmtp") return Status::Ok();
  return MakeError("unknown cache type \"" + std::string(type.substr(0, kMaxNameLen)) + "\"");
}

// ---- seed

Result<std::string> SeedRequest::Encode() const { return Writer().Str("request", kName).Int("size", size).Finish(); }

Result<SeedRequest> SeedRequest::DecodeBody(Reader& r) {
  Result<uint32_t> n = r.Int("size");
  if (!n) return Tag("seed request", n.error());
  return SeedRequest{*n};
}

Status SeedRequest::Validate() const {
  if (size < kSeedMin || size > kSeedMax) return MakeError("bogus seed length \"" + std::to_string(size) + "\"");
  return Status::Ok();
}

Result<std::string> SeedReply::Encode() const {
  return Writer().IntSigned("status", status).Data("seed", seed.span()).Finish();
}

Result<SeedReply> SeedReply::Decode(const Record& rec) {
  Reader r(rec, Reader::kStrict);
  Result<int32_t> st = ReadStatus(r);
  if (!st) return Tag("seed reply", st.error());
  Result<SecretBytes> seed = r.Data("seed");
  if (!seed) return Tag("seed reply", seed.error());
  if (Status s = r.End(); !s) return Tag("seed reply", s.error());
  return SeedReply{*st, std::move(*seed)};
}

Status SeedReply::Validate() const {
  if (Status s = CheckStatus(status); !s) return s;
  if (status == kStatOk && (seed.size() < kSeedMin || seed.size() > kSeedMax))
    return MakeError("seed reply with " + std::to_string(seed.size()) + " bytes");
  return Status::Ok();
}

// ---- policy

Result<std::string> PolicyRequest::Encode() const {
  return Writer().Str("request", kName).Str("cache_type", cache_type).Finish();
}

Result<PolicyRequest> PolicyRequest::DecodeBody(Reader& r) {
  Result<std::string> t = r.Str("cache_type");
  if (!t) return Tag("policy request", t.error());
  return PolicyRequest{std::move(*t)};
}

Status PolicyRequest::Validate() const { return ValidateCacheType(cache_type); }

Result<std::string> PolicyReply::Encode() const {
  return Writer().IntSigned("status", status).Int("cachable", cachable).Int("timeout", timeout).Finish();
}

Result<PolicyReply> PolicyReply::Decode(const Record& rec) {
  Reader r(rec, Reader::kStrict);
  Result<int32_t> st = ReadStatus(r);
  if (!st) return Tag("policy reply", st.error());
  Result<uint32_t> c = r.Int("cachable");
  if (!c) return Tag("policy reply", c.error());
  Result<uint32_t> t = r.Int("timeout");
  if (!t) return Tag("policy reply", t.error());
  if (Status s = r.End(); !s) return Tag("policy reply", s.error());
  return PolicyReply{*st, *c, *t};
}

Status PolicyReply::Validate() const {
  if (Status s = CheckStatus(status); !s) return s;
  if (cachable > 1) return MakeError("policy reply: cachable is not 0 or 1");
  return Status::Ok();
}

// ---- lookup

Result<std::string> LookupRequest::Encode() const {
  return Writer().Str("request", kName).Str("cache_type", cache_type).Str("cache_id", cache_id).Finish();
}

Result<LookupRequest> LookupRequest::DecodeBody(Reader& r) {
  LookupRequest out;
  if (Status s = ReadCacheKey(r, out.cache_type, out.cache_id); !s) return Tag("lookup request", s.error());
  return out;
}

Status LookupRequest::Validate() const {
  if (Status s = ValidateCacheType(cache_type); !s) return s;
  return CheckCacheId(cache_id);
}

Result<std::string> LookupReply::Encode() const {
  return Writer().IntSigned("status", status).Data("session", session.span()).Finish();
}

Result<LookupReply> LookupReply::Decode(const Record& rec) {
  Reader r(rec, Reader::kStrict);
  Result<int32_t> st = ReadStatus(r);
  if (!st) return Tag("lookup reply", st.error());
  Result<SecretBytes> sess = r.Data("session");
  if (!sess) return Tag("lookup reply", sess.error());
  if (Status s = r.End(); !s) return Tag("lookup reply", s.error());
  return LookupReply{*st, std::move(*sess)};
}

Status LookupReply::Validate() const {
  if (Status s = CheckStatus(status); !s) return s;
  if (session.size() > kMaxSessionLen) return MakeError("lookup reply: session too large");
  if (status == kStatOk && session.empty()) return MakeError("lookup reply: empty session with status 0");
  return Status::Ok();
}

// ---- update / delete

Result<std::string> StatusReply::Encode() const { return Writer().IntSigned("status", status).Finish(); }

Result<StatusReply> StatusReply::Decode(const Record& rec) {
  Reader r(rec, Reader::kStrict);
  Result<int32_t> st = ReadStatus(r);
  if (!st) return Tag("status reply", st.error());
  if (Status s = r.End(); !s) return Tag("status reply", s.error());
  return StatusReply{*st};
}

Status StatusReply::Validate() const { return CheckStatus(status); }

Result<std::string> UpdateRequest::Encode() const {
  return Writer()
      .Str("request", kName)
      .Str("cache_type", cache_type)
      .Str("cache_id", cache_id)
      .Data("session", session.span())
      .Finish();
}

Result<UpdateRequest> UpdateRequest::DecodeBody(Reader& r) {
  UpdateRequest out;
  if (Status s = ReadCacheKey(r, out.cache_type, out.cache_id); !s) return Tag("update request", s.error());
  Result<SecretBytes> sess = r.Data("session");
  if (!sess) return Tag("update request", sess.error());
  out.session = std::move(*sess);
  return out;
}

Status UpdateRequest::Validate() const {
  if (Status s = ValidateCacheType(cache_type); !s) return s;
  if (Status s = CheckCacheId(cache_id); !s) return s;
  if (session.empty()) return MakeError("empty session");
  if (session.size() > kMaxSessionLen) return MakeError("session longer than " + std::to_string(kMaxSessionLen));
  return Status::Ok();
}

Result<std::string> DeleteRequest::Encode() const {
  return Writer().Str("request", kName).Str("cache_type", cache_type).Str("cache_id", cache_id).Finish();
}

Result<DeleteRequest> DeleteRequest::DecodeBody(Reader& r) {
  DeleteRequest out;
  if (Status s = ReadCacheKey(r, out.cache_type, out.cache_id); !s) return Tag("delete request", s.error());
  return out;
}

Status DeleteRequest::Validate() const {
  if (Status s = ValidateCacheType(cache_type); !s) return s;
  return CheckCacheId(cache_id);
}

// ---- tktkey

Result<std::string> TktkeyRequest::Encode() const {
  return Writer().Str("request", kName).Data("keyname", Bytes(keyname)).Finish();
}

Result<TktkeyRequest> TktkeyRequest::DecodeBody(Reader& r) {
  Result<SecretBytes> n = r.Data("keyname");
  if (!n) return Tag("tktkey request", n.error());
  return TktkeyRequest{std::string(reinterpret_cast<const char*>(n->data()), n->size())};
}

Status TktkeyRequest::Validate() const {
  if (!keyname.empty() && keyname.size() != kTicketKeyNameLen)
    return MakeError("invalid session ticket key name length: " + std::to_string(keyname.size()));
  return Status::Ok();
}

Result<std::string> TktkeyReply::Encode() const {
  return Writer().IntSigned("status", status).Data("keybuf", keybuf.span()).Finish();
}

Result<TktkeyReply> TktkeyReply::Decode(const Record& rec) {
  Reader r(rec, Reader::kStrict);
  Result<int32_t> st = ReadStatus(r);
  if (!st) return Tag("tktkey reply", st.error());
  Result<SecretBytes> k = r.Data("keybuf");
  if (!k) return Tag("tktkey reply", k.error());
  if (Status s = r.End(); !s) return Tag("tktkey reply", s.error());
  return TktkeyReply{*st, std::move(*k)};
}

Status TktkeyReply::Validate() const {
  if (Status s = CheckStatus(status); !s) return s;
  if (status == kStatOk && keybuf.size() != kTicketKeyRecordSize)
    return MakeError("tktkey reply: key record of " + std::to_string(keybuf.size()) + " bytes, expected " +
                     std::to_string(kTicketKeyRecordSize));
  return Status::Ok();
}

// ---- TicketKey

SecretBytes TicketKey::Serialize() const {
  SecretBytes out(kTicketKeyRecordSize);
  std::memset(out.data(), 0, out.size());
  std::memcpy(out.data() + kNameOffset, name.data(), name.size());
  if (bits.size() == kTicketCipherKeyLen) std::memcpy(out.data() + kBitsOffset, bits.data(), kTicketCipherKeyLen);
  if (hmac.size() == kTicketHmacKeyLen) std::memcpy(out.data() + kHmacOffset, hmac.data(), kTicketHmacKeyLen);
  time_t t = static_cast<time_t>(tout);
  std::memcpy(out.data() + kToutOffset, &t, sizeof(t));
  return out;
}

Result<TicketKey> TicketKey::Parse(std::span<const uint8_t> rec) {
  if (rec.size() != kTicketKeyRecordSize)
    return MakeError("ticket key record of " + std::to_string(rec.size()) + " bytes, expected " +
                     std::to_string(kTicketKeyRecordSize));
  TicketKey k;
  std::memcpy(k.name.data(), rec.data() + kNameOffset, kTicketKeyNameLen);
  std::memcpy(k.bits.data(), rec.data() + kBitsOffset, kTicketCipherKeyLen);
  std::memcpy(k.hmac.data(), rec.data() + kHmacOffset, kTicketHmacKeyLen);
  time_t t;
  std::memcpy(&t, rec.data() + kToutOffset, sizeof(t));
  k.tout = static_cast<int64_t>(t);
  return k;
}

// ---- dispatch

Result<std::string> TlsmgrRequestName(const Record& rec) {
  if (rec.empty() || rec.front().is_group || rec.front().name != "request")
    return MakeError("tlsmgr request: first attribute is not \"request\"");
  return rec.front().value;
}

namespace {
template <class T>
Result<TlsmgrRequest> As(const Record& rec) {
  Result<T> v = DecodeAs<T>(rec);
  if (!v) return std::move(v).take_error();
  return TlsmgrRequest(std::move(*v));
}
}  // namespace

Result<TlsmgrRequest> DecodeTlsmgrRequest(const Record& rec) {
  Result<std::string> name = TlsmgrRequestName(rec);
  if (!name) return std::move(name).take_error();
  if (*name == SeedRequest::kName) return As<SeedRequest>(rec);
  if (*name == PolicyRequest::kName) return As<PolicyRequest>(rec);
  if (*name == LookupRequest::kName) return As<LookupRequest>(rec);
  if (*name == UpdateRequest::kName) return As<UpdateRequest>(rec);
  if (*name == DeleteRequest::kName) return As<DeleteRequest>(rec);
  if (*name == TktkeyRequest::kName) return As<TktkeyRequest>(rec);
  return MakeError("unknown tlsmgr request \"" + name->substr(0, kMaxNameLen) + "\"");
}

}  // namespace pftls::ipc
