// mgr/prng.cc - see mgr/prng.h.
#include "mgr/prng.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <poll.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <climits>
#include <cstring>

#include "util/log.h"

namespace pftls::mgr {
namespace {

using Clock = std::chrono::steady_clock;

// WaitFor - poll one fd until events or the deadline; false on timeout/error.
bool WaitFor(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) {
      errno = ETIMEDOUT;
      return false;
    }
    pollfd p{fd, events, 0};
    int n = ::poll(&p, 1, static_cast<int>(left));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    if (n == 0) {
      errno = ETIMEDOUT;
      return false;
    }
    return true;
  }
}

// ReadFull - read exactly n bytes before the deadline (EOF: EPIPE).
bool ReadFull(int fd, uint8_t* buf, size_t n, Clock::time_point deadline) {
  size_t got = 0;
  while (got < n) {
    if (!WaitFor(fd, POLLIN, deadline)) return false;
    ssize_t r = ::read(fd, buf + got, n - got);
    if (r < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (r < 0) return false;
    if (r == 0) {
      errno = EPIPE;
      return false;
    }
    got += static_cast<size_t>(r);
  }
  return true;
}

void SplitPath(const std::string& path, std::string* dir, std::string* base) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) {
    dir->assign(1, '.');
    base->assign(path);
    return;
  }
  dir->assign(path, 0, slash == 0 ? 1 : slash);
  base->assign(path, slash + 1, std::string::npos);
}

}  // namespace

