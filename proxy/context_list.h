// proxy/context_list.h - the TLS context list (spec §3.8, Postfix 3.7 form,
// 22 attributes) built from what the handshake negotiated.
//
// EncodeContextList(facts, level, namaddr) returns the attr0 record that
// tlsproxy writes on the plaintext socket, before any decrypted byte, when
// the request had SEND_CONTEXT; with_alpn appends the pftls_alpn extension
// (facts.alpn), only for requests that carried a pftls attribute. Strings missing from the session are sent
// empty; over-long certificate names are cut (facts are already bounded).
#pragma once

#include <string>

#include "tls/facts.h"

namespace pftls::proxy {

std::string EncodeContextList(const tls::SessionFacts& facts, int level, const std::string& namaddr,
                              bool with_alpn = false);

}  // namespace pftls::proxy
