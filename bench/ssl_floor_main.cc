/*++
 * NAME
 *	ssl_floor - libssl's own handshake cost, in memory, server side
 * SYNOPSIS
 *	ssl_floor [-n handshakes] [-J]
 * DESCRIPTION
 *	The floor a TLS server cannot go below: client and server SSL
 *	objects in one thread joined by a BIO pair (no sockets, no other
 *	process). Only the server's SSL_do_handshake() calls are timed, with
 *	CLOCK_THREAD_CPUTIME_ID, and the figure is server CPU microseconds
 *	per handshake (mean over -n, default 2000) for: TLS 1.2 and 1.3 full
 *	handshakes, TLS 1.2 resumed by ticket and by session id, TLS 1.3
 *	resumed (ticket), each with an RSA-2048 and an ECDSA P-256 key
 *	(self-signed certificates made at start-up). Default groups and
 *	ciphers of OpenSSL. The server sends TLS 1.3 tickets as a server
 *	normally does, and that is part of the timed cost.
 *
 *	Output: one line per case "key proto kind us_per_handshake"; with -J
 *	one JSON object per line instead.
 * SECURITY
 *	No network.
 * DIAGNOSTICS
 *	Exit status 1 when a handshake fails or a resumption is not resumed.
 * CONFIGURATION PARAMETERS
 *	None.
 *--*/
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "util/handles.h"

using namespace pftls;

namespace {

double ThreadCpuUs() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e6 + static_cast<double>(ts.tv_nsec) / 1e3;
}

EvpPkeyPtr MakeKey(bool rsa) {
  return EvpPkeyPtr(rsa ? EVP_RSA_gen(2048) : EVP_EC_gen("P-256"));
}

X509Ptr SelfSigned(EVP_PKEY* key) {
  X509Ptr x(X509_new());
  X509_set_version(x.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x.get()), 1);
  X509_gmtime_adj(X509_getm_notBefore(x.get()), 0);
  X509_gmtime_adj(X509_getm_notAfter(x.get()), 86400);
  X509_set_pubkey(x.get(), key);
  X509_NAME* n = X509_get_subject_name(x.get());
  X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
  X509_set_issuer_name(x.get(), n);
  X509_sign(x.get(), key, EVP_sha256());
  return x;
}

struct Case {
  const char* proto;  // "1.2" or "1.3"
  const char* kind;   // full, ticket, id
};

// One handshake; returns server CPU µs, or -1 on failure. *reused set.
double Handshake(SSL_CTX* sctx, SSL_CTX* cctx, SSL_SESSION* offer, SslSessionPtr* got, bool* reused) {
  SslPtr s(SSL_new(sctx)), c(SSL_new(cctx));
  BIO *sb = nullptr, *cb = nullptr;
  if (!s || !c || BIO_new_bio_pair(&sb, 1 << 16, &cb, 1 << 16) != 1) return -1;
  SSL_set_bio(s.get(), sb, sb);
  SSL_set_bio(c.get(), cb, cb);
  SSL_set_accept_state(s.get());
  SSL_set_connect_state(c.get());
  if (offer) SSL_set_session(c.get(), offer);
  double server_us = 0;
  bool cdone = false, sdone = false;
  for (int round = 0; round < 20 && !(cdone && sdone); round++) {
    if (!cdone) {
      int rc = SSL_do_handshake(c.get());
      if (rc == 1) cdone = true;
      else if (SSL_get_error(c.get(), rc) != SSL_ERROR_WANT_READ) return -1;
    }
    if (!sdone) {
      double t0 = ThreadCpuUs();
      int rc = SSL_do_handshake(s.get());
      server_us += ThreadCpuUs() - t0;
      if (rc == 1) sdone = true;
      else if (SSL_get_error(s.get(), rc) != SSL_ERROR_WANT_READ) return -1;
    }
  }
  if (!(cdone && sdone)) return -1;
  // Let the client read what is left (TLS 1.3 tickets).
  char buf[256];
  size_t n = 0;
  SSL_read_ex(c.get(), buf, sizeof buf, &n);
  ERR_clear_error();
  *reused = SSL_session_reused(c.get()) == 1;
  got->reset(SSL_get1_session(c.get()));
  // A clean close: an SSL freed without one marks its session not resumable.
  SSL_set_shutdown(c.get(), SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
  SSL_set_shutdown(s.get(), SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
  return server_us;
}

}  // namespace

int main(int argc, char** argv) {
  long count = 2000;
  bool json = false;
  int ch;
  while ((ch = getopt(argc, argv, "n:J")) != -1) {
    if (ch == 'n') count = atol(optarg);
    else if (ch == 'J') json = true;
    else return fprintf(stderr, "usage: ssl_floor [-n handshakes] [-J]\n"), 2;
  }
  if (count < 1) count = 1;
  const Case cases[] = {{"1.2", "full"}, {"1.3", "full"}, {"1.2", "ticket"}, {"1.2", "id"}, {"1.3", "ticket"}};
  int failures = 0;
  for (bool rsa : {true, false}) {
    EvpPkeyPtr key = MakeKey(rsa);
    X509Ptr cert = SelfSigned(key.get());
    for (const Case& k : cases) {
      int v = strcmp(k.proto, "1.2") == 0 ? TLS1_2_VERSION : TLS1_3_VERSION;
      SslCtxPtr sctx(SSL_CTX_new(TLS_server_method())), cctx(SSL_CTX_new(TLS_client_method()));
      SSL_CTX_use_certificate(sctx.get(), cert.get());
      SSL_CTX_use_PrivateKey(sctx.get(), key.get());
      for (SSL_CTX* c : {sctx.get(), cctx.get()}) {
        SSL_CTX_set_min_proto_version(c, v);
        SSL_CTX_set_max_proto_version(c, v);
      }
      SSL_CTX_set_session_id_context(sctx.get(), reinterpret_cast<const unsigned char*>("floor"), 5);
      bool resume = strcmp(k.kind, "full") != 0;
      if (strcmp(k.kind, "id") == 0) SSL_CTX_set_options(cctx.get(), SSL_OP_NO_TICKET);
      if (!resume) SSL_CTX_set_session_cache_mode(sctx.get(), SSL_SESS_CACHE_OFF);
      SslSessionPtr session;
      bool reused = false;
      if (resume && Handshake(sctx.get(), cctx.get(), nullptr, &session, &reused) < 0) {
        failures++;
        continue;
      }
      double total = 0;
      long not_reused = 0;
      for (long i = 0; i < count; i++) {
        SslSessionPtr next;
        double us = Handshake(sctx.get(), cctx.get(), resume ? session.get() : nullptr, &next, &reused);
        if (us < 0) {
          failures++;
          break;
        }
        if (resume && !reused) not_reused++;
        if (resume && next) session = std::move(next);
        total += us;
      }
      if (not_reused) failures++;
      double per = total / static_cast<double>(count);
      const char* kt = rsa ? "rsa2048" : "ecdsa-p256";
      if (json) printf("{\"key\":\"%s\",\"tls\":\"%s\",\"kind\":\"%s\",\"server_cpu_us\":%.1f,\"not_reused\":%ld}\n",
                       kt, k.proto, k.kind, per, not_reused);
      else printf("%-10s TLS%s %-6s %8.1f us/handshake%s\n", kt, k.proto, k.kind, per,
                  not_reused ? " (NOT ALL RESUMED)" : "");
      fflush(stdout);
    }
  }
  return failures ? 1 : 0;
}
