// ipc/fdpass.cc - see ipc/fdpass.h.
#include "ipc/fdpass.h"

#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace pftls::ipc {

Status SendWithFd(int sock, const void* bytes, size_t len, int fd) {
  union {
    cmsghdr align;
    char buf[CMSG_SPACE(sizeof(int))];
  } control;
  std::memset(&control, 0, sizeof(control));
  iovec iov{const_cast<void*>(bytes), len};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.buf;
  msg.msg_controllen = sizeof(control.buf);
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(c), &fd, sizeof(int));

  for (int attempt = 0; attempt < 2; ++attempt) {
    ssize_t n;
    do {
      n = sendmsg(sock, &msg, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    if (n == static_cast<ssize_t>(len)) return Status::Ok();
    if (n < 0 && errno == EAGAIN) return MakeError("send descriptor: would block");
    if (n >= 0) return MakeError("send descriptor: short write");
    // One retry with the unpadded control length (old-kernel workaround).
    msg.msg_controllen = CMSG_LEN(sizeof(int));
  }
  return MakeError(std::string("send descriptor: ") + std::strerror(errno));
}

Status SendFd(int sock, int fd) {
  char payload = '\0';
  return SendWithFd(sock, &payload, 1, fd);
}

namespace {

// Recv - one recvmsg into buf with room for several descriptors, so that
// extra ones arrive and are closed by us instead of being silently
// truncated. Every descriptor is owned (fds) before anything is checked.
Result<Received> Recv(int sock, void* buf, size_t len) {
  constexpr size_t kMaxFds = 8;
  union {
    cmsghdr align;
    char buf[CMSG_SPACE(sizeof(int) * kMaxFds) + CMSG_SPACE(64)];
  } control;
  std::memset(&control, 0, sizeof(control));
  iovec iov{buf, len};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.buf;
  msg.msg_controllen = sizeof(control.buf);

  Received r;
  ssize_t n;
  do {
    n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
    r.again = true;
    return r;
  }
  if (n < 0) return MakeError(std::strerror(errno));
  bool other_cmsg = false;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS && c->cmsg_len >= CMSG_LEN(0)) {
      size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      for (size_t i = 0; i < count; ++i) {
        int fd;
        std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
        r.fds.emplace_back(fd);
      }
    } else {
      other_cmsg = true;
    }
  }
  if (msg.msg_flags & MSG_CTRUNC) return MakeError("truncated control data");
  if (other_cmsg) return MakeError("unexpected control message level/type");
  r.n = static_cast<size_t>(n);
  r.eof = n == 0;
  return r;
}

}  // namespace

Result<Received> RecvWithFds(int sock, void* buf, size_t len) { return Recv(sock, buf, len); }

Result<std::optional<UniqueFd>> RecvFd(int sock) {
  char payload = 1;
  auto got = Recv(sock, &payload, 1);
  if (!got) return MakeError("receive descriptor: " + got.error());
  if (got->again) return std::optional<UniqueFd>();
  if (got->eof) return MakeError("receive descriptor: unexpected end of file");
  if (got->fds.empty()) return MakeError("receive descriptor: no descriptor in message");
  if (got->fds.size() != 1)
    return MakeError("receive descriptor: " + std::to_string(got->fds.size()) + " descriptors, expected 1");
  if (payload != '\0') return MakeError("receive descriptor: payload is not a NUL byte");
  return std::optional<UniqueFd>(std::move(got->fds.front()));
}

}  // namespace pftls::ipc
