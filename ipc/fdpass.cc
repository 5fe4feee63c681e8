// ipc/fdpass.cc - see ipc/fdpass.h.
#include "ipc/fdpass.h"

#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace pftls::ipc {

Status SendFd(int sock, int fd) {
  union {
    cmsghdr align;
    char buf[CMSG_SPACE(sizeof(int))];
  } control;
  std::memset(&control, 0, sizeof(control));
  char payload = '\0';
  iovec iov{&payload, 1};
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
    if (n == 1) return Status::Ok();
    if (n < 0 && errno == EAGAIN) return MakeError("send descriptor: would block");
    if (n >= 0) return MakeError("send descriptor: short write");
    // One retry with the unpadded control length (old-kernel workaround).
    msg.msg_controllen = CMSG_LEN(sizeof(int));
  }
  return MakeError(std::string("send descriptor: ") + std::strerror(errno));
}

Result<std::optional<UniqueFd>> RecvFd(int sock) {
  // Room for several descriptors, so that extra ones arrive and are closed
  // by us instead of being silently truncated.
  constexpr size_t kMaxFds = 8;
  union {
    cmsghdr align;
    char buf[CMSG_SPACE(sizeof(int) * kMaxFds) + CMSG_SPACE(64)];
  } control;
  std::memset(&control, 0, sizeof(control));
  char payload = 1;
  iovec iov{&payload, 1};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.buf;
  msg.msg_controllen = sizeof(control.buf);

  ssize_t n;
  do {
    n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return std::optional<UniqueFd>();
  if (n < 0) return MakeError(std::string("receive descriptor: ") + std::strerror(errno));

  // Take ownership of everything that arrived before checking anything.
  std::vector<UniqueFd> fds;
  bool other_cmsg = false;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS && c->cmsg_len >= CMSG_LEN(0)) {
      size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      for (size_t i = 0; i < count; ++i) {
        int fd;
        std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
        fds.emplace_back(fd);
      }
    } else {
      other_cmsg = true;
    }
  }
  if (n == 0) return MakeError("receive descriptor: unexpected end of file");
  if (msg.msg_flags & MSG_CTRUNC) return MakeError("receive descriptor: truncated control data");
  if (other_cmsg) return MakeError("receive descriptor: unexpected control message level/type");
  if (fds.empty()) return MakeError("receive descriptor: no descriptor in message");
  if (fds.size() != 1) return MakeError("receive descriptor: " + std::to_string(fds.size()) + " descriptors, expected 1");
  if (payload != '\0') return MakeError("receive descriptor: payload is not a NUL byte");
  return std::optional<UniqueFd>(std::move(fds.front()));
}

}  // namespace pftls::ipc
