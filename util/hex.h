/*++
 * NAME
 *	util/hex.h - hexadecimal text of bytes
 * SYNOPSIS
 *	#include "util/hex.h"
 *
 *	std::string a = HexEncode(p, n);			// "01ABFF"
 *	std::string b = HexEncode(p, n, HexCase::kLower);	// "01abff"
 *	std::string c = HexEncode(p, n, HexCase::kUpper, ':');	// "01:AB:FF"
 * DESCRIPTION
 *	HexEncode() writes two digits per byte, upper case by default (the
 *	Postfix session-cache id and fingerprint style), optionally with a
 *	separator between bytes.
 * SECURITY
 *	Do not hex-encode secrets into log lines.
 * DIAGNOSTICS
 *	None.
 * CONFIGURATION PARAMETERS
 *	None.
 *--*/
#pragma once

#include <cstddef>
#include <string>

namespace pftls {

enum class HexCase { kUpper, kLower };

inline std::string HexEncode(const unsigned char* p, size_t n, HexCase hc = HexCase::kUpper, char sep = '\0') {
  const char* digits = hc == HexCase::kUpper ? "0123456789ABCDEF" : "0123456789abcdef";
  std::string out;
  out.reserve(n * (sep ? 3 : 2));
  for (size_t i = 0; i < n; ++i) {
    if (sep && i) out += sep;
    out += digits[p[i] >> 4];
    out += digits[p[i] & 15];
  }
  return out;
}

}  // namespace pftls
