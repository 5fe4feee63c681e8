// bench/load_opts.cc - see load_opts.h.
#include "bench/load_opts.h"

#include <arpa/inet.h>
#include <getopt.h>
#include <netdb.h>

#include <cstdlib>
#include <cstring>

namespace pftls::bench {

namespace {

bool ParseNumber(const char* s, double lo, double hi, double* out) {
  char* end = nullptr;
  double v = strtod(s, &end);
  if (end == s || *end != '\0' || v < lo || v > hi) return false;
  *out = v;
  return true;
}

bool IsLoopback(const sockaddr_storage& ss) {
  if (ss.ss_family == AF_INET) {
    const auto* a = reinterpret_cast<const sockaddr_in*>(&ss);
    return (ntohl(a->sin_addr.s_addr) >> 24) == 127;
  }
  const auto* a6 = reinterpret_cast<const sockaddr_in6*>(&ss);
  return IN6_IS_ADDR_LOOPBACK(&a6->sin6_addr);
}

bool Resolve(const std::string& target, LoadOptions* o, std::string* err) {
  std::string host, port;
  size_t colon = target.rfind(':');
  if (colon == std::string::npos) {
    *err = "target must be host:port";
    return false;
  }
  host = target.substr(0, colon);
  port = target.substr(colon + 1);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  int rc = getaddrinfo(host.c_str(), port.c_str(), &hints, &res);
  if (rc != 0 || res == nullptr) {
    *err = "cannot resolve " + target + ": " + gai_strerror(rc);
    return false;
  }
  memcpy(&o->addr, res->ai_addr, res->ai_addrlen);
  o->addr_len = res->ai_addrlen;
  freeaddrinfo(res);
  if (!IsLoopback(o->addr) && !o->allow_remote) {
    *err = target + " is not a loopback address (use --allow-remote to flood it anyway)";
    return false;
  }
  if (o->addr.ss_family != AF_INET) o->spread_sources = false;
  return true;
}

}  // namespace

const char* LoadUsage() {
  return "usage: tlsload [-M starttls|wrapper|raw|idle] [-c concurrency] [-n sessions] [-t seconds]\n"
         "               [-V 1.2|1.3] [-r none|ticket|id] [-k rsa|ecdsa] [-m] [-s message_bytes]\n"
         "               [-b bytes] [-d up|down|echo] [-T timeout] [-H hold_seconds] [-j threads]\n"
         "               [-S] [-J] [--allow-remote] host:port\n";
}

bool ParseLoadOptions(int argc, char** argv, LoadOptions* o, std::string* err) {
  static const option kLong[] = {{"allow-remote", no_argument, nullptr, 'R'}, {nullptr, 0, nullptr, 0}};
  int c;
  double v;
  optind = 1;
  while ((c = getopt_long(argc, argv, "M:c:n:t:V:r:k:ms:b:d:T:H:j:SJ", kLong, nullptr)) != -1) {
    std::string a = optarg ? optarg : "";
    switch (c) {
      case 'M':
        if (a == "starttls") o->mode = Mode::kStarttls;
        else if (a == "wrapper") o->mode = Mode::kWrapper;
        else if (a == "raw") o->mode = Mode::kRaw;
        else if (a == "idle") o->mode = Mode::kIdle;
        else return *err = "bad mode " + a, false;
        break;
      case 'c':
        if (!ParseNumber(optarg, 1, 100000, &v)) return *err = "bad -c", false;
        o->concurrency = static_cast<int>(v);
        break;
      case 'n':
        if (!ParseNumber(optarg, 1, 1e9, &v)) return *err = "bad -n", false;
        o->sessions = static_cast<long>(v);
        break;
      case 't':
        if (!ParseNumber(optarg, 0.01, 86400, &v)) return *err = "bad -t", false;
        o->duration = v;
        break;
      case 'V':
        if (a == "1.2") o->tls_version = 12;
        else if (a == "1.3") o->tls_version = 13;
        else return *err = "bad -V (1.2 or 1.3)", false;
        break;
      case 'r':
        if (a == "none") o->resume = Resume::kNone;
        else if (a == "ticket") o->resume = Resume::kTicket;
        else if (a == "id") o->resume = Resume::kSessionId;
        else return *err = "bad -r (none, ticket, id)", false;
        break;
      case 'k':
        if (a != "rsa" && a != "ecdsa") return *err = "bad -k (rsa or ecdsa)", false;
        o->key_type = a;
        break;
      case 'm':
        o->mail = true;
        break;
      case 's':
        if (!ParseNumber(optarg, 0, 1e9, &v)) return *err = "bad -s", false;
        o->message_bytes = static_cast<long>(v);
        break;
      case 'b':
        if (!ParseNumber(optarg, 0, 1e12, &v)) return *err = "bad -b", false;
        o->bytes = static_cast<long>(v);
        break;
      case 'd':
        if (a == "up") o->direction = Direction::kUp;
        else if (a == "down") o->direction = Direction::kDown;
        else if (a == "echo") o->direction = Direction::kEcho;
        else return *err = "bad -d (up, down, echo)", false;
        break;
      case 'T':
        if (!ParseNumber(optarg, 0.1, 3600, &v)) return *err = "bad -T", false;
        o->timeout = v;
        break;
      case 'H':
        if (!ParseNumber(optarg, 0, 86400, &v)) return *err = "bad -H", false;
        o->hold = v;
        break;
      case 'j':
        if (!ParseNumber(optarg, 1, 256, &v)) return *err = "bad -j", false;
        o->threads = static_cast<int>(v);
        break;
      case 'S':
        o->spread_sources = false;
        break;
      case 'J':
        o->json = true;
        break;
      case 'R':
        o->allow_remote = true;
        break;
      default:
        return *err = "unknown option", false;
    }
  }
  if (optind != argc - 1) return *err = "exactly one host:port target", false;
  o->target = argv[optind];
  if (o->mode == Mode::kIdle) {
    if (o->sessions == 0) o->sessions = 1000;
    o->duration = 0;
  } else if (o->sessions == 0 && o->duration == 0) {
    o->sessions = 1000;
  }
  if (o->mode == Mode::kRaw && o->bytes > 0 && o->direction == Direction::kNone) o->direction = Direction::kEcho;
  if (o->threads > o->concurrency) o->threads = o->concurrency;
  return Resolve(o->target, o, err);
}

}  // namespace pftls::bench
