// ipc/attr0.cc - see ipc/attr0.h.
#include "ipc/attr0.h"

#include <openssl/crypto.h>

#include <array>
#include <cstring>

#include "util/log.h"

namespace pftls::ipc {
namespace {

constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// kB64Values - the value of each byte in kB64, 0xFF for every other byte
// (one table lookup per character: session values are ~2-4 KB of base64
// in every tlsmgr lookup and update).
constexpr auto kB64Values = [] {
  std::array<uint8_t, 256> t{};
  t.fill(0xFF);
  for (uint8_t i = 0; i < 64; i++) t[static_cast<unsigned char>(kB64[i])] = i;
  return t;
}();

int B64Value(unsigned char c) { return kB64Values[c] == 0xFF ? -1 : kB64Values[c]; }

std::string Quoted(std::string_view s) {
  // Names only (never values): printable, bounded by kMaxNameLen.
  return "\"" + std::string(s.substr(0, kMaxNameLen)) + "\"";
}

}  // namespace

Attr::~Attr() {
  if (!value.empty()) OPENSSL_cleanse(value.data(), value.size());
}

// Base64Encode - standard alphabet, "=" padding.
std::string Base64Encode(std::span<const uint8_t> in) {
  std::string out((in.size() + 2) / 3 * 4, '=');
  char* o = out.data();
  size_t i = 0;
  for (; i + 3 <= in.size(); i += 3, o += 4) {
    uint32_t v = (uint32_t{in[i]} << 16) | (uint32_t{in[i + 1]} << 8) | in[i + 2];
    o[0] = kB64[(v >> 18) & 63];
    o[1] = kB64[(v >> 12) & 63];
    o[2] = kB64[(v >> 6) & 63];
    o[3] = kB64[v & 63];
  }
  size_t rest = in.size() - i;
  if (rest > 0) {  // the "=" padding is already in place
    uint32_t v = (uint32_t{in[i]} << 16) | (rest == 2 ? uint32_t{in[i + 1]} << 8 : 0);
    o[0] = kB64[(v >> 18) & 63];
    o[1] = kB64[(v >> 12) & 63];
    if (rest == 2) o[2] = kB64[(v >> 6) & 63];
  }
  return out;
}

// Base64Decode - strict canonical decoding.
Result<SecretBytes> Base64Decode(std::string_view text) {
  if (text.size() % 4 != 0) return MakeError("base64 length is not a multiple of 4");
  size_t pad = 0;
  if (!text.empty() && text.back() == '=') pad = (text.size() >= 2 && text[text.size() - 2] == '=') ? 2 : 1;
  SecretBytes out(text.size() / 4 * 3 - pad);
  size_t o = 0;
  // Every group but the last: no padding allowed, one check per group.
  const unsigned char* t = reinterpret_cast<const unsigned char*>(text.data());
  size_t body = text.empty() ? 0 : text.size() - 4;
  for (size_t i = 0; i < body; i += 4, o += 3) {
    uint8_t a = kB64Values[t[i]], b = kB64Values[t[i + 1]], c = kB64Values[t[i + 2]], d = kB64Values[t[i + 3]];
    if ((a | b | c | d) & 0x80) {
      for (size_t k = 0; k < 4; k++)
        if (t[i + k] == '=') return MakeError("misplaced base64 padding");
      return MakeError("non-base64 character");
    }
    uint32_t w = (uint32_t{a} << 18) | (uint32_t{b} << 12) | (uint32_t{c} << 6) | d;
    out.data()[o] = static_cast<uint8_t>(w >> 16);
    out.data()[o + 1] = static_cast<uint8_t>(w >> 8);
    out.data()[o + 2] = static_cast<uint8_t>(w);
  }
  for (size_t i = body; i < text.size(); i += 4) {
    bool last = i + 4 == text.size();
    int v[4];
    for (size_t k = 0; k < 4; ++k) {
      unsigned char c = static_cast<unsigned char>(text[i + k]);
      if (c == '=') {
        if (!last || k < 4 - pad) return MakeError("misplaced base64 padding");
        v[k] = 0;
        continue;
      }
      v[k] = B64Value(c);
      if (v[k] < 0) return MakeError("non-base64 character");
    }
    uint32_t w = (uint32_t(v[0]) << 18) | (uint32_t(v[1]) << 12) | (uint32_t(v[2]) << 6) | uint32_t(v[3]);
    size_t n = last ? 3 - pad : 3;
    if (last && pad == 2 && (w & 0xffff) != 0) return MakeError("non-zero base64 pad bits");
    if (last && pad == 1 && (w & 0xff) != 0) return MakeError("non-zero base64 pad bits");
    for (size_t k = 0; k < n; ++k) out.data()[o++] = static_cast<uint8_t>(w >> (16 - 8 * k));
  }
  return out;
}

Result<uint64_t> ParseU64(std::string_view t) {
  if (t.empty()) return MakeError("empty number");
  if (t.size() > kMaxNumberDigits) return MakeError("number too long");
  uint64_t v = 0;
  for (char c : t) {
    if (c < '0' || c > '9') return MakeError("non-digit in number");
    uint64_t d = static_cast<uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) return MakeError("number overflow");
    v = v * 10 + d;
  }
  return v;
}

