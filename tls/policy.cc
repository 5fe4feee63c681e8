// tls/policy.cc - see tls/policy.h.
#include "tls/policy.h"

#include <array>

#include "util/log.h"

namespace pftls::tls {
namespace {

struct LevelName_ {
  const char* name;
  TlsLevel level;
};
constexpr std::array<LevelName_, 9> kLevels{{
    {"none", TlsLevel::kNone},
    {"may", TlsLevel::kMay},
    {"encrypt", TlsLevel::kEncrypt},
    {"fingerprint", TlsLevel::kFingerprint},
    {"halfdane", TlsLevel::kHalfDane},
    {"dane", TlsLevel::kDane},
    {"dane-only", TlsLevel::kDaneOnly},
    {"verify", TlsLevel::kVerify},
    {"secure", TlsLevel::kSecure},
}};

struct Proto {
  const char* name;
  unsigned bit;
  int version;  // OpenSSL version constant, 0 when not supported at all
};
constexpr std::array<Proto, 6> kProtocols{{
    {"SSLv2", kSSLv2, 0},
    {"SSLv3", kSSLv3, SSL3_VERSION},
    {"TLSv1", kTLSv1, TLS1_VERSION},
    {"TLSv1.1", kTLSv1_1, TLS1_1_VERSION},
    {"TLSv1.2", kTLSv1_2, TLS1_2_VERSION},
    {"TLSv1.3", kTLSv1_3, TLS1_3_VERSION},
}};

const Proto* FindProto(std::string_view name) {
  for (const auto& p : kProtocols)
    if (name == p.name) return &p;
  return nullptr;
}

// Tokens of a protocol or exclusion list: separators comma, colon, space.
std::vector<std::string> Tokens(std::string_view text) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : text) {
    if (c == ',' || c == ':' || c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      if (!cur.empty()) out.push_back(std::move(cur));
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (!cur.empty()) out.push_back(std::move(cur));
  return out;
}

}  // namespace

const char* LevelName(TlsLevel level) {
  for (const auto& l : kLevels)
    if (l.level == level) return l.name;
  return "unknown";
}

Result<TlsLevel> ParseServerLevel(std::string_view level, bool use_tls, bool enforce_tls) {
  if (level.empty()) {
    if (enforce_tls) return TlsLevel::kEncrypt;
    if (use_tls) return TlsLevel::kMay;
    return TlsLevel::kNone;
  }
  for (const auto& l : kLevels) {
    if (level != l.name) continue;
    switch (l.level) {
      case TlsLevel::kNone:
      case TlsLevel::kMay:
      case TlsLevel::kEncrypt:
        return l.level;
      case TlsLevel::kFingerprint:
      case TlsLevel::kVerify:
      case TlsLevel::kSecure:
        log::Warn("%s server security level is not supported, using \"encrypt\"", l.name);
        return TlsLevel::kEncrypt;
      default:
        return MakeError("Invalid TLS level \"" + std::string(level) + "\"");
    }
  }
  return MakeError("Invalid TLS level \"" + std::string(level) + "\"");
}

Result<ProtocolPolicy> ParseProtocols(std::string_view text) {
  unsigned include = 0, exclude = 0;
  int lower = -1, upper = -1;  // index into kProtocols
  for (const std::string& tok : Tokens(text)) {
    std::string_view name = tok;
    enum { kInclude, kExclude, kMin, kMax } op = kInclude;
    if (name.substr(0, 2) == ">=") {
      op = kMin;
      name.remove_prefix(2);
    } else if (name.substr(0, 2) == "<=") {
      op = kMax;
      name.remove_prefix(2);
    } else if (name.substr(0, 1) == "!") {
      op = kExclude;
      name.remove_prefix(1);
    }
    const Proto* p = FindProto(name);
    if (!p) return MakeError("invalid TLS protocol name \"" + std::string(name) + "\" in \"" + std::string(text) + "\"");
    int idx = static_cast<int>(p - kProtocols.data());
    switch (op) {
      case kInclude: include |= p->bit; break;
      case kExclude: exclude |= p->bit; break;
      case kMin: lower = idx; break;
      case kMax: upper = idx; break;
    }
  }
  unsigned enabled = include ? include : kAllProtocols;
  enabled &= ~exclude;
  for (int i = 0; i < static_cast<int>(kProtocols.size()); ++i) {
    if ((lower >= 0 && i < lower) || (upper >= 0 && i > upper)) enabled &= ~kProtocols[i].bit;
  }
  enabled &= ~(kSSLv2 | kSSLv3);  // never, whatever the list says
  if (!enabled) return MakeError("no usable TLS protocol left in \"" + std::string(text) + "\"");
  return ProtocolPolicy{enabled};
}

Status ApplyProtocols(SSL_CTX* ctx, const ProtocolPolicy& policy) {
  int min_v = 0, max_v = 0;
  for (const auto& p : kProtocols) {
    if (!p.version || !(policy.enabled & p.bit)) continue;
    if (!min_v) min_v = p.version;
    max_v = p.version;
  }
  if (!min_v) return MakeError("no usable TLS protocol version");
  if (!SSL_CTX_set_min_proto_version(ctx, min_v) || !SSL_CTX_set_max_proto_version(ctx, max_v))
    return MakeError("cannot set the TLS protocol version range");
  uint64_t no = 0;
  if (!(policy.enabled & kTLSv1)) no |= SSL_OP_NO_TLSv1;
  if (!(policy.enabled & kTLSv1_1)) no |= SSL_OP_NO_TLSv1_1;
  if (!(policy.enabled & kTLSv1_2)) no |= SSL_OP_NO_TLSv1_2;
  if (!(policy.enabled & kTLSv1_3)) no |= SSL_OP_NO_TLSv1_3;
  SSL_CTX_set_options(ctx, no | SSL_OP_NO_SSLv3);
  return Status::Ok();
}

Result<std::string> BuildCipherList(std::string_view grade, const CipherLists& lists,
                                    std::string_view exclusions) {
  std::string list;
  if (grade == "high") list = lists.high;
  else if (grade == "medium") list = lists.medium;
  else if (grade == "low") list = lists.low;
  else if (grade == "export") list = lists.export_;
  else if (grade == "null") list = lists.null;
  else return MakeError("invalid cipher grade: \"" + std::string(grade) + "\"");
  if (list.empty()) return MakeError("empty cipherlist for grade \"" + std::string(grade) + "\"");
  for (const std::string& tok : Tokens(exclusions)) {
    char c = tok[0];
    if (c == '!' || c == '+' || c == '-' || c == '@')
      return MakeError("invalid unary '!+-@' in cipher exclusion: \"" + tok + "\"");
    list += ":!" + tok;
  }
  return list;
}

}  // namespace pftls::tls
