/*++
 * NAME
 *	ipc/msg_announce.h - the protocol announcement a server sends first
 * SYNOPSIS
 *	#include "ipc/msg_announce.h"
 *
 *	Result<std::string> hello = Announce{kTlsmgrProtocol}.Encode();
 *	Result<Announce> a = Announce::Decode(record);
 *	Status ok = a->Validate(kTlsmgrProtocol);
 * DESCRIPTION
 *	Postfix 3.6+ servers write one record immediately after accept,
 *	before reading anything (spec §2.5); the client checks it:
 *
 *	    protocol␀tlsmgr_protocol␀␀		(tlsmgr)
 *	    protocol␀tlsproxy_protocol␀␀	(tlsproxy)
 *
 *	Decode is strict: exactly one attribute named "protocol".
 *	Validate(expected) fails when the value differs.
 * SECURITY
 *	A client must refuse a server whose announcement is missing or
 *	different; the value is logged only up to kMaxNameLen bytes.
 * DIAGNOSTICS
 *	"unexpected protocol ..." from Validate.
 * CONFIGURATION PARAMETERS
 *	None.
 *--*/
#pragma once

#include <string>
#include <string_view>

#include "ipc/attr0.h"

namespace pftls::ipc {

inline constexpr std::string_view kTlsmgrProtocol = "tlsmgr_protocol";
inline constexpr std::string_view kTlsproxyProtocol = "tlsproxy_protocol";

struct Announce {
  std::string protocol;

  Result<std::string> Encode() const { return Writer().Str("protocol", protocol).Finish(); }

  static Result<Announce> Decode(const Record& rec) {
    Reader r(rec, Reader::kStrict);
    Result<std::string> p = r.Str("protocol");
    if (!p) return MakeError("announcement: " + p.error());
    if (Status s = r.End(); !s) return MakeError("announcement: " + s.error());
    return Announce{std::move(*p)};
  }

  Status Validate(std::string_view expected) const {
    if (protocol != expected)
      return MakeError("unexpected protocol \"" + protocol.substr(0, kMaxNameLen) + "\" (expected \"" +
                       std::string(expected) + "\")");
    return Status::Ok();
  }

  bool operator==(const Announce&) const = default;
};

}  // namespace pftls::ipc