std::unique_ptr<Prng> Prng::Open(PrngOptions options) {
  std::unique_ptr<Prng> p(new Prng(std::move(options)));
  p->OpenSource();
  if (!p->opts_.exchange.empty()) {
    std::string dir;
    SplitPath(p->opts_.exchange, &dir, &p->xbase_);
    p->xdir_.reset(::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    p->OpenExchange();
  }
  return p;
}

Prng::~Prng() { Disarm(); }

void Prng::OpenSource() {
  const std::string& s = opts_.source;
  if (s.empty()) {
    if (kind_ == Kind::kNone && source_path_.empty()) {
      log::Warn("no entropy source specified with parameter tls_random_source");
      log::Warn("encryption keys etc. may be predictable");
    }
    return;
  }
  if (s.rfind("dev:", 0) == 0) {
    kind_ = Kind::kDev;
    source_path_ = s.substr(4);
    src_.reset(::open(source_path_.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  } else if (s.rfind("egd:", 0) == 0) {
    kind_ = Kind::kEgd;
    source_path_ = s.substr(4);
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    if (source_path_.size() >= sizeof(sa.sun_path)) {
      errno = ENAMETOOLONG;
    } else {
      std::memcpy(sa.sun_path, source_path_.c_str(), source_path_.size() + 1);
      UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
      if (fd && ::connect(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) == 0) src_ = std::move(fd);
    }
  } else {
    kind_ = Kind::kFile;
    source_path_ = s;
    src_.reset(::open(source_path_.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  }
  if (!src_) log::Warn("cannot open entropy source %s: %s", s.c_str(), std::strerror(errno));
}

void Prng::OpenExchange() {
  if (opts_.exchange.empty() || xfd_) return;
  if (!xdir_) {
    std::string dir, base;
    SplitPath(opts_.exchange, &dir, &base);
    xdir_.reset(::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!xdir_) {
      log::Warn("cannot open PRNG exchange file %s: %s; will retry", opts_.exchange.c_str(), std::strerror(errno));
      return;
    }
  }
  xfd_.reset(::openat(xdir_.get(), xbase_.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!xfd_) {
    int err = errno;
    // The directory may have been replaced: forget it, look it up again next time.
    if (err == ENOENT) xdir_.reset();
    log::Warn("cannot open PRNG exchange file %s: %s; will retry", opts_.exchange.c_str(), std::strerror(err));
  }
}

void Prng::DropExchange(const char* why, int err) {
  log::Warn("PRNG exchange file %s: %s: %s; will retry", opts_.exchange.c_str(), why, std::strerror(err));
  xfd_.reset();
}

bool Prng::ReadEgd(uint8_t* buf, size_t n, size_t* got) {
  auto deadline = Clock::now() + std::chrono::milliseconds(opts_.io_timeout_ms);
  uint8_t req[2] = {0x01, static_cast<uint8_t>(n)};
  size_t sent = 0;
  while (sent < sizeof(req)) {
    if (!WaitFor(src_.get(), POLLOUT, deadline)) return false;
    ssize_t w = ::send(src_.get(), req + sent, sizeof(req) - sent, MSG_NOSIGNAL);
    if (w < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (w < 0) return false;
    sent += static_cast<size_t>(w);
  }
  uint8_t count = 0;
  if (!ReadFull(src_.get(), &count, 1, deadline)) return false;
  if (count > n) {
    errno = EPROTO;
    return false;
  }
  if (!ReadFull(src_.get(), buf, count, deadline)) return false;
  *got = count;
  return true;
}

bool Prng::ReadSource(uint8_t* buf, size_t n, size_t* got) {
  *got = 0;
  if (kind_ == Kind::kEgd) return ReadEgd(buf, n, got);
  auto deadline = Clock::now() + std::chrono::milliseconds(opts_.io_timeout_ms);
  if (!ReadFull(src_.get(), buf, n, deadline)) return false;
  *got = n;
  return true;
}

bool Prng::Reseed() {
  if (kind_ == Kind::kNone || kind_ == Kind::kFile) return kind_ == Kind::kFile;
  if (!src_) OpenSource();
  if (!src_) {
    stats_.reseed_failures++;
    return false;
  }
  uint8_t buf[kMaxSourceRead];
  size_t want = static_cast<size_t>(std::min(std::max(opts_.random_bytes, 1), kMaxSourceRead));
  size_t got = 0;
  if (!ReadSource(buf, want, &got)) {
    log::Warn("cannot read entropy source %s: %s; will reopen it", opts_.source.c_str(), std::strerror(errno));
    src_.reset();
    OPENSSL_cleanse(buf, sizeof(buf));
    stats_.reseed_failures++;
    return false;
  }
  RAND_add(buf, static_cast<int>(got), static_cast<double>(got));
  OPENSSL_cleanse(buf, sizeof(buf));
  stats_.reseeds++;
  return true;
}

bool Prng::Update() {
  if (opts_.exchange.empty()) return true;
  auto fail = [&]() {
    stats_.update_failures++;
    return false;
  };
  if (!xfd_) OpenExchange();
  if (!xfd_) return fail();
  struct stat st;
  if (::fstat(xfd_.get(), &st) != 0) {
    DropExchange("fstat", errno);
    return fail();
  }
  if (st.st_nlink == 0) {
    log::Warn("PRNG exchange file %s was removed -- reopening", opts_.exchange.c_str());
    xfd_.reset();
    xdir_.reset();  // the directory may be gone too; look it up again
    OpenExchange();
    if (!xfd_) return fail();
  }
  int fd = xfd_.get();
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    log::Warn("PRNG exchange file %s: cannot lock: %s; skipping this update", opts_.exchange.c_str(),
              std::strerror(errno));
    return fail();
  }
  uint8_t buf[kExchangeSize];
  bool ok = true;
  ssize_t n;
  do {
    n = ::pread(fd, buf, sizeof(buf), 0);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    int err = errno;
    ::flock(fd, LOCK_UN);
    DropExchange("read", err);
    return fail();
  }
  if (n > 0) RAND_seed(buf, static_cast<int>(n));
  if (RAND_bytes(buf, sizeof(buf)) != 1) {
    ::flock(fd, LOCK_UN);
    log::Warn("PRNG exchange file %s: RAND_bytes failed", opts_.exchange.c_str());
    return fail();
  }
  size_t off = 0;
  while (off < sizeof(buf)) {
    ssize_t w = ::pwrite(fd, buf + off, sizeof(buf) - off, static_cast<off_t>(off));
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      int err = w < 0 ? errno : EIO;
      OPENSSL_cleanse(buf, sizeof(buf));
      ::flock(fd, LOCK_UN);
      DropExchange("write", err);
      return fail();
    }
    off += static_cast<size_t>(w);
  }
  OPENSSL_cleanse(buf, sizeof(buf));
  ::flock(fd, LOCK_UN);
  if (ok) stats_.updates++;
  return ok;
}

void Prng::MixTime() {
  struct timeval tv;
  ::gettimeofday(&tv, nullptr);
  RAND_add(&tv, sizeof(tv), 0.0);
}

void Prng::Start() {
  struct {
    struct timeval tv;
    pid_t pid;
  } mix{};
  ::gettimeofday(&mix.tv, nullptr);
  mix.pid = ::getpid();
  RAND_add(&mix, sizeof(mix), 0.0);
  if (kind_ == Kind::kFile && src_) {
    std::unique_ptr<uint8_t[]> buf = std::make_unique<uint8_t[]>(static_cast<size_t>(std::max(opts_.random_bytes, 1)));
    size_t want = static_cast<size_t>(std::max(opts_.random_bytes, 1));
    ssize_t n;
    do {
      n = ::read(src_.get(), buf.get(), want);
    } while (n < 0 && errno == EINTR);
    if (n > 0) {
      RAND_add(buf.get(), static_cast<int>(n), static_cast<double>(n));
      stats_.reseeds++;
    } else {
      log::Warn("cannot read entropy source %s: %s", opts_.source.c_str(), n < 0 ? std::strerror(errno) : "empty");
      stats_.reseed_failures++;
    }
    OPENSSL_cleanse(buf.get(), want);
    src_.reset();  // a plain file is read once and forgotten
  } else {
    (void)Reseed();
  }
  (void)Update();
}

void Prng::Shutdown() {
  Disarm();
  (void)Update();
}

long Prng::RandomDelay(long period) {
  if (period <= 0) return 0;
  if (period > INT_MAX / 255) period = INT_MAX / 255;
  unsigned char r = 255;
  if (RAND_bytes(&r, 1) != 1) r = 255;
  return period * r / 255;
}

namespace {
void AddTimer(event* ev, long seconds) {
  timeval tv{seconds, 0};
  evtimer_add(ev, &tv);
}
}  // namespace

Status Prng::Arm(event_base* base) {
  Disarm();
  if (kind_ == Kind::kDev || kind_ == Kind::kEgd) {
    reseed_ev_.reset(evtimer_new(base, &Prng::ReseedCb, this));
    if (!reseed_ev_) return MakeError("cannot create the PRNG reseed timer");
    AddTimer(reseed_ev_.get(), NextReseedDelay());
  }
  if (!opts_.exchange.empty()) {
    update_ev_.reset(evtimer_new(base, &Prng::UpdateCb, this));
    if (!update_ev_) return MakeError("cannot create the PRNG exchange timer");
    AddTimer(update_ev_.get(), NextUpdateDelay());
  }
  return Status::Ok();
}

void Prng::Disarm() {
  reseed_ev_.reset();
  update_ev_.reset();
}

void Prng::ReseedCb(evutil_socket_t, short, void* arg) {
  auto* p = static_cast<Prng*>(arg);
  (void)p->Reseed();
  AddTimer(p->reseed_ev_.get(), p->NextReseedDelay());
}

void Prng::UpdateCb(evutil_socket_t, short, void* arg) {
  auto* p = static_cast<Prng*>(arg);
  (void)p->Update();
  AddTimer(p->update_ev_.get(), p->NextUpdateDelay());
}

}  // namespace pftls::mgr