Result<uint32_t> ParseU32(std::string_view t) {
  Result<uint64_t> v = ParseU64(t);
  if (!v) return std::move(v).take_error();
  if (*v > UINT32_MAX) return MakeError("number overflow");
  return static_cast<uint32_t>(*v);
}

// ---- Writer

void Writer::Name(std::string_view name) {
  if (!error_.empty()) return;
  if (name.empty() || name == "{" || name == "}") error_ = "reserved attribute name";
  else if (name.size() > kMaxNameLen) error_ = "attribute name too long";
  else if (name.find('\0') != std::string_view::npos) error_ = "NUL in attribute name";
  out_.append(name);
  out_.push_back('\0');
}

void Writer::Value(std::string_view value) {
  if (error_.empty() && value.size() > kMaxValueLen) error_ = "attribute value too long";
  if (error_.empty() && value.find('\0') != std::string_view::npos) error_ = "NUL in attribute value";
  if (error_.empty() && ++count_ > kMaxAttrCount) error_ = "too many attributes";
  out_.append(value);
  out_.push_back('\0');
}

Writer& Writer::Str(std::string_view name, std::string_view value) {
  Name(name);
  Value(value);
  return *this;
}
Writer& Writer::Int(std::string_view name, uint32_t value) { return Str(name, std::to_string(value)); }
Writer& Writer::IntSigned(std::string_view name, int32_t value) {
  return Int(name, static_cast<uint32_t>(value));
}
Writer& Writer::Long(std::string_view name, uint64_t value) { return Str(name, std::to_string(value)); }
Writer& Writer::Data(std::string_view name, std::span<const uint8_t> bytes) {
  std::string b64 = Base64Encode(bytes);
  Str(name, b64);
  OPENSSL_cleanse(b64.data(), b64.size());
  return *this;
}
Writer& Writer::Group(const std::vector<std::pair<std::string, std::string>>& entries) {
  if (error_.empty() && entries.size() > kMaxGroupEntries) error_ = "too many group entries";
  out_.append("{", 2);  // "{" and its NUL
  for (const auto& [k, v] : entries) Str(k, v);
  out_.append("}", 2);
  return *this;
}

Result<std::string> Writer::Finish() {
  out_.push_back('\0');
  if (error_.empty() && out_.size() > kMaxRecordSize) error_ = "record too large";
  if (!error_.empty()) {
    OPENSSL_cleanse(out_.data(), out_.size());
    return MakeError("attr0 encode: " + error_);
  }
  return std::move(out_);
}

// ---- Attr0Parser

void Attr0Parser::Reset() {
  state_ = State::kName;
  tok_.clear();
  pending_name_.clear();
  rec_.clear();
  total_ = 0;
  count_ = 0;
}

Record Attr0Parser::Take() {
  Record out = std::move(rec_);
  Reset();
  return out;
}

// Token - one NUL-terminated token (in tok_) is complete.
Status Attr0Parser::Token() {
  switch (state_) {
    case State::kName:
      if (tok_.empty()) {
        state_ = State::kDone;
      } else if (tok_ == "{") {
        rec_.emplace_back();
        rec_.back().is_group = true;
        state_ = State::kGroupKey;
      } else if (tok_ == "}") {
        return MakeError("unexpected end of group");
      } else {
        pending_name_ = std::move(tok_);
        state_ = State::kValue;
      }
      break;
    case State::kValue:
      if (++count_ > kMaxAttrCount) return MakeError("too many attributes");
      rec_.emplace_back(std::move(pending_name_), std::move(tok_));
      state_ = State::kName;
      break;
    case State::kGroupKey:
      if (tok_ == "}") {
        state_ = State::kName;
      } else if (tok_.empty()) {
        return MakeError("end of list inside group");
      } else if (tok_ == "{") {
        return MakeError("nested group");
      } else {
        pending_name_ = std::move(tok_);
        state_ = State::kGroupValue;
      }
      break;
    case State::kGroupValue:
      if (++count_ > kMaxAttrCount) return MakeError("too many attributes");
      if (rec_.back().entries.size() >= kMaxGroupEntries) return MakeError("too many group entries");
      rec_.back().entries.emplace_back(std::move(pending_name_), std::move(tok_));
      state_ = State::kGroupKey;
      break;
    case State::kDone:
    case State::kFailed:
      return MakeError("parser misuse");
  }
  tok_.clear();
  return Status::Ok();
}

