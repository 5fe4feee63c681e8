// handoff_drive - drive a running tlsproxy through the Postfix hand-off:
// announcement, request (SEND_CONTEXT), status, fd, TLS handshake, context
// list, then N bytes each way checked by SHA-256, with a TLS 1.3 KeyUpdate
// from the client half-way. Exit 0 when everything matched.
//
// usage: handoff_drive SOCKET [BYTES]
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "ipc/attr0.h"
#include "ipc/fdpass.h"
#include "ipc/msg_announce.h"
#include "ipc/msg_context.h"
#include "ipc/msg_tlsproxy.h"
#include "ipc/unix_socket.h"
#include "t/tools/tls_duplex.h"
#include "util/handles.h"

using namespace pftls;

namespace {

bool ReadRecord(int fd, ipc::Record* out) {
  ipc::Attr0Parser p;
  while (!p.done()) {
    uint8_t c;
    pollfd pf{fd, POLLIN, 0};
    if (poll(&pf, 1, 10000) != 1 || read(fd, &c, 1) != 1) return false;
    if (!p.Feed(std::span<const uint8_t>(&c, 1))) return false;
  }
  *out = p.Take();
  return true;
}

std::string Hex(const unsigned char* d) {
  char buf[3];
  std::string out;
  for (int i = 0; i < SHA256_DIGEST_LENGTH; ++i) {
    snprintf(buf, sizeof(buf), "%02x", d[i]);
    out += buf;
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: handoff_drive SOCKET [BYTES]\n");
    return 2;
  }
  size_t n = argc > 2 ? std::stoul(argv[2]) : (1u << 20);
  bool in_progress = false;
  auto sock = ipc::ConnectUnix(argv[1], &in_progress);
  if (!sock) {
    fprintf(stderr, "connect: %s\n", sock.error().c_str());
    return 1;
  }
  int s = sock->get();
  SetNonBlocking(s, false);
  ipc::Record rec;
  if (!ReadRecord(s, &rec) || !ipc::Announce::Decode(rec) ||
      !ipc::Announce::Decode(rec)->Validate(ipc::kTlsproxyProtocol)) {
    fprintf(stderr, "bad announcement\n");
    return 1;
  }
  ipc::TlsproxyRequest req{"[127.0.0.1]:4242", ipc::kTlsproxyRoleServer | ipc::kTlsproxySendContext, 10, 10, "smtpd", {}};
  auto bytes = req.Encode();
  if (!bytes || write(s, bytes->data(), bytes->size()) != static_cast<ssize_t>(bytes->size())) return 1;
  if (!ReadRecord(s, &rec) || !ipc::TlsproxyStatus::Decode(rec) || ipc::TlsproxyStatus::Decode(rec)->status != 1) {
    fprintf(stderr, "status is not 1\n");
    return 1;
  }
  int sp[2];
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, sp) != 0) return 1;
  UniqueFd client_end(sp[0]), proxy_end(sp[1]);
  if (!ipc::SendFd(s, proxy_end.get())) return 1;
  proxy_end.reset();

  std::vector<unsigned char> up(n), down(n);
  RAND_bytes(up.data(), static_cast<int>(n));
  RAND_bytes(down.data(), static_cast<int>(n));
  unsigned char want_up[32], want_down[32], got_up[32], got_down[32];
  SHA256(up.data(), n, want_up);
  SHA256(down.data(), n, want_down);
  bool client_ok = false;
  std::thread client([&] {
    SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
    SSL_CTX_set_min_proto_version(ctx.get(), TLS1_3_VERSION);
    SslPtr ssl(SSL_new(ctx.get()));
    SSL_set_fd(ssl.get(), client_end.get());
    if (SSL_connect(ssl.get()) != 1) return;
    // One thread per SSL object (OpenSSL's rule): a non-blocking duplex loop.
    std::vector<unsigned char> got;
    bool ok = pftls::testing::TlsDuplex(ssl.get(), client_end.get(), up, n, &got, true, std::chrono::seconds(60));
    SHA256(got.data(), got.size(), got_down);
    client_ok = ok && got.size() == n;
    SSL_shutdown(ssl.get());
  });
  // Plaintext side: the context list first, then data both ways.
  if (!ReadRecord(s, &rec)) {
    fprintf(stderr, "no context list\n");
    return 1;
  }
  auto ctx = ipc::TlsContext::Decode(rec);
  if (!ctx) {
    fprintf(stderr, "bad context list: %s\n", ctx.error().c_str());
    return 1;
  }
  printf("context: protocol=%s cipher=%s namaddr=%s\n", ctx->cipher_protocol.c_str(), ctx->cipher_name.c_str(),
         ctx->namaddr.c_str());
  std::thread writer([&] {
    size_t off = 0;
    while (off < n) {
      ssize_t w = write(s, down.data() + off, std::min<size_t>(9000, n - off));
      if (w <= 0) break;
      off += static_cast<size_t>(w);
    }
  });
  EvpMdCtxPtr h(EVP_MD_CTX_new());
  EVP_DigestInit_ex(h.get(), EVP_sha256(), nullptr);
  size_t total = 0;
  unsigned char buf[16384];
  while (total < n) {
    ssize_t r = read(s, buf, sizeof(buf));
    if (r <= 0) break;
    EVP_DigestUpdate(h.get(), buf, static_cast<size_t>(r));
    total += static_cast<size_t>(r);
  }
  EVP_DigestFinal_ex(h.get(), got_up, nullptr);
  writer.join();
  client.join();
  bool ok = client_ok && total == n && memcmp(got_up, want_up, 32) == 0 && memcmp(got_down, want_down, 32) == 0;
  printf("up   %zu bytes sha256 %s %s\n", total, Hex(got_up).c_str(), memcmp(got_up, want_up, 32) ? "MISMATCH" : "ok");
  printf("down %zu bytes sha256 %s %s\n", n, Hex(got_down).c_str(), memcmp(got_down, want_down, 32) ? "MISMATCH" : "ok");
  return ok ? 0 : 1;
}
