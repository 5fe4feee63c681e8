/*++
 * NAME
 *	bench/load_opts.h - command line of tlsload(1)
 * SYNOPSIS
 *	#include "bench/load_opts.h"
 *
 *	bench::LoadOptions o;
 *	std::string err;
 *	if (!bench::ParseLoadOptions(argc, argv, &o, &err)) ...
 * DESCRIPTION
 *	One struct with every knob of the load generator and the parser that
 *	fills it (see tlsload_main.cc for the option letters). The target is
 *	resolved here; a non-loopback address is refused unless
 *	--allow-remote is given.
 * SECURITY
 *	Refuses remote targets by default: a benchmark is a flood.
 * DIAGNOSTICS
 *	ParseLoadOptions() returns false with a one-line reason.
 * CONFIGURATION PARAMETERS
 *	None.
 *--*/
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <string>

namespace pftls::bench {

enum class Mode { kStarttls, kWrapper, kRaw, kIdle };
enum class Resume { kNone, kTicket, kSessionId };
enum class Direction { kNone, kUp, kDown, kEcho };

struct LoadOptions {
  Mode mode = Mode::kWrapper;
  Resume resume = Resume::kNone;
  Direction direction = Direction::kNone;
  int tls_version = 0;         // 0 (any), 12 or 13
  std::string key_type;        // "", "rsa" or "ecdsa": client signature algorithms
  int concurrency = 10;
  long sessions = 0;           // 0: bounded by duration only
  double duration = 0;         // seconds; 0: bounded by count only
  double timeout = 10;         // per session
  double hold = 30;            // idle mode: seconds to hold (or until stdin closes)
  long bytes = 0;              // raw mode: payload per session
  bool mail = false;           // -m: a whole mail transaction
  long message_bytes = 1000;   // body size with -m
  int threads = 1;
  bool json = false;
  bool spread_sources = true;  // bind 127.x.y.z source addresses (loopback only)
  bool allow_remote = false;
  std::string helo = "tlsload.example";
  sockaddr_storage addr{};
  socklen_t addr_len = 0;
  std::string target;
};

bool ParseLoadOptions(int argc, char** argv, LoadOptions* o, std::string* err);
const char* LoadUsage();

}  // namespace pftls::bench
