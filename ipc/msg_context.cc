// ipc/msg_context.cc - see ipc/msg_context.h.
#include "ipc/msg_context.h"

#include <variant>

namespace pftls::ipc {
namespace {

using Member = std::variant<std::string TlsContext::*, uint32_t TlsContext::*, int32_t TlsContext::*>;
struct Field {
  const char* name;
  Member member;
};

// The 3.6-3.8 wire order (spec §3.8, rows 14-15 and 25-26 absent).
const Field kFields[] = {
    {"peer_CN", &TlsContext::peer_CN},
    {"issuer_CN", &TlsContext::issuer_CN},
    {"peer_fingerprint", &TlsContext::peer_fingerprint},
    {"peer_pubkey_fingerprint", &TlsContext::peer_pubkey_fingerprint},
    {"level", &TlsContext::level},
    {"peer_status", &TlsContext::peer_status},
    {"cipher_protocol", &TlsContext::cipher_protocol},
    {"cipher_name", &TlsContext::cipher_name},
    {"cipher_usebits", &TlsContext::cipher_usebits},
    {"cipher_algbits", &TlsContext::cipher_algbits},
    {"key_exchange", &TlsContext::key_exchange},
    {"key_exchange_curve", &TlsContext::key_exchange_curve},
    {"key_exchange_bits", &TlsContext::key_exchange_bits},
    {"clnt_signature", &TlsContext::clnt_signature},
    {"clnt_signature_curve", &TlsContext::clnt_signature_curve},
    {"clnt_signature_bits", &TlsContext::clnt_signature_bits},
    {"clnt_signature_digest", &TlsContext::clnt_signature_digest},
    {"srvr_signature", &TlsContext::srvr_signature},
    {"srvr_signature_curve", &TlsContext::srvr_signature_curve},
    {"srvr_signature_bits", &TlsContext::srvr_signature_bits},
    {"srvr_signature_digest", &TlsContext::srvr_signature_digest},
    {"namaddr", &TlsContext::namaddr},
};
static_assert(std::size(kFields) == kTlsContextAttrCount);

template <class... F>
struct Overload : F... {
  using F::operator()...;
};
template <class... F>
Overload(F...) -> Overload<F...>;

}  // namespace

Result<std::string> TlsContext::Encode() const {
  Writer w;
  for (const Field& f : kFields) {
    std::visit(Overload{[&](std::string TlsContext::*m) { w.Str(f.name, this->*m); },
                        [&](uint32_t TlsContext::*m) { w.Int(f.name, this->*m); },
                        [&](int32_t TlsContext::*m) { w.IntSigned(f.name, this->*m); }},
               f.member);
  }
  if (alpn) w.Str("pftls_alpn", *alpn);
  return w.Finish();
}

Result<TlsContext> TlsContext::Decode(const Record& rec) {
  Reader r(rec, Reader::kStrict);
  TlsContext out;
  for (const Field& f : kFields) {
    std::string err;
    std::visit(Overload{[&](std::string TlsContext::*m) {
                          Result<std::string> v = r.Str(f.name);
                          if (v) out.*m = std::move(*v); else err = v.error();
                        },
                        [&](uint32_t TlsContext::*m) {
                          Result<uint32_t> v = r.Int(f.name);
                          if (v) out.*m = *v; else err = v.error();
                        },
                        [&](int32_t TlsContext::*m) {
                          Result<int32_t> v = r.IntSigned(f.name);
                          if (v) out.*m = *v; else err = v.error();
                        }},
               f.member);
    if (!err.empty()) return MakeError("TLS context: " + err);
  }
  if (r.NextIs("pftls_alpn")) {
    Result<std::string> a = r.Str("pftls_alpn");
    if (!a) return MakeError("TLS context: " + a.error());
    out.alpn = std::move(*a);
  }
  if (Status s = r.End(); !s) return MakeError("TLS context: " + s.error());
  return out;
}

Status TlsContext::Validate() const {
  if (level < -2 || level > 8) return MakeError("TLS context: level out of range");
  for (const Field& f : kFields) {
    if (auto* m = std::get_if<std::string TlsContext::*>(&f.member); m && (this->**m).size() > kMaxContextStrLen)
      return MakeError(std::string("TLS context: ") + f.name + " too long");
  }
  if (alpn && alpn->size() > kMaxAlpnProtocolLen) return MakeError("TLS context: pftls_alpn too long");
  return Status::Ok();
}

}  // namespace pftls::ipc
