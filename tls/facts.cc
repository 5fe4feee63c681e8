// tls/facts.cc - see tls/facts.h.
#include "tls/facts.h"

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <cstdlib>
#include <cstring>

#include "util/handles.h"
#include "util/hex.h"

namespace pftls::tls {
namespace {

constexpr size_t kMaxName = 256;

std::string Printable(std::string s) {
  if (s.size() > kMaxName) s.resize(kMaxName);
  for (char& c : s) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 || u >= 0x7f) c = '?';
  }
  return s;
}

std::string CommonName(X509_NAME* name) {
  if (!name) return {};
  int idx = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
  if (idx < 0) return {};
  ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, idx));
  unsigned char* utf8 = nullptr;
  int n = ASN1_STRING_to_UTF8(&utf8, data);
  if (n < 0) return {};
  std::string out(reinterpret_cast<char*>(utf8), static_cast<size_t>(n));
  OPENSSL_free(utf8);
  return Printable(std::move(out));
}

const char* SigName(int type_nid) {
  switch (type_nid) {
    case EVP_PKEY_RSA: return "RSA";
    case EVP_PKEY_RSA_PSS: return "RSA-PSS";
    case EVP_PKEY_DSA: return "DSA";
    case EVP_PKEY_EC: return "ECDSA";
    case EVP_PKEY_ED25519: return "ED25519";
    case EVP_PKEY_ED448: return "ED448";
    default: return nullptr;
  }
}

// KeyShape - curve name for EC keys, else bit size.
void KeyShape(EVP_PKEY* key, std::string* curve, int* bits) {
  if (!key) return;
  if (EVP_PKEY_get_base_id(key) == EVP_PKEY_EC) {
    char name[80];
    size_t len = 0;
    if (EVP_PKEY_get_utf8_string_param(key, "group", name, sizeof(name), &len) == 1) *curve = name;
  }
  *bits = EVP_PKEY_get_bits(key);
}

// DescribeGroup - from the negotiated group, when the ephemeral key is
// already gone (OpenSSL frees a TLS 1.2 server's key after use).
void DescribeGroup(SSL* ssl, SessionFacts* f) {
  int nid = SSL_get_negotiated_group(ssl);
  if (nid == NID_undef || nid == 0) return;
  if (nid == NID_X25519 || nid == NID_X448) {
    f->kex_name = OBJ_nid2sn(nid);
  } else if (nid >= NID_ffdhe2048 && nid <= NID_ffdhe8192) {
    f->kex_name = "DHE";
    const char* sn = OBJ_nid2sn(nid);  // "ffdhe2048"
    if (sn && std::strlen(sn) > 5) f->kex_bits = std::atoi(sn + 5);
  } else if (const char* sn = OBJ_nid2sn(nid)) {
    f->kex_name = "ECDHE";
    f->kex_curve = sn;
  }
}

void DescribeKex(SSL* ssl, SessionFacts* f) {
  EVP_PKEY* raw = nullptr;
  if (SSL_get_tmp_key(ssl, &raw) != 1 || !raw) return DescribeGroup(ssl, f);
  EvpPkeyPtr key(raw);
  switch (EVP_PKEY_get_base_id(key.get())) {
    case EVP_PKEY_DH:
      f->kex_name = "DHE";
      f->kex_bits = EVP_PKEY_get_bits(key.get());
      break;
    case EVP_PKEY_EC: {
      f->kex_name = "ECDHE";
      int bits = 0;
      KeyShape(key.get(), &f->kex_curve, &bits);
      break;
    }
    default: {
      const char* sn = OBJ_nid2sn(EVP_PKEY_get_base_id(key.get()));
      if (sn) f->kex_name = sn;  // X25519, X448
      break;
    }
  }
}

std::string DigestName(int nid) {
  const char* sn = nid != NID_undef ? OBJ_nid2sn(nid) : nullptr;
  return sn ? std::string(sn) : std::string();
}

}  // namespace

