// ipc/client_sync.cc - see ipc/client_sync.h.
#include "ipc/client_sync.h"

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include "ipc/msg_announce.h"
#include "ipc/unix_socket.h"

namespace pftls::ipc {
namespace {

using Clock = std::chrono::steady_clock;

// WaitFor - poll fd for events until the deadline.
Status WaitFor(int fd, short events, Clock::time_point deadline, const char* what) {
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return MakeError(std::string("timeout ") + what);
    pollfd p{fd, events, 0};
    int n = poll(&p, 1, static_cast<int>(std::min<long long>(left, 60000)));
    if (n > 0) return Status::Ok();
    if (n < 0 && errno != EINTR) return MakeError(std::string("poll: ") + std::strerror(errno));
  }
}

}  // namespace

Status SyncClient::Connect(Clock::time_point deadline, bool* fatal) {
  *fatal = false;
  bool in_progress = false;
  Result<UniqueFd> fd = ConnectUnix(opts_.path, &in_progress);
  if (!fd) return std::move(fd).take_error();
  if (in_progress) {
    if (Status s = WaitFor(fd->get(), POLLOUT, deadline, "connecting"); !s) return s;
    int err = 0;
    socklen_t len = sizeof(err);
    if (getsockopt(fd->get(), SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0)
      return MakeError("connect to " + opts_.path + ": " + std::strerror(err ? err : errno));
  }
  fd_ = std::move(*fd);
  opened_ = Clock::now();
  last_used_ = opened_;
  if (!opts_.protocol.empty()) {
    bool transport = false;
    Result<Record> hello = ReadRecord(deadline, &transport);
    if (!hello) {
      *fatal = !transport;
      Close();
      return MakeError("reading announcement: " + hello.error());
    }
    Result<Announce> a = Announce::Decode(*hello);
    Status ok = a ? a->Validate(opts_.protocol) : Status(MakeError(a.error()));
    if (!ok) {
      *fatal = true;
      Close();
      return MakeError(opts_.path + ": " + ok.error());
    }
  }
  return Status::Ok();
}

Status SyncClient::WriteAll(std::string_view bytes, Clock::time_point deadline) {
  size_t off = 0;
  while (off < bytes.size()) {
    ssize_t n = send(fd_.get(), bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    if (n > 0) {
      off += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (Status s = WaitFor(fd_.get(), POLLOUT, deadline, "writing request"); !s) return s;
      continue;
    }
    return MakeError(std::string("write: ") + std::strerror(errno));
  }
  return Status::Ok();
}

Result<Record> SyncClient::ReadRecord(Clock::time_point deadline, bool* transport) {
  Attr0Parser parser;
  uint8_t buf[4096];
  *transport = true;
  while (!parser.done()) {
    if (Status s = WaitFor(fd_.get(), POLLIN, deadline, "reading reply"); !s) return MakeError(s.error());
    ssize_t n = recv(fd_.get(), buf, sizeof(buf), 0);
    if (n == 0) return MakeError("unexpected end of file");
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) continue;
      return MakeError(std::string("read: ") + std::strerror(errno));
    }
    Result<size_t> used = parser.Feed(std::span<const uint8_t>(buf, static_cast<size_t>(n)));
    if (!used) {
      *transport = false;
      return std::move(used).take_error();
    }
    if (*used != static_cast<size_t>(n)) {
      *transport = false;
      return MakeError("unexpected bytes after the reply");
    }
  }
  return parser.Take();
}

bool SyncClient::StillUsable(Clock::time_point now) {
  if (!fd_) return false;
  if (now - last_used_ > opts_.idle_timeout || now - opened_ > opts_.ttl) return false;
  // Readable before we asked anything: the server closed or misbehaves.
  pollfd p{fd_.get(), POLLIN, 0};
  return poll(&p, 1, 0) == 0;
}

Result<Record> SyncClient::Call(std::string_view request) {
  Clock::time_point deadline = Clock::now() + opts_.timeout;
  std::string last_error = "no attempt made";
  for (int attempt = 0; attempt < std::max(1, opts_.attempts); ++attempt) {
    if (attempt > 0) {
      if (opts_.retry_delay.count() > 0) {
        if (Clock::now() + opts_.retry_delay >= deadline) break;
        std::this_thread::sleep_for(opts_.retry_delay);
      }
      if (Clock::now() >= deadline) break;
    }
    if (!StillUsable(Clock::now())) {
      Close();
      bool fatal = false;
      if (Status s = Connect(deadline, &fatal); !s) {
        last_error = s.error();
        if (fatal) return MakeError(last_error);
        continue;
      }
    }
    if (Status s = WriteAll(request, deadline); !s) {
      Close();
      last_error = s.error();
      continue;
    }
    bool transport = true;
    Result<Record> reply = ReadRecord(deadline, &transport);
    if (!reply) {
      Close();
      last_error = reply.error();
      if (!transport) return MakeError(opts_.path + ": " + last_error);
      continue;
    }
    last_used_ = Clock::now();
    return reply;
  }
  return MakeError(opts_.path + ": " + last_error);
}

}  // namespace pftls::ipc
