// keytool/keys.cc - see keytool/keys.h.
#include "keytool/keys.h"

#include <fcntl.h>
#include <openssl/core_names.h>
#include <openssl/encoder.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "keytool/files.h"
#include "util/fd.h"

namespace pftls::keytool {
namespace {

// The largest RSA modulus we generate (openssl genrsa only warns above it;
// a larger key would take minutes to hours).
constexpr int kMaxRsaBits = 16384;
constexpr int kMinRsaBits = 512;

Result<int> ParseBits(const std::string& spec) {
  if (spec.empty() || spec.size() > 6) return MakeError("Invalid RSA key size: '" + spec + "'");
  int bits = 0;
  for (char c : spec) {
    if (c < '0' || c > '9') return MakeError("Invalid RSA key size: '" + spec + "'");
    bits = bits * 10 + (c - '0');
  }
  if (bits < kMinRsaBits) return MakeError("RSA key size " + spec + " is below the minimum of 512 bits");
  if (bits > kMaxRsaBits) return MakeError("RSA key size " + spec + " is above the maximum of 16384 bits");
  return bits;
}

int KeygenCallback(EVP_PKEY_CTX* ctx) {
  auto* fn = static_cast<const ProgressFn*>(EVP_PKEY_CTX_get_app_data(ctx));
  if (fn && *fn) {
    static const char kSymbols[] = {'.', '+', '*', '\n'};
    int p = EVP_PKEY_CTX_get_keygen_info(ctx, 0);
    if (p >= 0 && p < 4) (*fn)(kSymbols[p]);
  }
  return 1;
}

Result<std::string> BioContents(BIO* bio) {
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  if (len < 0 || data == nullptr) return MakeError("empty PEM output");
  return std::string(data, static_cast<size_t>(len));
}

Status EncodeTypeSpecific(BIO* bio, EVP_PKEY* pkey, int selection) {
  CPtr<OSSL_ENCODER_CTX, &OSSL_ENCODER_CTX_free> ectx(
      OSSL_ENCODER_CTX_new_for_pkey(pkey, selection, "PEM", "type-specific", nullptr));
  if (!ectx || OSSL_ENCODER_CTX_get_num_encoders(ectx.get()) == 0)
    return MakeError("no PEM encoder for the key: " + OpensslErrors());
  if (OSSL_ENCODER_to_bio(ectx.get(), bio) != 1)
    return MakeError("cannot encode the key: " + OpensslErrors());
  return Status::Ok();
}

int NoPassword(char*, int, int, void*) { return -1; }

}  // namespace

std::string OpensslErrors() {
  std::string out;
  unsigned long e;
  while ((e = ERR_get_error()) != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? std::string("unknown OpenSSL error") : out;
}

const char* AlgName(KeyAlg alg) {
  switch (alg) {
    case KeyAlg::kRsa: return "rsa";
    case KeyAlg::kEcdsa: return "ecdsa";
    case KeyAlg::kEd25519: return "ed25519";
  }
  return "rsa";
}

Result<KeyAlg> ParseAlgorithm(std::string_view name) {
  if (name == "rsa") return KeyAlg::kRsa;
  if (name == "ecdsa") return KeyAlg::kEcdsa;
  if (name == "ed25519") return KeyAlg::kEd25519;
  return MakeError("unsupported algorithm");
}

const char* DefaultSpec(KeyAlg alg) {
  switch (alg) {
    case KeyAlg::kRsa: return kDefaultRsaBits;
    case KeyAlg::kEcdsa: return kDefaultCurve;
    case KeyAlg::kEd25519: return "";
  }
  return "";
}

Result<EvpPkeyPtr> GenerateKey(KeyAlg alg, const std::string& spec, const ProgressFn& progress) {
  ERR_clear_error();
  const char* type = alg == KeyAlg::kRsa ? "RSA" : alg == KeyAlg::kEcdsa ? "EC" : "ED25519";
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  if (!ctx || EVP_PKEY_keygen_init(ctx.get()) <= 0)
    return MakeError(std::string("cannot initialise ") + type + " key generation: " + OpensslErrors());
  if (alg == KeyAlg::kRsa) {
    Result<int> bits = ParseBits(spec);
    if (!bits) return std::move(bits).take_error();
    if (EVP_PKEY_CTX_set_rsa_keygen_bits(ctx.get(), *bits) <= 0)
      return MakeError("cannot set RSA key size: " + OpensslErrors());
  } else if (alg == KeyAlg::kEcdsa) {
    // openssl ecparam maps the SECG name of the P-256 curve to its X9.62 name.
    std::string curve = spec == "secp256r1" ? "prime256v1" : spec == "secp192r1" ? "prime192v1" : spec;
    if (curve.empty() || curve.size() > 64) return MakeError("invalid curve name '" + spec + "'");
    std::string encoding = "named_curve";
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, curve.data(), 0),
        OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_EC_ENCODING, encoding.data(), 0),
        OSSL_PARAM_construct_end(),
    };
    if (EVP_PKEY_CTX_set_params(ctx.get(), params) <= 0)
      return MakeError("unknown curve name: " + spec + " (" + OpensslErrors() + ")");
  }
  if (progress) {
    EVP_PKEY_CTX_set_app_data(ctx.get(), const_cast<ProgressFn*>(&progress));
    EVP_PKEY_CTX_set_cb(ctx.get(), KeygenCallback);
  }
  EVP_PKEY* raw = nullptr;
  int rc = EVP_PKEY_generate(ctx.get(), &raw);
  EvpPkeyPtr key(raw);
  if (rc <= 0 || !key) return MakeError(std::string("cannot generate ") + type + " key: " + OpensslErrors());
  return key;
}

