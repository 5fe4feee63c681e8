// front/relay.cc - see front/relay.h.
#include "front/relay.h"

#include <sys/socket.h>

#include <cerrno>

namespace pftls::front {
namespace {


}  // namespace

Relay::Relay(event_base* base, UniqueFd a, UniqueFd b, RelayOptions opts, DoneFn done)
    : base_(base), a_(std::move(a)), b_(std::move(b)), opts_(opts), done_(std::move(done)) {
  dir_[0].buf = proxy::RelayBuffer(opts_.buffer_size);
  dir_[1].buf = proxy::RelayBuffer(opts_.buffer_size);
}

Relay::~Relay() = default;

bool Relay::Start(const std::string& a_to_b, const std::string& b_to_a) {
  if (!SetNonBlocking(a_.get()) || !SetNonBlocking(b_.get())) return false;
  dir_[0].from = a_.get();
  dir_[0].to = b_.get();
  dir_[1].from = b_.get();
  dir_[1].to = a_.get();
  for (int i = 0; i < 2; ++i) {
    Direction& d = dir_[i];
    // The direction index travels in the event's argument via `this` + tag.
    d.rd.reset(event_new(base_, d.from, EV_READ | EV_PERSIST, OnRead, this));
    d.wr.reset(event_new(base_, d.to, EV_WRITE | EV_PERSIST, OnWrite, this));
    if (!d.rd || !d.wr) return false;
  }
  if (!dir_[0].buf.Append(a_to_b.data(), a_to_b.size()) || !dir_[1].buf.Append(b_to_a.data(), b_to_a.size()))
    return false;
  idle_.reset(evtimer_new(base_, OnTimer, this));
  if (opts_.total_timeout.count() > 0) {
    total_.reset(evtimer_new(base_, OnTimer, this));
    timeval tv{static_cast<time_t>(opts_.total_timeout.count()), 0};
    evtimer_add(total_.get(), &tv);
  }
  timeval tv{static_cast<time_t>(opts_.idle_timeout.count()), 0};
  evtimer_add(idle_.get(), &tv);
  Pump(dir_[0], false);
  Pump(dir_[1], false);
  Update();
  return true;
}

void Relay::OnRead(evutil_socket_t fd, short, void* arg) {
  auto* r = static_cast<Relay*>(arg);
  bool progress = false;
  for (Direction& d : r->dir_)
    if (d.from == fd && !r->finished_) progress |= r->Pump(d, true);
  if (progress && !r->finished_) {
    timeval tv{static_cast<time_t>(r->opts_.idle_timeout.count()), 0};
    evtimer_add(r->idle_.get(), &tv);
  }
  r->Update();
}

void Relay::OnWrite(evutil_socket_t fd, short, void* arg) {
  auto* r = static_cast<Relay*>(arg);
  bool progress = false;
  for (Direction& d : r->dir_)
    if (d.to == fd && !r->finished_) progress |= r->Pump(d, false);
  if (progress && !r->finished_) {
    timeval tv{static_cast<time_t>(r->opts_.idle_timeout.count()), 0};
    evtimer_add(r->idle_.get(), &tv);
  }
  r->Update();
}

void Relay::OnTimer(evutil_socket_t, short, void* arg) { static_cast<Relay*>(arg)->Finish("timeout"); }

// Pump - move bytes for one direction; returns whether anything moved.
bool Relay::Pump(Direction& d, bool readable) {
  bool progress = false;
  if (readable && !d.eof && d.buf.room() > 0) {
    ssize_t n = read(d.from, d.buf.WriteSpace(), d.buf.room());
    if (n > 0) {
      d.buf.Commit(static_cast<size_t>(n));
      progress = true;
    } else {
      d.buf.Trim();
      if (n == 0) {
        d.eof = true;
        progress = true;
      } else if (errno != EAGAIN && errno != EINTR) {
        Finish("read error");
        return false;
      }
    }
  }
  while (!d.buf.empty()) {
    ssize_t n = send(d.to, d.buf.Data(), d.buf.size(), MSG_NOSIGNAL);
    if (n > 0) {
      d.buf.Consume(static_cast<size_t>(n));
      d.bytes += static_cast<uint64_t>(n);
      progress = true;
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) break;
    Finish("write error");
    return false;
  }
  if (d.eof && d.buf.empty() && !d.shut) {
    shutdown(d.to, SHUT_WR);
    d.shut = d.done = true;
  }
  return progress;
}

void Relay::Arm(EventPtr& ev, bool* armed, bool want) {
  if (want == *armed) return;
  if (want) event_add(ev.get(), nullptr);
  else event_del(ev.get());
  *armed = want;
}

void Relay::Update() {
  if (finished_) return;
  if (dir_[0].done && dir_[1].done) return Finish("done");
  for (Direction& d : dir_) {
    Arm(d.rd, &d.rd_armed, !d.eof && d.buf.room() > 0);
    Arm(d.wr, &d.wr_armed, !d.buf.empty());
  }
}

void Relay::Finish(const char* reason) {
  if (finished_) return;
  finished_ = true;
  reason_ = reason;
  for (Direction& d : dir_) {
    d.rd.reset();
    d.wr.reset();
    d.buf.Clear();
  }
  idle_.reset();
  total_.reset();
  a_.reset();
  b_.reset();
  if (done_) done_(this);
}

}  // namespace pftls::front
