// ipc/msg_tlsproxy.cc - see ipc/msg_tlsproxy.h.
#include "ipc/msg_tlsproxy.h"

#include <cstdio>

namespace pftls::ipc {

Result<std::string> TlsproxyRequest::Encode() const {
  Writer w;
  w.Str("remote_endpoint", remote_endpoint)
      .Int("flags", flags)
      .Int("timeout", handshake_timeout)
      .Int("timeout", session_timeout)
      .Str("serverid", serverid);
  if (pftls_flags) w.Int("pftls_flags", *pftls_flags);
  if (alpn) w.Str("pftls_alpn", *alpn);
  return w.Finish();
}

Result<TlsproxyRequest> TlsproxyRequest::Decode(const Record& rec) {
  Reader r(rec, Reader::kStrict);
  TlsproxyRequest out;
  auto fail = [](const std::string& why) { return MakeError("tlsproxy request: " + why); };
  Result<std::string> ep = r.Str("remote_endpoint");
  if (!ep) return fail(ep.error());
  Result<uint32_t> fl = r.Int("flags");
  if (!fl) return fail(fl.error());
  Result<uint32_t> t1 = r.Int("timeout");
  if (!t1) return fail(t1.error());
  Result<uint32_t> t2 = r.Int("timeout");
  if (!t2) return fail(t2.error());
  Result<std::string> sid = r.Str("serverid");
  if (!sid) return fail(sid.error());
  if (r.NextIs("pftls_flags")) {
    Result<uint32_t> pf = r.Int("pftls_flags");
    if (!pf) return fail(pf.error());
    out.pftls_flags = *pf;
  }
  if (r.NextIs("pftls_alpn")) {
    Result<std::string> a = r.Str("pftls_alpn");
    if (!a) return fail(a.error());
    out.alpn = std::move(*a);
  }
  if (Status s = r.End(); !s) return fail(s.error());
  out.remote_endpoint = std::move(*ep);
  out.flags = *fl;
  out.handshake_timeout = *t1;
  out.session_timeout = *t2;
  out.serverid = std::move(*sid);
  return out;
}

Status TlsproxyRequest::Validate() const {
  uint32_t roles = flags & (kTlsproxyRoleServer | kTlsproxyRoleClient);
  if ((flags & ~kTlsproxyKnownFlags) != 0 || (roles != kTlsproxyRoleServer && roles != kTlsproxyRoleClient)) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "0x%x", flags);
    return MakeError(std::string("bad request flags: ") + buf);
  }
  if (handshake_timeout == 0 || handshake_timeout > kMaxTlsproxyTimeout || session_timeout == 0 ||
      session_timeout > kMaxTlsproxyTimeout)
    return MakeError("timeout out of range 1.." + std::to_string(kMaxTlsproxyTimeout));
  if (remote_endpoint.empty() || remote_endpoint.size() > kMaxEndpointLen)
    return MakeError("remote_endpoint empty or longer than " + std::to_string(kMaxEndpointLen));
  if (serverid.empty() || serverid.size() > kMaxServerIdLen)
    return MakeError("serverid empty or longer than " + std::to_string(kMaxServerIdLen));
  if (pftls_flags && (*pftls_flags & ~kPftlsKnownFlags) != 0) return MakeError("unknown pftls_flags bits");
  if (pftls_flags && (*pftls_flags & kPftlsDirectRelay) && !(flags & kTlsproxySendContext))
    return MakeError("pftls direct relay without the context list");
  if (alpn) {
    if (alpn->empty() || alpn->size() > kMaxAlpnLen) return MakeError("pftls_alpn empty or too long");
    size_t start = 0;
    while (start <= alpn->size()) {
      size_t comma = alpn->find(',', start);
      size_t end = comma == std::string::npos ? alpn->size() : comma;
      if (end == start || end - start > 255) return MakeError("pftls_alpn has an empty or over-long name");
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  }
  return Status::Ok();
}

}  // namespace pftls::ipc
