// Tests for ipc/fdpass.h over socketpairs: the descriptor arrives and
// works; malformed transfers are rejected and leak no descriptor.
#include <dirent.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstring>

#include "ipc/fdpass.h"

namespace pftls::ipc {
namespace {

int CountFds() {
  int n = 0;
  DIR* d = opendir("/proc/self/fd");
  while (dirent* e = readdir(d)) n += e->d_name[0] != '.';
  closedir(d);
  return n - 1;  // the DIR's own descriptor
}

struct Pair {
  Pair() {
    int sv[2];
    EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    a.reset(sv[0]);
    b.reset(sv[1]);
  }
  UniqueFd a, b;
};

// SendRaw - sendmsg with n descriptors and the given control length.
ssize_t SendRaw(int sock, const int* fds, size_t n, char payload = '\0') {
  char ctl[CMSG_SPACE(sizeof(int) * 32)] = {};
  iovec iov{&payload, 1};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  if (n > 0) {
    msg.msg_control = ctl;
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * n);
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * n);
    std::memcpy(CMSG_DATA(c), fds, sizeof(int) * n);
  }
  return sendmsg(sock, &msg, 0);
}

TEST(FdPass, GoodDescriptorWorksAndIsCloexec) {
  Pair p;
  int pipefd[2];
  ASSERT_EQ(pipe(pipefd), 0);
  UniqueFd r(pipefd[0]), w(pipefd[1]);
  ASSERT_TRUE(SendFd(p.a.get(), w.get()));
  Result<std::optional<UniqueFd>> got = RecvFd(p.b.get());
  ASSERT_TRUE(got) << got.error();
  ASSERT_TRUE(*got);
  UniqueFd fd = std::move(**got);
  EXPECT_NE(fd.get(), w.get());
  EXPECT_TRUE(fcntl(fd.get(), F_GETFD) & FD_CLOEXEC);
  ASSERT_EQ(write(fd.get(), "x", 1), 1);
  char c = 0;
  ASSERT_EQ(read(r.get(), &c, 1), 1);
  EXPECT_EQ(c, 'x');
}

TEST(FdPass, NothingYetOnNonBlockingSocket) {
  Pair p;
  ASSERT_TRUE(SetNonBlocking(p.b.get()));
  Result<std::optional<UniqueFd>> got = RecvFd(p.b.get());
  ASSERT_TRUE(got);
  EXPECT_FALSE(*got);
}

TEST(FdPass, TwoDescriptorsRejectedAndBothClosed) {
  Pair p;
  int pipefd[2];
  ASSERT_EQ(pipe(pipefd), 0);
  UniqueFd r(pipefd[0]), w(pipefd[1]);
  int before = CountFds();
  int two[2] = {r.get(), w.get()};
  ASSERT_EQ(SendRaw(p.a.get(), two, 2), 1);
  Result<std::optional<UniqueFd>> got = RecvFd(p.b.get());
  ASSERT_FALSE(got);
  EXPECT_NE(got.error().find("2 descriptors"), std::string::npos) << got.error();
  EXPECT_EQ(CountFds(), before);
}

TEST(FdPass, TruncatedControlDataRejectedNoLeak) {
  Pair p;
  int pipefd[2];
  ASSERT_EQ(pipe(pipefd), 0);
  UniqueFd r(pipefd[0]), w(pipefd[1]);
  int before = CountFds();
  int many[32];
  for (int& f : many) f = w.get();
  ASSERT_EQ(SendRaw(p.a.get(), many, 32), 1);
  Result<std::optional<UniqueFd>> got = RecvFd(p.b.get());
  ASSERT_FALSE(got);
  EXPECT_NE(got.error().find("truncated control data"), std::string::npos) << got.error();
  EXPECT_EQ(CountFds(), before);
}

TEST(FdPass, NoDescriptorEofAndBadPayload) {
  Pair p;
  ASSERT_EQ(SendRaw(p.a.get(), nullptr, 0), 1);
  Result<std::optional<UniqueFd>> none = RecvFd(p.b.get());
  ASSERT_FALSE(none);
  EXPECT_NE(none.error().find("no descriptor"), std::string::npos);

  int pipefd[2];
  ASSERT_EQ(pipe(pipefd), 0);
  UniqueFd r(pipefd[0]), w(pipefd[1]);
  int before = CountFds();
  int one = w.get();
  ASSERT_EQ(SendRaw(p.a.get(), &one, 1, 'X'), 1);
  Result<std::optional<UniqueFd>> bad = RecvFd(p.b.get());
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().find("payload"), std::string::npos);
  EXPECT_EQ(CountFds(), before);

  p.a.reset();
  Result<std::optional<UniqueFd>> eof = RecvFd(p.b.get());
  ASSERT_FALSE(eof);
  EXPECT_NE(eof.error().find("end of file"), std::string::npos);
}

TEST(FdPass, WrongControlMessageTypeRejected) {
  Pair p;
  int on = 1;
  ASSERT_EQ(setsockopt(p.b.get(), SOL_SOCKET, SO_PASSCRED, &on, sizeof(on)), 0);
  int pipefd[2];
  ASSERT_EQ(pipe(pipefd), 0);
  UniqueFd r(pipefd[0]), w(pipefd[1]);
  int before = CountFds();
  ASSERT_TRUE(SendFd(p.a.get(), w.get()));
  Result<std::optional<UniqueFd>> got = RecvFd(p.b.get());
  ASSERT_FALSE(got);
  EXPECT_NE(got.error().find("level/type"), std::string::npos) << got.error();
  EXPECT_EQ(CountFds(), before);
}

}  // namespace
}  // namespace pftls::ipc