Result<size_t> Attr0Parser::Feed(std::span<const uint8_t> data) {
  if (state_ == State::kFailed) return MakeError("attr0: parser already failed");
  size_t used = 0;
  while (used < data.size() && state_ != State::kDone) {
    bool value_state = state_ == State::kValue || state_ == State::kGroupValue;
    size_t limit = value_state ? kMaxValueLen : kMaxNameLen;
    const uint8_t* p = data.data() + used;
    size_t avail = data.size() - used;
    const void* nul = std::memchr(p, 0, avail);
    size_t n = nul ? static_cast<size_t>(static_cast<const uint8_t*>(nul) - p) : avail;
    if (tok_.size() + n > limit) {
      state_ = State::kFailed;
      return MakeError(value_state ? "attr0: value of " + Quoted(pending_name_) + " exceeds " +
                                         std::to_string(kMaxValueLen) + " bytes"
                                   : "attr0: attribute name exceeds " + std::to_string(kMaxNameLen) + " bytes");
    }
    size_t step = n + (nul ? 1 : 0);
    if (total_ + step > kMaxRecordSize) {
      state_ = State::kFailed;
      return MakeError("attr0: record exceeds " + std::to_string(kMaxRecordSize) + " bytes");
    }
    tok_.append(reinterpret_cast<const char*>(p), n);
    total_ += step;
    used += step;
    if (nul) {
      Status s = Token();
      if (!s) {
        state_ = State::kFailed;
        return MakeError("attr0: " + s.error());
      }
    }
  }
  return used;
}

Result<Record> ParseRecord(std::span<const uint8_t> bytes) {
  Attr0Parser p;
  Result<size_t> used = p.Feed(bytes);
  if (!used) return std::move(used).take_error();
  if (!p.done()) return MakeError("attr0: truncated record (no end-of-list terminator)");
  if (*used != bytes.size()) return MakeError("attr0: trailing bytes after record");
  return p.Take();
}

// ---- Reader

Result<const Attr*> Reader::Find(std::string_view name) {
  while (pos_ < rec_.size()) {
    const Attr& a = rec_[pos_++];
    if (!a.is_group && a.name == name) return &a;
    if (mode_ == kStrict)
      return MakeError("unexpected attribute " + (a.is_group ? std::string("{group}") : Quoted(a.name)) +
                       " where " + Quoted(name) + " was expected");
  }
  return MakeError("missing attribute " + Quoted(name));
}

Result<std::string> Reader::Str(std::string_view name) {
  Result<const Attr*> a = Find(name);
  if (!a) return std::move(a).take_error();
  return (*a)->value;
}

Result<uint64_t> Reader::Long(std::string_view name) {
  Result<const Attr*> a = Find(name);
  if (!a) return std::move(a).take_error();
  Result<uint64_t> v = ParseU64((*a)->value);
  if (!v) return MakeError("bad number in attribute " + Quoted(name) + ": " + v.error());
  return v;
}

Result<uint32_t> Reader::Int(std::string_view name) {
  Result<const Attr*> a = Find(name);
  if (!a) return std::move(a).take_error();
  Result<uint32_t> v = ParseU32((*a)->value);
  if (!v) return MakeError("bad number in attribute " + Quoted(name) + ": " + v.error());
  return v;
}

Result<int32_t> Reader::IntSigned(std::string_view name) {
  Result<uint32_t> v = Int(name);
  if (!v) return std::move(v).take_error();
  return static_cast<int32_t>(*v);
}

Result<SecretBytes> Reader::Data(std::string_view name) {
  Result<const Attr*> a = Find(name);
  if (!a) return std::move(a).take_error();
  Result<SecretBytes> v = Base64Decode((*a)->value);
  if (!v) return MakeError("bad base64 in attribute " + Quoted(name) + ": " + v.error());
  return v;
}

Result<std::vector<std::pair<std::string, std::string>>> Reader::Group() {
  while (pos_ < rec_.size()) {
    const Attr& a = rec_[pos_++];
    if (a.is_group) return a.entries;
    if (mode_ == kStrict) return MakeError("unexpected attribute " + Quoted(a.name) + " where a group was expected");
  }
  return MakeError("missing attribute group");
}

Status Reader::Expect(std::string_view name, std::string_view value) {
  Result<const Attr*> a = Find(name);
  if (!a) return std::move(a).take_error();
  if ((*a)->value != value) return MakeError("unexpected value of attribute " + Quoted(name));
  return Status::Ok();
}

bool Reader::NextIs(std::string_view name) const {
  return pos_ < rec_.size() && !rec_[pos_].is_group && rec_[pos_].name == name;
}

Status Reader::End() const {
  if (mode_ == kStrict && pos_ < rec_.size()) {
    const Attr& a = rec_[pos_];
    return MakeError("unexpected extra attribute " + (a.is_group ? std::string("{group}") : Quoted(a.name)));
  }
  return Status::Ok();
}

}  // namespace pftls::ipc
