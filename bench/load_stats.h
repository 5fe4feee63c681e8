/*++
 * NAME
 *	bench/load_stats.h - counters and latency samples of tlsload(1)
 * SYNOPSIS
 *	#include "bench/load_stats.h"
 *
 *	bench::LoadStats s;  s.handshake_us.push_back(...);  total.Merge(s);
 *	std::string line = total.Json(seconds);  std::string text = total.Text(seconds);
 * DESCRIPTION
 *	One LoadStats per worker thread (no locking), merged at the end.
 *	Percentile() is nearest-rank over the sorted samples. The report
 *	gives sessions/s, handshake and session latency p50/p99 (ms), the
 *	error counts by kind, the resumption ratio observed by the client
 *	(SSL_session_reused over completed handshakes) and the bytes moved.
 * SECURITY
 *	None.
 * DIAGNOSTICS
 *	None.
 * CONFIGURATION PARAMETERS
 *	None.
 *--*/
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace pftls::bench {

struct LoadStats {
  long started = 0;
  long completed = 0;   // sessions that ran to the end of their script
  long handshakes = 0;  // TLS handshakes completed
  long reused = 0;      // of which resumed
  long err_connect = 0;
  long err_tls = 0;
  long err_protocol = 0;  // unexpected reply or early close
  long err_timeout = 0;
  long bytes_up = 0;    // application payload sent (raw mode)
  long bytes_down = 0;  // application payload received (raw mode)
  std::vector<uint32_t> handshake_us;
  std::vector<uint32_t> session_us;

  void Merge(const LoadStats& o);
  long errors() const { return err_connect + err_tls + err_protocol + err_timeout; }
  std::string Json(double seconds, const std::string& mode) const;
  std::string Text(double seconds) const;
};

// Nearest-rank percentile (0..100) of v, in the unit of v; 0 when empty. Sorts v.
double Percentile(std::vector<uint32_t>* v, double pct);

}  // namespace pftls::bench
