// proxy/context_list.cc - see proxy/context_list.h.
#include "proxy/context_list.h"

#include "ipc/msg_context.h"
#include "util/log.h"

namespace pftls::proxy {

std::string EncodeContextList(const tls::SessionFacts& f, int level, const std::string& namaddr, bool with_alpn) {
  ipc::TlsContext c;
  c.peer_CN = f.peer_CN;
  c.issuer_CN = f.issuer_CN;
  c.peer_fingerprint = f.peer_fingerprint;
  c.peer_pubkey_fingerprint = f.peer_pubkey_fingerprint;
  c.level = level;
  c.peer_status = static_cast<uint32_t>(f.peer_status);
  c.cipher_protocol = f.protocol;
  c.cipher_name = f.cipher_name;
  c.cipher_usebits = static_cast<uint32_t>(f.cipher_usebits);
  c.cipher_algbits = static_cast<uint32_t>(f.cipher_algbits);
  c.key_exchange = f.kex_name;
  c.key_exchange_curve = f.kex_curve;
  c.key_exchange_bits = static_cast<uint32_t>(f.kex_bits);
  c.clnt_signature = f.clnt_sig;
  c.clnt_signature_curve = f.clnt_sig_curve;
  c.clnt_signature_bits = static_cast<uint32_t>(f.clnt_sig_bits);
  c.clnt_signature_digest = f.clnt_sig_digest;
  c.srvr_signature = f.srvr_sig;
  c.srvr_signature_curve = f.srvr_sig_curve;
  c.srvr_signature_bits = static_cast<uint32_t>(f.srvr_sig_bits);
  c.srvr_signature_digest = f.srvr_sig_digest;
  c.namaddr = namaddr.substr(0, ipc::kMaxContextStrLen);
  if (with_alpn) c.alpn = f.alpn;
  auto bytes = c.Encode();
  if (!bytes) {
    log::Warn("cannot encode TLS context for %s: %s", namaddr.c_str(), bytes.error().c_str());
    return std::string();
  }
  return std::move(*bytes);
}

}  // namespace pftls::proxy
