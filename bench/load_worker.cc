// bench/load_worker.cc - see load_worker.h.
#include "bench/load_worker.h"

#include <sys/epoll.h>
#include <unistd.h>

#include <ctime>

namespace pftls::bench {

Worker::Worker(const LoadOptions& o, int id, long sessions, int concurrency, const std::atomic<bool>* stop)
    : opts_(o), id_(id), quota_(sessions), concurrency_(concurrency), stop_(stop), script_(BuildScript(o)) {
  // A different stretch of source addresses each run: servers that
  // remember clients (postscreen's cache) see new ones.
  source_base_ = static_cast<uint32_t>(getpid()) * 2654435761u ^ static_cast<uint32_t>(time(nullptr));
}

int Worker::NewSession(SSL* ssl, SSL_SESSION* sess) {
  auto* env = static_cast<SessionEnv*>(SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl)));
  env->Keep(sess);
  return 1;  // we own it now
}

bool Worker::Init(std::string* err) {
  ctx_.reset(SSL_CTX_new(TLS_client_method()));
  if (!ctx_) return *err = "SSL_CTX_new", false;
  SSL_CTX* c = ctx_.get();
  if (opts_.tls_version == 12) {
    SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION);
    SSL_CTX_set_max_proto_version(c, TLS1_2_VERSION);
  } else if (opts_.tls_version == 13) {
    SSL_CTX_set_min_proto_version(c, TLS1_3_VERSION);
  } else {
    SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION);
  }
  if (opts_.key_type == "rsa") {
    SSL_CTX_set1_sigalgs_list(c, "rsa_pss_rsae_sha256:rsa_pss_rsae_sha384:RSA+SHA256:RSA+SHA384");
  } else if (opts_.key_type == "ecdsa") {
    SSL_CTX_set1_sigalgs_list(c, "ECDSA+SHA256:ECDSA+SHA384");
  }
  SSL_CTX_set_verify(c, SSL_VERIFY_NONE, nullptr);
  SSL_CTX_set_mode(c, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  if (opts_.resume == Resume::kSessionId) SSL_CTX_set_options(c, SSL_OP_NO_TICKET);
  env_ = std::make_unique<SessionEnv>(SessionEnv{opts_, script_, c, stats_, {}});
  SSL_CTX_set_app_data(c, env_.get());
  if (opts_.resume != Resume::kNone) {
    SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(c, &Worker::NewSession);
  } else {
    SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
  }
  ep_.reset(epoll_create1(EPOLL_CLOEXEC));
  if (!ep_) return *err = "epoll_create1", false;
  return true;
}

bool Worker::MayStart(Clock::time_point now) const {
  if (stop_->load()) return false;
  if (quota_ > 0 && launched_ >= quota_) return false;
  if (opts_.duration > 0 && now >= stop_starting_) return false;
  if (in_progress_ >= concurrency_) return false;
  // Resumption: one session at a time until there is a session to offer.
  if (opts_.resume != Resume::kNone && env_->pool.empty() && in_progress_ > 0) return false;
  return true;
}

void Worker::StartOne(Clock::time_point now) {
  uint32_t source = source_base_ + static_cast<uint32_t>(id_) * 7919u + static_cast<uint32_t>(launched_);
  launched_++;
  auto s = std::make_unique<Session>(*env_, source);
  if (!s->Start(now)) return;
  int fd = s->fd();
  epoll_event ev{};
  ev.events = s->WantedEvents();
  ev.data.fd = fd;
  if (epoll_ctl(ep_.get(), EPOLL_CTL_ADD, fd, &ev) < 0) {
    stats_.err_connect++;
    return;
  }
  interest_[fd] = ev.events;
  in_progress_++;
  live_.emplace(fd, std::move(s));
}

// After an event: new interest, or removal of a finished session.
void Worker::Update(Session* s) {
  int fd = s->fd();
  auto it = live_.find(fd);
  if (s->finished() || fd < 0) {
    for (auto i = live_.begin(); i != live_.end(); ++i) {
      if (i->second.get() == s) {
        interest_.erase(i->first);  // the fd is already closed: epoll forgot it
        if (!s->holding()) in_progress_--;
        live_.erase(i);
        break;
      }
    }
    return;
  }
  if (it == live_.end()) return;
  uint32_t want = s->WantedEvents();
  if (interest_[fd] != want) {
    epoll_event ev{};
    ev.events = want;
    ev.data.fd = fd;
    epoll_ctl(ep_.get(), EPOLL_CTL_MOD, fd, &ev);
    interest_[fd] = want;
  }
}

void Worker::Run() {
  start_ = Clock::now();
  stop_starting_ = start_ + std::chrono::microseconds(static_cast<long>(opts_.duration * 1e6));
  Clock::time_point last_scan = start_;
  std::vector<epoll_event> events(256);
  for (;;) {
    Clock::time_point now = Clock::now();
    while (MayStart(now)) StartOne(now);
    long held = env_->held;
    held_.store(held);
    bool quota_used = (quota_ > 0 && launched_ >= quota_) || (opts_.duration > 0 && now >= stop_starting_);
    if (opts_.mode == Mode::kIdle) {
      if (quota_used && in_progress_ == 0) ready_.store(true);  // held ones are not in progress
      if (stop_->load()) break;
    } else if (in_progress_ == 0 && (quota_used || stop_->load())) {
      break;
    }
    int n = epoll_wait(ep_.get(), events.data(), static_cast<int>(events.size()), 50);
    now = Clock::now();
    for (int i = 0; i < n; i++) {
      auto it = live_.find(events[i].data.fd);
      if (it == live_.end()) continue;
      Session* s = it->second.get();
      bool was_holding = s->holding();
      s->OnEvent(events[i].events, now);
      if (s->holding() && !was_holding) in_progress_--;  // held sessions do not count
      if (was_holding && s->finished()) in_progress_++;  // Update() decrements again
      Update(s);
    }
    if (now - last_scan > std::chrono::milliseconds(100)) {
      last_scan = now;
      std::vector<Session*> check;
      for (auto& [fd, s] : live_) check.push_back(s.get());
      for (Session* s : check) {
        s->CheckTimeout(now);
        if (s->finished()) Update(s);
      }
    }
  }
  held_.store(env_->held);
  live_.clear();
}

}  // namespace pftls::bench
