// keytool/server_cmds.cc - enable-server, new-server-key, new-server-cert,
// deploy-server-cert: key and certificate creation and deployment.
#include <unistd.h>

#include <cstdio>
#include <cstring>

#include "keytool/certs.h"
#include "keytool/getopts.h"
#include "keytool/keys.h"
#include "keytool/messages.h"
#include "keytool/subcommands.h"
#include "keytool/tlsa.h"
#include "util/log.h"

namespace pftls::keytool {
namespace {

struct Algo {
  KeyAlg alg;
  std::string bits;
};

// ParseAlgo - the -a/-b options; the messages differ per subcommand.
Algo ParseAlgo(const ParsedArgs& p, const char* empty_msg, const char* unsupported_fmt) {
  const std::string* a = p.Find('a');
  std::string name = a ? *a : "rsa";
  if (name.empty()) log::Fatal("%s", empty_msg);
  Result<KeyAlg> alg = ParseAlgorithm(name);
  if (!alg) log::Fatal("Unsupported %s key algorithm: %s", unsupported_fmt, name.c_str());
  const std::string* b = p.Find('b');
  std::string bits = b && !b->empty() ? *b : DefaultSpec(*alg);
  return Algo{*alg, bits};
}

// The file names of a new pair: key-/cert- (RSA), eckey-/eccert- (ECDSA),
// edkey-/edcert- (Ed25519, a pftls addition).
void NewFileNames(const Context& ctx, KeyAlg alg, std::string* key, std::string* cert) {
  std::string stamp = UtcStamp(time(nullptr));
  const char* kp = alg == KeyAlg::kRsa ? "key-" : alg == KeyAlg::kEcdsa ? "eckey-" : "edkey-";
  const char* cp = alg == KeyAlg::kRsa ? "cert-" : alg == KeyAlg::kEcdsa ? "eccert-" : "edcert-";
  *key = ctx.config_dir + "/" + kp + stamp + ".pem";
  *cert = ctx.config_dir + "/" + cp + stamp + ".pem";
}

void ShowProgress(char c) {
  ssize_t ignored = write(STDERR_FILENO, &c, 1);
  (void)ignored;
}

// CompactProgress - one '.' per 32 candidate steps, '+' per prime found:
// a short single line instead of OpenSSL's thousands of symbols.
ProgressFn CompactProgress() {
  return [steps = 0](char c) mutable {
    if (c == '.' && ++steps % 32 == 0) ShowProgress('.');
    if (c == '\n') ShowProgress('+');
  };
}

// CreateKey - generate and write a new key (the script's create_key).
EvpPkeyPtr CreateKey(const Context& ctx, const Algo& a, const std::string& keyfile) {
  ProgressFn progress;
  if (ctx.progress && a.alg == KeyAlg::kRsa) {
    std::string head = "Generating a " + a.bits + " bit RSA private key\n";
    ssize_t ignored = write(STDERR_FILENO, head.data(), head.size());
    (void)ignored;
    progress = CompactProgress();
  }
  Result<EvpPkeyPtr> key = GenerateKey(a.alg, a.bits, progress);
  if (progress) ShowProgress('\n');
  Status written = key ? WriteNewKeyFile(keyfile, key->get(), KeyFileStyle::kGenerated)
                       : Status(Error{key.error()});
  if (!written) {
    if (key) unlink(keyfile.c_str());
    log::Warn("%s", written.error().c_str());
    log::Fatal("error generating new %s %s private key", AlgName(a.alg), a.bits.c_str());
  }
  return std::move(key).value();
}

// CopyKey - new-server-cert: re-use the deployed key under the new name.
EvpPkeyPtr CopyKey(const Algo& a, const std::string& oldkey, const std::string& keyfile) {
  Result<LoadedKey> k = LoadPrivateKey(oldkey);
  if (!k) log::Fatal("Error copying private key from '%s' to '%s'", oldkey.c_str(), keyfile.c_str());
  if (k->alg != a.alg)
    log::Fatal("Key algorithm '%s' of '%s' is not '%s'", AlgName(k->alg), oldkey.c_str(), AlgName(a.alg));
  Status s = WriteNewKeyFile(keyfile, k->pkey.get(), KeyFileStyle::kCopied);
  if (!s) {
    log::Warn("%s", s.error().c_str());
    log::Fatal("Error copying private key from '%s' to '%s'", oldkey.c_str(), keyfile.c_str());
  }
  return std::move(k->pkey);
}

// KeyParams - the main.cf parameters for a key type (the script's read_key
// table). Ed25519 has no legacy parameter pair; see ChainFilesSetting().
struct KeyParams {
  const char* key;
  const char* cert;
};
KeyParams ParamsFor(KeyAlg alg) {
  if (alg == KeyAlg::kEcdsa) return {"smtpd_tls_eckey_file", "smtpd_tls_eccert_file"};
  return {"smtpd_tls_key_file", "smtpd_tls_cert_file"};
}

// ChainFilesSetting - Ed25519 deployment (pftls addition): Postfix loads an
// Ed25519 key only through smtpd_tls_chain_files, which then takes
// precedence over the per-algorithm parameters. Keep whatever RSA/ECDSA
// pairs are in use and put the new Ed25519 pair last.
std::string ChainFilesSetting(const Context& ctx, const std::string& key, const std::string& cert) {
  std::vector<std::string> files;
  if (ctx.cfg.IsExplicit("smtpd_tls_chain_files")) {
    std::vector<std::string> old = config::SplitList(ExpandOrDie(ctx, "smtpd_tls_chain_files"));
    for (size_t i = 0; i < old.size(); ++i) {
      Result<LoadedKey> k = LoadPrivateKey(old[i]);
      if (k && k->alg == KeyAlg::kEd25519) {
        // Drop the old Ed25519 key and its certificate file when separate.
        if (i + 1 < old.size() && !LoadPrivateKey(old[i + 1])) ++i;
        continue;
      }
      files.push_back(old[i]);
    }
  } else {
    for (KeyAlg alg : {KeyAlg::kRsa, KeyAlg::kEcdsa}) {
      KeyParams p = ParamsFor(alg);
      std::string c = ExplicitExpanded(ctx, p.cert);
      std::string k = ctx.cfg.IsExplicit(p.key) ? ExplicitExpanded(ctx, p.key) : c;
      if (c.empty() || c == "none") continue;
      if (!k.empty() && k != c) files.push_back(k);
      files.push_back(c);
    }
  }
  files.push_back(key);
  files.push_back(cert);
  std::string out;
  for (const std::string& f : files) out += (out.empty() ? "" : ", ") + f;
  return out;
}

// Deploy - the script's deploy_server_cert().
void Deploy(const Context& ctx, const std::string& certfile, const std::string& keyfile, DeployMode mode,
            const std::string& random_source) {
  Result<LoadedKey> key = IsRegularFile(keyfile) ? LoadPrivateKey(keyfile) : Result<LoadedKey>(MakeError("missing"));
  if (!key) log::Fatal("no private key found in file: %s", keyfile.c_str());
  Result<X509Ptr> cert = IsRegularFile(certfile) ? LoadCertificate(certfile) : Result<X509Ptr>(MakeError("missing"));
  Result<std::string> cd = cert ? CertSpkiSha256Hex(cert->get()) : Result<std::string>(MakeError("none"));
  if (!cd) log::Fatal("error computing certificate public key digest");
  Result<std::string> kd = SpkiSha256Hex(key->pkey.get());
  if (!kd) log::Fatal("error computing public key digest");
  if (*cd != *kd) log::Fatal("Certificate in %s does not match key in %s", certfile.c_str(), keyfile.c_str());
  // pftls addition: never deploy a certificate outside its validity period.
  Status valid = CheckValidNow(cert->get());
  if (!valid) {
    if (valid.error() == "expired") log::Fatal("Certificate in %s has expired", certfile.c_str());
    log::Fatal("Certificate in %s is not yet valid", certfile.c_str());
  }

  std::vector<std::pair<std::string, std::string>> set;
  if (key->alg == KeyAlg::kEd25519) {
    set.emplace_back("smtpd_tls_chain_files", ChainFilesSetting(ctx, keyfile, certfile));
  } else {
    KeyParams p = ParamsFor(key->alg);
    set.emplace_back(p.key, keyfile);
    set.emplace_back(p.cert, certfile);
    if (ctx.cfg.IsExplicit("smtpd_tls_chain_files") && !ExpandOrDie(ctx, "smtpd_tls_chain_files").empty())
      log::Warn("smtpd_tls_chain_files is set and takes precedence over %s and %s", p.key, p.cert);
  }
  if (mode == DeployMode::kEnabled) {
    set.emplace_back("smtpd_tls_security_level", "may");
    set.emplace_back("smtpd_tls_received_header", "yes");
    set.emplace_back("smtpd_tls_loglevel", "1");
  }
  if (!random_source.empty()) set.emplace_back("tls_random_source", random_source);
  Status s = config::EditMainCf(ctx.cfg.main_cf_path(), set);
  if (!s) log::Fatal("%s", s.error().c_str());
}

// NewServerCert - the script's new_server_cert(): ensure_key, create_cert,
// optional deployment, then the hints.
void NewServerCert(const Context& ctx, const Algo& a, const std::string& oldkey, DeployMode mode,
                   std::vector<std::string> hostnames, const std::string& random_source) {
  std::string keyfile, certfile;
  NewFileNames(ctx, a.alg, &keyfile, &certfile);
  if (access(keyfile.c_str(), R_OK) == 0) log::Fatal("New private key file already exists: %s", keyfile.c_str());
  if (access(certfile.c_str(), R_OK) == 0) log::Fatal("New certificate file already exists: %s", certfile.c_str());

  EvpPkeyPtr pkey = oldkey.empty() ? CreateKey(ctx, a, keyfile) : CopyKey(a, oldkey, keyfile);

  // create_cert: the first name (or myhostname) is the CommonName.
  if (hostnames.empty()) hostnames.emplace_back();
  if (hostnames[0].empty()) hostnames[0] = Fqdn(ctx, "");
  Result<X509Ptr> cert = MakeSelfSignedCert(pkey.get(), hostnames);
  Status written = cert ? WriteNewCertFile(certfile, cert->get()) : Status(Error{cert.error()});
  if (!written) {
    if (cert && written.error().find("cannot create") == std::string::npos) unlink(certfile.c_str());
    unlink(keyfile.c_str());
    log::Warn("%s", written.error().c_str());
    log::Fatal("error generating self-signed SSL certificate");
  }
  if (mode != DeployMode::kNotDeployed) Deploy(ctx, certfile, keyfile, mode, random_source);

  if (mode == DeployMode::kNotDeployed)
    EmitInfo(InfoCreated(certfile, keyfile));
  else
    EmitInfo(InfoServerDeployed(mode));
  EmitInfo(InfoCsr(certfile, keyfile, mode));
  EmitInfo(InfoTlsa(keyfile, mode));
  if (oldkey.empty()) EmitInfo(InfoDaneDns(mode));
}

}  // namespace

int CmdEnableServer(Context& ctx, const Args& args) {
  Result<ParsedArgs> p = GetOpts(Args(args.begin() + 1, args.end()), "a:b:r:");
  if (!p) log::Fatal("%s", UsageEnableServer(args[0]).c_str());
  Algo a = ParseAlgo(*p, "Internal error: empty algorithm ", "private");
  const std::string* r = p->Find('r');
  std::string rand = RandomSource(ctx, r ? *r : "");
  if (!AllDefault(ctx, kServerSettings)) {
    EmitInfo(InfoEnableServer());
    return 0;
  }
  NewServerCert(ctx, a, "", DeployMode::kEnabled, p->positional, rand);
  return 0;
}

int CmdNewServerKey(Context& ctx, const Args& args) {
  Result<ParsedArgs> p = GetOpts(Args(args.begin() + 1, args.end()), "a:b:");
  if (!p) log::Fatal("%s", UsageServerKey(args[0]).c_str());
  Algo a = ParseAlgo(*p, "Internal error: empty algorithm ", "public");
  NewServerCert(ctx, a, "", DeployMode::kNotDeployed, p->positional, "");
  return 0;
}

int CmdNewServerCert(Context& ctx, const Args& args) {
  Result<ParsedArgs> p = GetOpts(Args(args.begin() + 1, args.end()), "a:b:");
  if (!p) log::Fatal("%s", UsageServerKey(args[0]).c_str());
  Algo a = ParseAlgo(*p, "Invalid empty key algorithm", "private");
  std::string keyfile = KeyfileFor(ctx, AlgName(a.alg));
  if (!keyfile.empty() && !IsRegularFile(keyfile)) {
    log::Warn("Key file: %s not found, creating new keys", keyfile.c_str());
    keyfile.clear();
  }
  NewServerCert(ctx, a, keyfile, DeployMode::kNotDeployed, p->positional, "");
  return 0;
}

int CmdDeployServerCert(Context& ctx, const Args& args) {
  if (args.size() != 3) log::Fatal("%s", UsageDeploy(args[0]).c_str());
  std::string certfile = InConfigDir(ctx, args[1]);
  std::string keyfile = InConfigDir(ctx, args[2]);
  Deploy(ctx, certfile, keyfile, DeployMode::kDeployed, "");
  EmitInfo(InfoServerDeployed(DeployMode::kDeployed));
  return 0;
}

}  // namespace pftls::keytool
