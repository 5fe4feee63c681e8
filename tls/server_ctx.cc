// tls/server_ctx.cc - see tls/server_ctx.h.
#include "tls/server_ctx.h"

#include <openssl/err.h>
#include <openssl/pem.h>

#include "tls/certs.h"
#include "util/config.h"
#include "util/log.h"

namespace pftls::tls {
namespace {

std::string Param(const ServerSettings& s, const char* name) { return s.prefix + name; }

Error ParamError(const ServerSettings& s, const char* name, const std::string& file,
                 const std::string& why) {
  return MakeError(Param(s, name) + ": " + (file.empty() ? "" : file + ": ") + why);
}

// Accept any client certificate: "ask" only records whether it verified.
int AcceptAnyCert(int, X509_STORE_CTX*) { return 1; }

// SupportedGroups - those names of `list` this OpenSSL knows, ':'-joined.
std::string SupportedGroups(SSL_CTX* ctx, const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& n : names) {
    ERR_set_mark();
    bool ok = SSL_CTX_set1_groups_list(ctx, n.c_str()) == 1;
    ERR_pop_to_mark();
    if (!ok) continue;
    if (!out.empty()) out += ':';
    out += n;
  }
  return out;
}

Status SetCurves(SSL_CTX* ctx, const ServerSettings& s, std::string* cipher_suffix) {
  std::vector<std::string> names;
  if (s.eecdh_grade == "auto") {
    names = config::SplitList(s.eecdh_auto_curves);
  } else if (s.eecdh_grade == "strong") {
    names = {s.eecdh_strong_curve};
  } else if (s.eecdh_grade == "ultra") {
    names = {s.eecdh_ultra_curve};
  } else if (s.eecdh_grade == "none") {
    *cipher_suffix = ":!kECDHE";  // TLS <= 1.2 only; TLS 1.3 always uses (EC)DHE
    return Status::Ok();
  } else {
    return ParamError(s, "eecdh_grade", "", "invalid value \"" + s.eecdh_grade + "\"");
  }
  std::string groups = SupportedGroups(ctx, names);
  if (groups.empty())
    return ParamError(s, "eecdh_grade", "", "none of the curves \"" + s.eecdh_auto_curves + "\" is supported");
  if (SSL_CTX_set1_groups_list(ctx, groups.c_str()) != 1)
    return ParamError(s, "eecdh_grade", "", "cannot set curves: " + OpenSslReason());
  return Status::Ok();
}

Status SetDhParams(SSL_CTX* ctx, const ServerSettings& s) {
  if (!s.dh512_param_file.empty())
    log::Warn("%sdh512_param_file is ignored (obsolete)", s.prefix.c_str());
  if (s.dh1024_param_file.empty()) {
    SSL_CTX_set_dh_auto(ctx, 1);
    return Status::Ok();
  }
  BioPtr bio(BIO_new_file(s.dh1024_param_file.c_str(), "r"));
  if (!bio) return ParamError(s, "dh1024_param_file", s.dh1024_param_file, "cannot open: " + OpenSslReason());
  EvpPkeyPtr dh(PEM_read_bio_Parameters(bio.get(), nullptr));
  if (!dh || EVP_PKEY_get_base_id(dh.get()) != EVP_PKEY_DH)
    return ParamError(s, "dh1024_param_file", s.dh1024_param_file, "cannot load DH parameters: " + OpenSslReason());
  if (SSL_CTX_set0_tmp_dh_pkey(ctx, dh.get()) != 1)
    return ParamError(s, "dh1024_param_file", s.dh1024_param_file, "unusable DH parameters: " + OpenSslReason());
  dh.release();  // owned by ctx now
  return Status::Ok();
}

Status SetClientCerts(SSL_CTX* ctx, const ServerSettings& s, TlsLevel level) {
  if (!s.CAfile.empty() || !s.CApath.empty()) {
    const char* f = s.CAfile.empty() ? nullptr : s.CAfile.c_str();
    const char* p = s.CApath.empty() ? nullptr : s.CApath.c_str();
    if (SSL_CTX_load_verify_locations(ctx, f, p) != 1) {
      const char* which = f ? "CAfile" : "CApath";
      return ParamError(s, which, f ? s.CAfile : s.CApath, "cannot load CA data: " + OpenSslReason());
    }
    if (f) {
      STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(f);
      if (names) SSL_CTX_set_client_CA_list(ctx, names);  // ctx takes ownership
      ERR_clear_error();
    }
  }
  bool require = s.req_ccert && level >= TlsLevel::kEncrypt;
  if (s.req_ccert && !require)
    log::Warn("%sreq_ccert requires the \"encrypt\" security level; asking only", s.prefix.c_str());
  if (s.ask_ccert || require) {
    int mode = SSL_VERIFY_PEER | SSL_VERIFY_CLIENT_ONCE | (require ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0);
    SSL_CTX_set_verify(ctx, mode, require ? nullptr : AcceptAnyCert);
    SSL_CTX_set_verify_depth(ctx, s.ccert_verifydepth + 1);
  } else {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  }
  return Status::Ok();
}

const EVP_CIPHER* TicketCipher(const ServerSettings& s) {
  if (s.ticket_cipher.empty() || s.session_cache_timeout <= 0) return nullptr;
  const EVP_CIPHER* c = EVP_get_cipherbyname(s.ticket_cipher.c_str());
  if (!c || EVP_CIPHER_get_mode(c) != EVP_CIPH_CBC_MODE || EVP_CIPHER_get_iv_length(c) != 16 ||
      EVP_CIPHER_get_key_length(c) < 16 || EVP_CIPHER_get_key_length(c) > 32) {
    log::Warn("invalid tls_session_ticket_cipher \"%s\": session tickets disabled", s.ticket_cipher.c_str());
    return nullptr;
  }
  return c;
}

}  // namespace

