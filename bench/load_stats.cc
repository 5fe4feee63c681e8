// bench/load_stats.cc - see load_stats.h.
#include "bench/load_stats.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace pftls::bench {

void LoadStats::Merge(const LoadStats& o) {
  started += o.started;
  completed += o.completed;
  handshakes += o.handshakes;
  reused += o.reused;
  err_connect += o.err_connect;
  err_tls += o.err_tls;
  err_protocol += o.err_protocol;
  err_timeout += o.err_timeout;
  bytes_up += o.bytes_up;
  bytes_down += o.bytes_down;
  handshake_us.insert(handshake_us.end(), o.handshake_us.begin(), o.handshake_us.end());
  session_us.insert(session_us.end(), o.session_us.begin(), o.session_us.end());
}

double Percentile(std::vector<uint32_t>* v, double pct) {
  if (v->empty()) return 0;
  std::sort(v->begin(), v->end());
  size_t rank = static_cast<size_t>(std::ceil(pct / 100.0 * static_cast<double>(v->size())));
  if (rank < 1) rank = 1;
  return (*v)[std::min(rank, v->size()) - 1];
}

namespace {

struct Summary {
  double rate, hs50, hs99, ss50, ss99, reuse, mbps;
};

Summary Summarize(const LoadStats& s, double seconds) {
  std::vector<uint32_t> hs = s.handshake_us, ss = s.session_us;
  Summary r{};
  r.rate = seconds > 0 ? static_cast<double>(s.completed) / seconds : 0;
  r.hs50 = Percentile(&hs, 50) / 1000.0;
  r.hs99 = Percentile(&hs, 99) / 1000.0;
  r.ss50 = Percentile(&ss, 50) / 1000.0;
  r.ss99 = Percentile(&ss, 99) / 1000.0;
  r.reuse = s.handshakes > 0 ? static_cast<double>(s.reused) / static_cast<double>(s.handshakes) : 0;
  r.mbps = seconds > 0 ? static_cast<double>(s.bytes_up + s.bytes_down) / seconds / 1e6 : 0;
  return r;
}

}  // namespace

std::string LoadStats::Json(double seconds, const std::string& mode) const {
  Summary r = Summarize(*this, seconds);
  char buf[1024];
  snprintf(buf, sizeof buf,
           "{\"mode\":\"%s\",\"seconds\":%.3f,\"started\":%ld,\"sessions\":%ld,\"sessions_per_s\":%.1f,"
           "\"handshakes\":%ld,\"reused\":%ld,\"reuse_ratio\":%.4f,"
           "\"handshake_ms_p50\":%.3f,\"handshake_ms_p99\":%.3f,\"session_ms_p50\":%.3f,\"session_ms_p99\":%.3f,"
           "\"errors\":%ld,\"err_connect\":%ld,\"err_tls\":%ld,\"err_protocol\":%ld,\"err_timeout\":%ld,"
           "\"bytes_up\":%ld,\"bytes_down\":%ld,\"mb_per_s\":%.2f}",
           mode.c_str(), seconds, started, completed, r.rate, handshakes, reused, r.reuse, r.hs50, r.hs99, r.ss50,
           r.ss99, errors(), err_connect, err_tls, err_protocol, err_timeout, bytes_up, bytes_down, r.mbps);
  return buf;
}

std::string LoadStats::Text(double seconds) const {
  Summary r = Summarize(*this, seconds);
  char buf[1024];
  snprintf(buf, sizeof buf,
           "sessions %ld/%ld in %.2f s: %.1f sessions/s\n"
           "handshake p50 %.2f ms p99 %.2f ms; session p50 %.2f ms p99 %.2f ms\n"
           "resumed %ld of %ld handshakes (%.1f%%)\n"
           "errors %ld (connect %ld, tls %ld, protocol %ld, timeout %ld)\n"
           "payload up %ld down %ld bytes: %.2f MB/s\n",
           completed, started, seconds, r.rate, r.hs50, r.hs99, r.ss50, r.ss99, reused, handshakes, 100 * r.reuse,
           errors(), err_connect, err_tls, err_protocol, err_timeout, bytes_up, bytes_down, r.mbps);
  return buf;
}

}  // namespace pftls::bench