Result<KeyAlg> KeyAlgOf(EVP_PKEY* pkey) {
  if (EVP_PKEY_is_a(pkey, "RSA")) return KeyAlg::kRsa;
  if (EVP_PKEY_is_a(pkey, "EC")) return KeyAlg::kEcdsa;
  if (EVP_PKEY_is_a(pkey, "ED25519")) return KeyAlg::kEd25519;
  const char* name = EVP_PKEY_get0_type_name(pkey);
  return MakeError(std::string("unsupported key type ") + (name ? name : "(unknown)"));
}

Result<std::string> KeyPem(EVP_PKEY* pkey, KeyFileStyle style) {
  Result<KeyAlg> alg = KeyAlgOf(pkey);
  if (!alg) return std::move(alg).take_error();
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio) return MakeError("out of memory");
  ERR_clear_error();
  if (*alg == KeyAlg::kEcdsa) {
    if (style == KeyFileStyle::kGenerated) {
      Status s = EncodeTypeSpecific(bio.get(), pkey, OSSL_KEYMGMT_SELECT_ALL_PARAMETERS);
      if (!s) return Error{s.error()};
    }
    Status s = EncodeTypeSpecific(bio.get(), pkey, OSSL_KEYMGMT_SELECT_KEYPAIR | OSSL_KEYMGMT_SELECT_ALL_PARAMETERS);
    if (!s) return Error{s.error()};
  } else if (PEM_write_bio_PrivateKey(bio.get(), pkey, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return MakeError("cannot encode the key: " + OpensslErrors());
  }
  return BioContents(bio.get());
}

Status WriteNewKeyFile(const std::string& path, EVP_PKEY* pkey, KeyFileStyle style) {
  Result<std::string> pem = KeyPem(pkey, style);
  if (!pem) return Error{pem.error()};
  return WriteNewFile(path, *pem, 0600);
}

Result<LoadedKey> LoadPrivateKey(const std::string& path) {
  ERR_clear_error();
  BioPtr bio(BIO_new_file(path.c_str(), "rb"));
  if (!bio) return MakeError("cannot open " + path + ": " + OpensslErrors());
  EvpPkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, NoPassword, nullptr));
  if (!key) {
    ERR_clear_error();
    if (BIO_reset(bio.get()) == 0) key.reset(d2i_PrivateKey_bio(bio.get(), nullptr));
  }
  if (!key) return MakeError("no private key found in " + path);
  ERR_clear_error();
  Result<KeyAlg> alg = KeyAlgOf(key.get());
  if (!alg) return std::move(alg).take_error();
  return LoadedKey{std::move(key), *alg};
}

Result<std::string> PublicKeyDer(EVP_PKEY* pkey) {
  unsigned char* der = nullptr;
  int len = i2d_PUBKEY(pkey, &der);
  if (len <= 0 || der == nullptr) return MakeError("cannot encode the public key: " + OpensslErrors());
  std::string out(reinterpret_cast<char*>(der), static_cast<size_t>(len));
  OPENSSL_free(der);
  return out;
}

}  // namespace pftls::keytool
