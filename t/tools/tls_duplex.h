// t/tools/tls_duplex.h - a single-threaded full-duplex TLS client loop for
// tests: sends `up` and reads until `want_down` bytes arrived, on one SSL
// object from one thread (OpenSSL does not allow SSL_read and SSL_write on
// the same SSL from two threads at once), with a non-blocking socket and
// poll(2). With key_update, a KeyUpdate (update_requested) is sent once
// half of `up` is written. Returns false on a TLS error, a peer close
// before everything arrived, or the deadline.
#pragma once

#include <openssl/ssl.h>

#include <chrono>
#include <span>
#include <vector>

namespace pftls::testing {

bool TlsDuplex(SSL* ssl, int fd, std::span<const unsigned char> up, size_t want_down,
               std::vector<unsigned char>* down, bool key_update, std::chrono::milliseconds deadline);

}  // namespace pftls::testing
