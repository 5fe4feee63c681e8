/*++
 * NAME
 *	tlsmgr_client - exercise a tlsmgr server with the pftls blocking client
 * SYNOPSIS
 *	tlsmgr_client SOCKET_PATH
 * DESCRIPTION
 *	Connects to SOCKET_PATH with ipc::SyncClient (expects the
 *	announcement protocol=tlsmgr_protocol) and checks, in order:
 *
 *	- seed 32 and seed 255 return that many bytes with status 0;
 *	  seed 0 returns status -2 and no bytes;
 *	- policy smtpd returns status 0, cachable 1 and a timeout > 0;
 *	- update smtpd/<id> with random bytes returns 0, lookup returns the
 *	  same bytes, delete returns 0, a second lookup returns -1;
 *	- tktkey with an empty name returns an 88-byte key record whose tout
 *	  lies in the future; tktkey by that name returns the same record;
 *	  tktkey with an unknown 16-byte name returns -1;
 *	- after the server's idle close (sleep past ipc_idle is not needed:
 *	  Close() then a new request) the client reconnects.
 *
 *	Prints one line per check and "tlsmgr_client: N checks passed".
 *	Used by the check step check-ipc-interop against the real Debian
 *	tlsmgr and usable against ours.
 * SECURITY
 *	Prints sizes and statuses only, never key or session bytes.
 * DIAGNOSTICS
 *	Exit status 0 when every check passed, 1 otherwise, 2 on usage.
 * CONFIGURATION PARAMETERS
 *	None.
 *--*/
#include <openssl/rand.h>

#include <cstdio>
#include <ctime>
#include <string>

#include "ipc/client_sync.h"
#include "ipc/msg_announce.h"
#include "ipc/msg_tlsmgr.h"

using namespace pftls;
using namespace pftls::ipc;

namespace {

int g_failed = 0;
int g_passed = 0;

void Check(bool ok, const std::string& what) {
  std::printf("%s: %s\n", ok ? "ok" : "FAIL", what.c_str());
  (ok ? g_passed : g_failed)++;
}

template <class T>
bool Got(const Result<T>& r, const char* what) {
  if (!r) {
    std::printf("FAIL: %s: %s\n", what, r.error().c_str());
    g_failed++;
  }
  return r.ok();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: tlsmgr_client SOCKET_PATH\n");
    return 2;
  }
  SyncClientOptions o;
  o.path = argv[1];
  o.protocol = std::string(kTlsmgrProtocol);
  o.timeout = std::chrono::seconds(10);
  SyncClient c(o);

  for (uint32_t n : {32u, 255u}) {
    Result<SeedReply> r = c.Request(SeedRequest{n});
    if (Got(r, "seed")) Check(r->status == kStatOk && r->seed.size() == n, "seed " + std::to_string(n) + " returns " + std::to_string(r->seed.size()) + " bytes");
  }
  {
    Result<SeedReply> r = c.Request(SeedRequest{0});
    if (Got(r, "seed 0")) Check(r->status == kStatFail && r->seed.empty(), "seed 0 returns status -2 (got " + std::to_string(r->status) + ")");
  }
  {
    Result<PolicyReply> r = c.Request(PolicyRequest{"smtpd"});
    if (Got(r, "policy")) Check(r->status == kStatOk && r->cachable == 1 && r->timeout > 0, "policy smtpd: status " + std::to_string(r->status) + " cachable " + std::to_string(r->cachable) + " timeout " + std::to_string(r->timeout));
  }
  {
    SecretBytes blob(300);
    RAND_bytes(blob.data(), static_cast<int>(blob.size()));
    std::string id = "00AABBCC&s=smtpd&l=" + std::to_string(std::time(nullptr));
    Result<StatusReply> u = c.Request(UpdateRequest{"smtpd", id, blob.Clone()});
    if (Got(u, "update")) Check(u->status == kStatOk, "update returns 0");
    Result<LookupReply> l = c.Request(LookupRequest{"smtpd", id});
    if (Got(l, "lookup")) Check(l->status == kStatOk && l->session.Equal(blob), "lookup returns the same 300 bytes");
    Result<StatusReply> d = c.Request(DeleteRequest{"smtpd", id});
    if (Got(d, "delete")) Check(d->status == kStatOk, "delete returns 0");
    Result<LookupReply> l2 = c.Request(LookupRequest{"smtpd", id});
    if (Got(l2, "lookup after delete")) Check(l2->status == kStatErr && l2->session.empty(), "lookup after delete returns -1");
  }
  {
    Result<TktkeyReply> k = c.Request(TktkeyRequest{""});
    if (Got(k, "tktkey") && k->status == kStatOk) {
      Check(k->keybuf.size() == kTicketKeyRecordSize, "tktkey returns an 88-byte key");
      Result<TicketKey> key = TicketKey::Parse(k->keybuf.span());
      if (Got(key, "ticket key record")) {
        Check(key->tout > std::time(nullptr), "ticket key tout is in the future (+" + std::to_string(key->tout - std::time(nullptr)) + " s)");
        std::string name(reinterpret_cast<const char*>(key->name.data()), key->name.size());
        c.Close();  // the by-name lookup also exercises a fresh connection
        Result<TktkeyReply> k2 = c.Request(TktkeyRequest{name});
        if (Got(k2, "tktkey by name")) Check(k2->status == kStatOk && k2->keybuf.Equal(k->keybuf), "tktkey by name returns the same key record");
        std::string unknown(16, 'x');
        Result<TktkeyReply> k3 = c.Request(TktkeyRequest{unknown});
        if (Got(k3, "tktkey unknown")) Check(k3->status == kStatErr, "tktkey with an unknown name returns -1");
      }
    } else {
      Check(false, "tktkey returns status 0");
    }
  }
  std::printf("tlsmgr_client: %d checks passed, %d failed\n", g_passed, g_failed);
  return g_failed == 0 && g_passed >= 12 ? 0 : 1;
}