std::string Fingerprint(const unsigned char* data, size_t len, const EVP_MD* md) {
  unsigned char buf[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (!md || EVP_Digest(data, len, buf, &n, md, nullptr) != 1) return {};
  return HexEncode(buf, n, HexCase::kUpper, ':');
}

SessionFacts DescribeServerSession(SSL* ssl, const EVP_MD* md) {
  SessionFacts f;
  f.reused = SSL_session_reused(ssl) == 1;
  f.protocol = SSL_get_version(ssl);
  if (const SSL_CIPHER* c = SSL_get_current_cipher(ssl)) {
    f.cipher_name = SSL_CIPHER_get_name(c);
    f.cipher_usebits = SSL_CIPHER_get_bits(c, &f.cipher_algbits);
  }
  if (!f.reused) DescribeKex(ssl, &f);

  X509Ptr peer(SSL_get1_peer_certificate(ssl));
  if (peer) {
    f.peer_status |= kPeerPresent;
    if (SSL_get_verify_result(ssl) == X509_V_OK) f.peer_status |= kPeerTrusted;
    f.peer_CN = CommonName(X509_get_subject_name(peer.get()));
    f.issuer_CN = CommonName(X509_get_issuer_name(peer.get()));
    unsigned char* der = nullptr;
    int n = i2d_X509(peer.get(), &der);
    if (n > 0) f.peer_fingerprint = Fingerprint(der, static_cast<size_t>(n), md);
    OPENSSL_free(der);
    der = nullptr;
    n = i2d_PUBKEY(X509_get0_pubkey(peer.get()), &der);
    if (n > 0) f.peer_pubkey_fingerprint = Fingerprint(der, static_cast<size_t>(n), md);
    OPENSSL_free(der);
  }
  if (!f.reused) {
    int nid = NID_undef;
    if (SSL_get_signature_type_nid(ssl, &nid) == 1 && SigName(nid)) {
      f.srvr_sig = SigName(nid);
      KeyShape(SSL_get_privatekey(ssl), &f.srvr_sig_curve, &f.srvr_sig_bits);
      int dnid = NID_undef;
      if (SSL_get_signature_nid(ssl, &dnid) == 1) f.srvr_sig_digest = DigestName(dnid);
    }
    if (peer && SSL_get_peer_signature_type_nid(ssl, &nid) == 1 && SigName(nid)) {
      f.clnt_sig = SigName(nid);
      KeyShape(X509_get0_pubkey(peer.get()), &f.clnt_sig_curve, &f.clnt_sig_bits);
      int dnid = NID_undef;
      if (SSL_get_peer_signature_nid(ssl, &dnid) == 1) f.clnt_sig_digest = DigestName(dnid);
    }
  }
  return f;
}

namespace {
void AppendAlg(std::string* out, const char* label, const std::string& name, const std::string& curve, int bits) {
  if (name.empty()) return;
  *out += " ";
  *out += label;
  *out += " " + name;
  if (!curve.empty()) *out += " (" + curve + ")";
  else if (bits > 0) *out += " (" + std::to_string(bits) + " bits)";
}
}  // namespace

std::string SummaryLine(const SessionFacts& f, std::string_view direction, std::string_view namaddr) {
  const char* trust = !(f.peer_status & kPeerPresent) ? "Anonymous"
                      : (f.peer_status & kPeerTrusted) ? "Trusted"
                                                      : "Untrusted";
  std::string out = std::string(trust) + " TLS connection " + (f.reused ? "reused" : "established") + " " +
                    std::string(direction) + " " + std::string(namaddr) + ": " + f.protocol + " with cipher " +
                    f.cipher_name + " (" + std::to_string(f.cipher_usebits) + "/" +
                    std::to_string(f.cipher_algbits) + " bits)";
  AppendAlg(&out, "key-exchange", f.kex_name, f.kex_curve, f.kex_bits);
  AppendAlg(&out, "server-signature", f.srvr_sig, f.srvr_sig_curve, f.srvr_sig_bits);
  if (!f.srvr_sig_digest.empty()) out += " server-digest " + f.srvr_sig_digest;
  AppendAlg(&out, "client-signature", f.clnt_sig, f.clnt_sig_curve, f.clnt_sig_bits);
  if (!f.clnt_sig_digest.empty()) out += " client-digest " + f.clnt_sig_digest;
  return out;
}

}  // namespace pftls::tls
