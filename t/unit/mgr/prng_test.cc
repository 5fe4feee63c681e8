// Tests for mgr/prng: sources (dev, egd, file, none), the exchange file
// and its error cases (all warnings, never fatal), random delays, timers.
#include "mgr/prng.h"

#include <gtest/gtest.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <fstream>
#include <iterator>
#include <string>
#include <thread>

#include "t/unit/mgr/test_util.h"

namespace pftls::mgr {
namespace {

using testing::LogCapture;
using testing::TempDir;
using testing::WriteFile;

std::string ReadAll(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

PrngOptions Opts(const std::string& source, const std::string& exchange) {
  PrngOptions o;
  o.source = source;
  o.exchange = exchange;
  o.io_timeout_ms = 300;
  return o;
}

TEST(Prng, ExchangeFileIs1024BytesMode0600AndChangesOnUpdate) {
  TempDir d;
  std::string x = d / "prng_exch";
  LogCapture cap;
  auto p = Prng::Open(Opts("dev:/dev/urandom", x));
  p->Start();
  struct stat sb;
  ASSERT_EQ(::stat(x.c_str(), &sb), 0);
  EXPECT_EQ(sb.st_size, 1024);
  EXPECT_EQ(sb.st_mode & 0777, 0600u);
  std::string first = ReadAll(x);
  EXPECT_TRUE(p->Update());
  EXPECT_NE(ReadAll(x), first);
  EXPECT_EQ(p->stats().updates, 2u);
  EXPECT_EQ(p->stats().reseeds, 1u);
  EXPECT_EQ(cap.Count(log::Level::kWarning), 0u);
  p->Shutdown();
  EXPECT_EQ(p->stats().updates, 3u);
}

TEST(Prng, ExistingLongerExchangeFileIsRewrittenAtOffsetZero) {
  TempDir d;
  std::string x = d / "prng_exch";
  WriteFile(x, std::string(1500, 'A'));
  auto p = Prng::Open(Opts("", x));
  EXPECT_TRUE(p->Update());
  std::string now = ReadAll(x);
  ASSERT_EQ(now.size(), 1500u);
  EXPECT_NE(now.substr(0, 1024), std::string(1024, 'A'));
  EXPECT_EQ(now.substr(1024), std::string(476, 'A'));
}

TEST(Prng, MissingDirectoryIsAWarningAndReopenedLater) {
  TempDir d;
  std::string x = d / "sub/prng_exch";
  LogCapture cap;
  auto p = Prng::Open(Opts("dev:/dev/urandom", x));
  p->Start();  // no exit, no exception
  EXPECT_GE(cap.Count(log::Level::kWarning, "PRNG exchange file"), 1u);
  EXPECT_FALSE(p->exchange_open());
  EXPECT_FALSE(p->Update());
  ASSERT_EQ(::mkdir((d / "sub").c_str(), 0700), 0);
  EXPECT_TRUE(p->Update());
  EXPECT_EQ(ReadAll(x).size(), 1024u);
}

TEST(Prng, UnlinkedFileIsReopened) {
  TempDir d;
  std::string x = d / "prng_exch";
  auto p = Prng::Open(Opts("", x));
  ASSERT_TRUE(p->Update());
  ASSERT_EQ(::unlink(x.c_str()), 0);
  LogCapture cap;
  EXPECT_TRUE(p->Update());
  EXPECT_EQ(cap.Count(log::Level::kWarning, "was removed"), 1u);
  EXPECT_EQ(ReadAll(x).size(), 1024u);
}

TEST(Prng, FullDiskIsAWarning) {
  // /dev/full accepts open and read, and fails every write with ENOSPC.
  LogCapture cap;
  auto p = Prng::Open(Opts("", "/dev/full"));
  EXPECT_FALSE(p->Update());
  EXPECT_EQ(cap.Count(log::Level::kWarning, "No space left on device"), 1u);
  EXPECT_FALSE(p->exchange_open());  // dropped; reopened at the next update
  EXPECT_FALSE(p->Update());
  EXPECT_EQ(p->stats().update_failures, 2u);
}

TEST(Prng, LockHeldElsewhereSkipsTheUpdate) {
  TempDir d;
  std::string x = d / "prng_exch";
  auto p = Prng::Open(Opts("", x));
  UniqueFd other(::open(x.c_str(), O_RDWR | O_CLOEXEC));
  ASSERT_TRUE(other);
  ASSERT_EQ(::flock(other.get(), LOCK_EX), 0);
  LogCapture cap;
  EXPECT_FALSE(p->Update());
  EXPECT_EQ(cap.Count(log::Level::kWarning, "cannot lock"), 1u);
  ASSERT_EQ(::flock(other.get(), LOCK_UN), 0);
  EXPECT_TRUE(p->Update());
}

// ReadOnlyAsNobody - run fn in a child as uid/gid 65534; its exit status.
template <class Fn>
int AsNobody(Fn fn) {
  pid_t pid = ::fork();
  if (pid == 0) {
    if (::setresgid(65534, 65534, 65534) != 0 || ::setresuid(65534, 65534, 65534) != 0) ::_exit(3);
    ::_exit(fn());
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 100 + WTERMSIG(status);
}

TEST(Prng, ReadOnlyDirectoryAndFileAreWarnings) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to switch to an unprivileged uid";
  TempDir d;
  ASSERT_EQ(::chmod(d.path().c_str(), 0755), 0);
  ASSERT_EQ(::mkdir((d / "ro").c_str(), 0555), 0);
  WriteFile(d / "rofile", std::string(1024, 'r'));
  ASSERT_EQ(::chmod((d / "rofile").c_str(), 0444), 0);
  for (std::string x : {d / "ro/prng_exch", d / "rofile"}) {
    int rc = AsNobody([&]() {
      LogCapture cap;
      auto p = Prng::Open(Opts("dev:/dev/urandom", x));
      p->Start();
      bool again = p->Update();
      p->Shutdown();
      if (again) return 1;
      if (cap.Count(log::Level::kWarning, "Permission denied") < 2) return 2;
      return 0;
    });
    EXPECT_EQ(rc, 0) << x;
  }
  EXPECT_EQ(ReadAll(d / "rofile"), std::string(1024, 'r'));
}

TEST(Prng, NoSourceWarnsTwice) {
  LogCapture cap;
  auto p = Prng::Open(Opts("", ""));
  EXPECT_TRUE(cap.Has("no entropy source specified with parameter tls_random_source"));
  EXPECT_TRUE(cap.Has("encryption keys etc. may be predictable"));
  EXPECT_EQ(cap.Count(log::Level::kWarning), 2u);
}

TEST(Prng, MissingDeviceIsAWarning) {
  LogCapture cap;
  auto p = Prng::Open(Opts("dev:/nonexistent/urandom", ""));
  EXPECT_FALSE(p->Reseed());
  EXPECT_GE(cap.Count(log::Level::kWarning, "entropy source"), 2u);
}

TEST(Prng, PlainFileIsReadOnceAndForgotten) {
  TempDir d;
  WriteFile(d / "seedfile", std::string(64, 's'));
  auto p = Prng::Open(Opts(d / "seedfile", ""));
  p->Start();
  EXPECT_EQ(p->stats().reseeds, 1u);
  EXPECT_TRUE(p->Reseed());  // nothing to do
  EXPECT_EQ(p->stats().reseeds, 1u);
}

// FakeEgd - serves one connection: reads 0x01 n, replies with reply_count
// then reply_count bytes (or nothing when silent).
class FakeEgd {
 public:
  FakeEgd(const std::string& path, int reply_extra, bool silent) : path_(path) {
    listen_.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path.c_str());
    EXPECT_EQ(::bind(listen_.get(), reinterpret_cast<sockaddr*>(&sa), sizeof(sa)), 0);
    EXPECT_EQ(::listen(listen_.get(), 1), 0);
    thread_ = std::thread([this, reply_extra, silent]() {
      UniqueFd c(::accept(listen_.get(), nullptr, nullptr));
      if (!c) return;
      uint8_t req[2];
      if (::recv(c.get(), req, 2, MSG_WAITALL) != 2) return;
      request_ = req[1];
      if (silent) {
        uint8_t b;
        (void)::recv(c.get(), &b, 1, 0);  // until the client gives up
        return;
      }
      uint8_t count = static_cast<uint8_t>(req[1] + reply_extra);
      std::string reply(1, static_cast<char>(count));
      reply.append(count, 'e');
      (void)::send(c.get(), reply.data(), reply.size(), MSG_NOSIGNAL);
      uint8_t b;
      (void)::recv(c.get(), &b, 1, 0);
    });
  }
  ~FakeEgd() {
    if (thread_.joinable()) thread_.join();
  }
  int request_ = -1;

 private:
  std::string path_;
  UniqueFd listen_;
  std::thread thread_;
};

TEST(Prng, EgdProtocol) {
  TempDir d;
  std::string sock = d / "egd";
  int request = -1;
  {
    FakeEgd egd(sock, 0, false);
    PrngOptions o = Opts("egd:" + sock, "");
    o.random_bytes = 300;  // capped at 255
    auto p = Prng::Open(o);
    EXPECT_TRUE(p->Reseed());
    EXPECT_EQ(p->stats().reseeds, 1u);
    p.reset();  // closes the connection: the server thread ends
    request = egd.request_;
  }
  EXPECT_EQ(request, 255);
}

TEST(Prng, EgdOverlongReplyIsRejected) {
  TempDir d;
  std::string sock = d / "egd";
  FakeEgd egd(sock, 1, false);
  LogCapture cap;
  auto p = Prng::Open(Opts("egd:" + sock, ""));
  EXPECT_FALSE(p->Reseed());
  EXPECT_EQ(cap.Count(log::Level::kWarning, "cannot read entropy source"), 1u);
}

TEST(Prng, EgdSilentServerTimesOut) {
  TempDir d;
  std::string sock = d / "egd";
  FakeEgd egd(sock, 0, true);
  LogCapture cap;
  auto p = Prng::Open(Opts("egd:" + sock, ""));
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_FALSE(p->Reseed());
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(3));
  EXPECT_TRUE(cap.Has("timed out"));
}

TEST(Prng, RandomDelayIsWithinPeriod) {
  EXPECT_EQ(Prng::RandomDelay(0), 0);
  bool below = false;
  for (int i = 0; i < 200; i++) {
    long v = Prng::RandomDelay(3600);
    EXPECT_GE(v, 0);
    EXPECT_LE(v, 3600);
    if (v < 3600) below = true;
  }
  EXPECT_TRUE(below);
  EXPECT_LE(Prng::RandomDelay(LONG_MAX), INT_MAX / 255);
}

TEST(Prng, ArmDrivesUpdatesFromTheCallersEventBase) {
  TempDir d;
  std::string x = d / "prng_exch";
  PrngOptions o = Opts("dev:/dev/urandom", x);
  o.update_period = 1;
  o.reseed_period = 1;
  auto p = Prng::Open(o);
  EventBasePtr base(event_base_new());
  ASSERT_TRUE(p->Arm(base.get()));
  timeval stop{2, 300000};
  event_base_loopexit(base.get(), &stop);
  event_base_dispatch(base.get());
  EXPECT_GE(p->stats().updates, 1u);
  EXPECT_GE(p->stats().reseeds, 1u);
  p->Disarm();
}

}  // namespace
}  // namespace pftls::mgr
