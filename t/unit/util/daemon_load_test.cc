// Tests for util/daemon_load: an event server reports TAKEN to master
// while its CPU use is high, AVAIL again once it drops (by its timer, with
// no client arriving), and writes nothing while the state is unchanged.
#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "util/daemon_state.h"
#include "util/master_proto.h"

namespace pftls::daemon {
namespace {

// StatusPipe - fd 5 (master's status pipe) is a pipe we read, for the
// test's duration; whatever fd 5 was is put back.
class StatusPipe {
 public:
  StatusPipe() {
    saved_ = fcntl(master_proto::kStatusFd, F_DUPFD_CLOEXEC, 10);
    int p[2];
    EXPECT_EQ(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
    rd_ = p[0];
    EXPECT_EQ(dup2(p[1], master_proto::kStatusFd), master_proto::kStatusFd);
    close(p[1]);
  }
  ~StatusPipe() {
    close(rd_);
    if (saved_ >= 0) {
      dup2(saved_, master_proto::kStatusFd);
      close(saved_);
    } else {
      close(master_proto::kStatusFd);
    }
  }
  // Records - the avail values written since the last call.
  std::vector<int> Records() {
    std::vector<int> out;
    char buf[12];
    while (read(rd_, buf, sizeof(buf)) == 12) {
      auto rec = master_proto::DecodeStatus(std::string_view(buf, 12));
      if (rec) out.push_back(rec->avail);
    }
    return out;
  }

 private:
  int saved_ = -1;
  int rd_ = -1;
};

void Burn(std::chrono::milliseconds d) {
  auto end = std::chrono::steady_clock::now() + d;
  volatile unsigned x = 0;
  while (std::chrono::steady_clock::now() < end) x = x + 1;
}

TEST(DaemonLoad, BusyIsTakenAndIdleIsAvailAgain) {
  StatusPipe status;
  ServerState s;
  s.base.reset(event_base_new());
  s.spec.flavour = Flavour::kEvent;
  s.status_ok = true;
  SampleLoad(s);  // the window starts
  EXPECT_TRUE(status.Records().empty());
  // Busy: a window (100 ms) with >= 85 % of a core. On a loaded machine
  // a window may fall short; keep burning, within 3 s.
  for (int i = 0; i < 150 && !s.load_taken; ++i) {
    Burn(std::chrono::milliseconds(20));
    SampleLoad(s);
  }
  EXPECT_TRUE(s.load_taken);
  EXPECT_EQ(status.Records(), std::vector<int>{master_proto::kStatTaken});
  SampleLoad(s);  // same window: nothing new
  EXPECT_TRUE(status.Records().empty());
  // Idle now: the timer samples again without any client.
  timeval tv{0, 350000};
  event_base_loopexit(s.base.get(), &tv);
  event_base_dispatch(s.base.get());
  EXPECT_FALSE(s.load_taken);
  EXPECT_EQ(status.Records(), std::vector<int>{master_proto::kStatAvail});
  s.load_timer.reset();
}

TEST(DaemonLoad, PausedAcceptingStaysTakenWhileBusyEnds) {
  StatusPipe status;
  ServerState s;
  s.base.reset(event_base_new());
  s.spec.flavour = Flavour::kEvent;
  s.status_ok = true;
  s.paused_taken = true;
  ReportAvail(s);
  EXPECT_EQ(status.Records(), std::vector<int>{master_proto::kStatTaken});
  s.load_taken = true;
  ReportAvail(s);  // still TAKEN: nothing written
  EXPECT_TRUE(status.Records().empty());
  s.paused_taken = false;
  ReportAvail(s);  // busy keeps it TAKEN
  EXPECT_TRUE(status.Records().empty());
  s.load_taken = false;
  ReportAvail(s);
  EXPECT_EQ(status.Records(), std::vector<int>{master_proto::kStatAvail});
}

}  // namespace
}  // namespace pftls::daemon