std::string OpenSslReason() {
  std::string out;
  unsigned long e;
  char buf[256];
  while ((e = ERR_get_error()) != 0) {
    ERR_error_string_n(e, buf, sizeof(buf));
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? std::string("unknown error") : out;
}

ServerSettings LoadServerSettings(const config::Config& cfg, const std::string& prefix,
                                  const std::string& legacy_prefix) {
  ServerSettings s;
  s.prefix = prefix;
  auto str = [&](const char* n) { return cfg.Str(prefix + n); };
  auto yes = [&](const char* n) { return cfg.Bool(prefix + n); };
  s.security_level = str("security_level");
  s.use_tls = cfg.Bool(legacy_prefix + "use_tls");
  s.enforce_tls = cfg.Bool(legacy_prefix + "enforce_tls");
  s.cert_file = str("cert_file");
  s.key_file = str("key_file");
  s.dcert_file = str("dcert_file");
  s.dkey_file = str("dkey_file");
  s.eccert_file = str("eccert_file");
  s.eckey_file = str("eckey_file");
  s.chain_files = cfg.List(prefix + "chain_files");
  s.CAfile = str("CAfile");
  s.CApath = str("CApath");
  s.ask_ccert = yes("ask_ccert");
  s.req_ccert = yes("req_ccert");
  s.ccert_verifydepth = cfg.Int(prefix + "ccert_verifydepth");
  s.ciphers = str("ciphers");
  s.mandatory_ciphers = str("mandatory_ciphers");
  s.exclude_ciphers = str("exclude_ciphers");
  s.mandatory_exclude_ciphers = str("mandatory_exclude_ciphers");
  s.protocols = str("protocols");
  s.mandatory_protocols = str("mandatory_protocols");
  s.eecdh_grade = str("eecdh_grade");
  s.dh1024_param_file = str("dh1024_param_file");
  s.dh512_param_file = str("dh512_param_file");
  s.fingerprint_digest = str("fingerprint_digest");
  s.always_issue_session_ids = yes("always_issue_session_ids");
  s.loglevel = cfg.Int(prefix + "loglevel");
  s.session_cache_timeout = config::SanitizeCacheTimeout(cfg.TimeSeconds("smtpd_tls_session_cache_timeout"));
  s.ticket_cipher = cfg.Str("tls_session_ticket_cipher");
  s.cipher_lists = {cfg.Str("tls_high_cipherlist"), cfg.Str("tls_medium_cipherlist"),
                    cfg.Str("tls_low_cipherlist"), cfg.Str("tls_export_cipherlist"),
                    cfg.Str("tls_null_cipherlist")};
  s.eecdh_auto_curves = cfg.Str("tls_eecdh_auto_curves");
  s.eecdh_strong_curve = cfg.Str("tls_eecdh_strong_curve");
  s.eecdh_ultra_curve = cfg.Str("tls_eecdh_ultra_curve");
  s.preempt_cipherlist = cfg.Bool("tls_preempt_cipherlist");
  return s;
}

Result<ServerContext> BuildServerContext(const ServerSettings& s) {
  ServerContext out;
  out.loglevel = s.loglevel;
  auto level = ParseServerLevel(s.security_level, s.use_tls, s.enforce_tls);
  if (!level) return ParamError(s, "security_level", "", level.error());
  out.level = *level;
  if (out.level == TlsLevel::kNone) return out;

  bool mandatory = out.level >= TlsLevel::kEncrypt;
  out.fingerprint_md = EVP_get_digestbyname(s.fingerprint_digest.c_str());
  if (!out.fingerprint_md)
    return ParamError(s, "fingerprint_digest", "", "unsupported digest \"" + s.fingerprint_digest + "\"");

  out.ctx.reset(SSL_CTX_new(TLS_server_method()));
  if (!out.ctx) return MakeError("cannot create SSL_CTX: " + OpenSslReason());
  SSL_CTX* ctx = out.ctx.get();

  auto protos = ParseProtocols(mandatory ? s.mandatory_protocols : s.protocols);
  if (!protos) return ParamError(s, mandatory ? "mandatory_protocols" : "protocols", "", protos.error());
  if (Status st = ApplyProtocols(ctx, *protos); !st) return ParamError(s, "protocols", "", st.error());

  std::string exclusions = s.exclude_ciphers;
  if (mandatory) exclusions += " " + s.mandatory_exclude_ciphers;
  if (s.ask_ccert || (s.req_ccert && mandatory)) exclusions += " aNULL";
  auto list = BuildCipherList(mandatory ? s.mandatory_ciphers : s.ciphers, s.cipher_lists, exclusions);
  if (!list) return ParamError(s, mandatory ? "mandatory_ciphers" : "ciphers", "", list.error());
  std::string suffix;
  if (Status st = SetCurves(ctx, s, &suffix); !st) return Error{st.error()};
  std::string cipherlist = *list + suffix;
  if (SSL_CTX_set_cipher_list(ctx, cipherlist.c_str()) != 1)
    return ParamError(s, mandatory ? "mandatory_ciphers" : "ciphers", "",
                      "invalid cipher list \"" + cipherlist + "\": " + OpenSslReason());

  auto loaded = LoadServerCertificates(ctx, s);
  if (!loaded) return Error{loaded.error()};
  if (!*loaded && s.cert_file != "none") {
    log::Warn("no server certificates were loaded (%scert_file, %seccert_file, %schain_files): TLS disabled",
              s.prefix.c_str(), s.prefix.c_str(), s.prefix.c_str());
    out.ctx.reset();
    return out;
  }
  if (Status st = SetDhParams(ctx, s); !st) return Error{st.error()};
  if (Status st = SetClientCerts(ctx, s, out.level); !st) return Error{st.error()};

  uint64_t opts = SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_IGNORE_UNEXPECTED_EOF |
                  SSL_OP_SINGLE_ECDH_USE | SSL_OP_SINGLE_DH_USE;
  if (s.preempt_cipherlist) opts |= SSL_OP_CIPHER_SERVER_PREFERENCE;
  SSL_CTX_set_options(ctx, opts);
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                            SSL_MODE_RELEASE_BUFFERS);
  // Read ahead: one read() takes every record the kernel holds, instead of
  // two per record (header, then body). The sessions check SSL_has_pending.
  SSL_CTX_set_read_ahead(ctx, 1);

  static const unsigned char kSidCtx[] = "Postfix/TLS";
  SSL_CTX_set_session_id_context(ctx, kSidCtx, sizeof(kSidCtx) - 1);
  out.session_timeout = 2 * s.session_cache_timeout;
  out.ticket_cipher = TicketCipher(s);
  if (s.session_cache_timeout > 0) {
    SSL_CTX_set_timeout(ctx, out.session_timeout);
    SSL_CTX_sess_set_cache_size(ctx, 1);
    SSL_CTX_set_session_cache_mode(ctx, s.always_issue_session_ids
                                            ? SSL_SESS_CACHE_SERVER | SSL_SESS_CACHE_NO_AUTO_CLEAR
                                            : SSL_SESS_CACHE_OFF);
  } else {
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  }
  if (!out.ticket_cipher) SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
  SSL_CTX_set_num_tickets(ctx, out.ticket_cipher || s.session_cache_timeout > 0 ? 1 : 0);
  out.enabled = true;
  return out;
}

}  // namespace pftls::tls
