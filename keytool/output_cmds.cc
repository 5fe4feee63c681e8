// keytool/output_cmds.cc - output-server-csr and output-server-tlsa: the two
// subcommands that write to standard output.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "keytool/certs.h"
#include "keytool/getopts.h"
#include "keytool/keys.h"
#include "keytool/messages.h"
#include "keytool/subcommands.h"
#include "keytool/tlsa.h"
#include "util/log.h"

namespace pftls::keytool {
namespace {

void Out(const std::string& text) {
  if (fwrite(text.data(), 1, text.size(), stdout) != text.size() || fflush(stdout) != 0)
    log::Fatal("error writing to standard output");
}

// CheckKey - the script's check_key(): a readable RSA/ECDSA (or, as a
// pftls addition, Ed25519) private key, else fatal.
LoadedKey CheckKey(const std::string& keyfile) {
  Result<LoadedKey> k = IsRegularFile(keyfile) ? LoadPrivateKey(keyfile) : Result<LoadedKey>(MakeError("missing"));
  if (!k) log::Fatal("no private key found in file: %s", keyfile.c_str());
  return std::move(k).value();
}

Result<int> ParsePort(const std::string& s) {
  if (s.empty() || s.size() > 5) return MakeError("bad port");
  int port = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return MakeError("bad port");
    port = port * 10 + (c - '0');
  }
  if (port < 1 || port > 65535) return MakeError("bad port");
  return port;
}

}  // namespace

int CmdOutputServerCsr(Context& ctx, const Args& args) {
  Result<ParsedArgs> p = GetOpts(Args(args.begin() + 1, args.end()), "k:");
  if (!p) log::Fatal("%s", UsageOutputCsr(args[0]).c_str());
  std::string keyfile;
  const std::string* k = p->Find('k');
  if (k && !k->empty()) {
    keyfile = KeyfileFor(ctx, *k);
  } else {
    for (const char* alg : {"rsa", "ecdsa"}) {
      keyfile = KeyfileFor(ctx, alg);
      if (!keyfile.empty()) break;
    }
  }
  if (keyfile.empty() || access(keyfile.c_str(), R_OK) != 0)
    log::Fatal("No usable keyfile specified or configured");

  std::vector<std::string> hostnames = p->positional;
  if (hostnames.empty()) hostnames.emplace_back();
  if (hostnames[0].empty()) hostnames[0] = Fqdn(ctx, "");

  LoadedKey key = CheckKey(keyfile);
  Result<X509ReqPtr> req = MakeCsr(key.pkey.get(), hostnames);
  if (!req) log::Fatal("error generating the certificate signing request: %s", req.error().c_str());
  Result<std::string> pem = CsrPem(req->get());
  if (!pem) log::Fatal("%s", pem.error().c_str());
  Out(*pem);
  return 0;
}

int CmdOutputServerTlsa(Context& ctx, const Args& args) {
  Result<ParsedArgs> p = GetOpts(Args(args.begin() + 1, args.end()), "h:p:");
  if (!p) log::Fatal("%s", UsageOutputTlsa(args[0]).c_str());
  int port = kDefaultTlsaPort;
  if (const std::string* ps = p->Find('p')) {
    Result<int> v = ParsePort(*ps);
    if (!v) log::Fatal("invalid TCP port number: '%s'", ps->c_str());
    port = *v;
  }
  const std::string* h = p->Find('h');
  std::string fqdn = Fqdn(ctx, h ? *h : "");

  std::vector<std::string> keys = p->positional;
  if (keys.empty()) keys = {"rsa", "ecdsa"};
  bool found = false;
  for (const std::string& k : keys) {
    std::string keyfile = KeyfileFor(ctx, k);
    if (keyfile.empty()) continue;
    Out("; " + keyfile + "\n");
    LoadedKey key = CheckKey(keyfile);
    Result<std::string> hex = SpkiSha256Hex(key.pkey.get());
    if (!hex) log::Fatal("error computing SHA2-256 SPKI digest of %s", keyfile.c_str());
    Out(TlsaRecord(port, fqdn, *hex));
    found = true;
  }
  if (!found) log::Fatal("No usable keyfiles specified or configured");
  return 0;
}

}  // namespace pftls::keytool
