// t/tools/tls_duplex.cc - see t/tools/tls_duplex.h.
#include "t/tools/tls_duplex.h"

#include <fcntl.h>
#include <poll.h>

#include <algorithm>

namespace pftls::testing {

bool TlsDuplex(SSL* ssl, int fd, std::span<const unsigned char> up, size_t want_down,
               std::vector<unsigned char>* down, bool key_update, std::chrono::milliseconds deadline) {
  using Clock = std::chrono::steady_clock;
  const auto end = Clock::now() + deadline;
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0) return false;
  SSL_set_mode(ssl, SSL_MODE_ENABLE_PARTIAL_WRITE);
  size_t off = 0;
  bool updated = !key_update;
  unsigned char buf[16384];
  while (off < up.size() || down->size() < want_down) {
    bool progress = false, want_write = false;
    if (off < up.size()) {
      size_t w = 0;
      size_t chunk = std::min<size_t>(16000, up.size() - off);
      if (SSL_write_ex(ssl, up.data() + off, chunk, &w) == 1) {
        off += w;
        progress = true;
        if (!updated && off >= up.size() / 2) {
          SSL_key_update(ssl, SSL_KEY_UPDATE_REQUESTED);
          updated = true;
        }
      } else {
        int e = SSL_get_error(ssl, 0);
        if (e == SSL_ERROR_WANT_WRITE) want_write = true;
        else if (e != SSL_ERROR_WANT_READ) return false;
      }
    }
    if (down->size() < want_down) {
      size_t n = 0;
      if (SSL_read_ex(ssl, buf, sizeof(buf), &n) == 1) {
        down->insert(down->end(), buf, buf + n);
        progress = true;
      } else {
        int e = SSL_get_error(ssl, 0);
        if (e == SSL_ERROR_WANT_WRITE) want_write = true;
        else if (e != SSL_ERROR_WANT_READ) return false;  // close or error before everything arrived
      }
    }
    if (progress) continue;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - Clock::now()).count();
    if (left <= 0) return false;
    pollfd p{fd, static_cast<short>(POLLIN | (want_write ? POLLOUT : 0)), 0};
    if (poll(&p, 1, static_cast<int>(std::min<long long>(left, 1000))) < 0) return false;
  }
  if (fcntl(fd, F_SETFL, flags) != 0) return false;
  return true;
}

}  // namespace pftls::testing
