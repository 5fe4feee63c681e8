// Unit tests for keytool/keys: generation, PEM formats, loading, O_EXCL.
#include "keytool/keys.h"

#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

namespace pftls::keytool {
namespace {

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/keys_test.XXXXXX";
    const char* d = mkdtemp(tmpl);
    EXPECT_NE(d, nullptr);
    path_ = d ? d : "/tmp";
  }
  ~TempDir() {
    std::string cmd = "rm -rf '" + path_ + "'";
    EXPECT_EQ(system(cmd.c_str()), 0);
  }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

TEST(Keys, ParseAlgorithm) {
  EXPECT_EQ(*ParseAlgorithm("rsa"), KeyAlg::kRsa);
  EXPECT_EQ(*ParseAlgorithm("ecdsa"), KeyAlg::kEcdsa);
  EXPECT_EQ(*ParseAlgorithm("ed25519"), KeyAlg::kEd25519);
  EXPECT_FALSE(ParseAlgorithm("dsa"));
  EXPECT_FALSE(ParseAlgorithm(""));
  EXPECT_FALSE(ParseAlgorithm("RSA"));
  EXPECT_STREQ(DefaultSpec(KeyAlg::kRsa), "2048");
  EXPECT_STREQ(DefaultSpec(KeyAlg::kEcdsa), "secp256r1");
}

TEST(Keys, RsaDefaultSizeAndExponent) {
  int steps = 0;
  Result<EvpPkeyPtr> k = GenerateKey(KeyAlg::kRsa, "2048", [&](char) { ++steps; });
  ASSERT_TRUE(k) << k.error();
  EXPECT_EQ(EVP_PKEY_get_bits(k->get()), 2048);
  BIGNUM* e = nullptr;
  ASSERT_EQ(EVP_PKEY_get_bn_param(k->get(), "e", &e), 1);
  EXPECT_EQ(BN_get_word(e), 65537u);
  BN_free(e);
  EXPECT_GT(steps, 0);  // progress was reported
  Result<std::string> pem = KeyPem(k->get(), KeyFileStyle::kGenerated);
  ASSERT_TRUE(pem);
  EXPECT_EQ(pem->rfind("-----BEGIN PRIVATE KEY-----\n", 0), 0u);
}

TEST(Keys, BadRsaSizesRejected) {
  EXPECT_FALSE(GenerateKey(KeyAlg::kRsa, "100"));
  EXPECT_FALSE(GenerateKey(KeyAlg::kRsa, "abc"));
  EXPECT_FALSE(GenerateKey(KeyAlg::kRsa, ""));
  EXPECT_FALSE(GenerateKey(KeyAlg::kRsa, "-2048"));
  EXPECT_FALSE(GenerateKey(KeyAlg::kRsa, "99999999"));
}

TEST(Keys, EcGeneratedFormatIsParamsThenSec1) {
  for (const char* curve : {"secp256r1", "prime256v1", "secp384r1", "P-521"}) {
    Result<EvpPkeyPtr> k = GenerateKey(KeyAlg::kEcdsa, curve);
    ASSERT_TRUE(k) << curve << ": " << k.error();
    Result<std::string> pem = KeyPem(k->get(), KeyFileStyle::kGenerated);
    ASSERT_TRUE(pem);
    size_t params = pem->find("-----BEGIN EC PARAMETERS-----");
    size_t priv = pem->find("-----BEGIN EC PRIVATE KEY-----");
    EXPECT_EQ(params, 0u) << curve;
    EXPECT_NE(priv, std::string::npos) << curve;
    EXPECT_LT(params, priv);
  }
  // P-256's parameters are its named-curve OID: exactly what openssl writes.
  Result<EvpPkeyPtr> k = GenerateKey(KeyAlg::kEcdsa, "secp256r1");
  ASSERT_TRUE(k);
  Result<std::string> pem = KeyPem(k->get(), KeyFileStyle::kGenerated);
  ASSERT_TRUE(pem);
  EXPECT_EQ(pem->rfind("-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n", 0), 0u);
  Result<std::string> copied = KeyPem(k->get(), KeyFileStyle::kCopied);
  ASSERT_TRUE(copied);
  EXPECT_EQ(copied->rfind("-----BEGIN EC PRIVATE KEY-----\n", 0), 0u);
  EXPECT_EQ(copied->find("EC PARAMETERS"), std::string::npos);
}

TEST(Keys, UnknownCurveRejected) {
  EXPECT_FALSE(GenerateKey(KeyAlg::kEcdsa, "nosuchcurve"));
  EXPECT_FALSE(GenerateKey(KeyAlg::kEcdsa, ""));
}

TEST(Keys, Ed25519IsPkcs8) {
  Result<EvpPkeyPtr> k = GenerateKey(KeyAlg::kEd25519, "");
  ASSERT_TRUE(k);
  EXPECT_EQ(*KeyAlgOf(k->get()), KeyAlg::kEd25519);
  Result<std::string> pem = KeyPem(k->get(), KeyFileStyle::kGenerated);
  ASSERT_TRUE(pem);
  EXPECT_EQ(pem->rfind("-----BEGIN PRIVATE KEY-----\n", 0), 0u);
}

TEST(Keys, WriteIsExclusiveAndPrivate) {
  TempDir dir;
  Result<EvpPkeyPtr> k = GenerateKey(KeyAlg::kEcdsa, "secp256r1");
  ASSERT_TRUE(k);
  std::string path = dir.File("eckey.pem");
  mode_t old = umask(0);  // the mode must not depend on the umask
  Status s = WriteNewKeyFile(path, k->get(), KeyFileStyle::kGenerated);
  umask(old);
  ASSERT_TRUE(s) << s.error();
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_FALSE(WriteNewKeyFile(path, k->get(), KeyFileStyle::kGenerated));  // exists
  // A planted symlink is not followed.
  std::string link = dir.File("link.pem");
  ASSERT_EQ(symlink(dir.File("target.pem").c_str(), link.c_str()), 0);
  EXPECT_FALSE(WriteNewKeyFile(link, k->get(), KeyFileStyle::kGenerated));
  EXPECT_NE(access(dir.File("target.pem").c_str(), F_OK), 0);
}

TEST(Keys, LoadRoundTripAndAlgorithm) {
  TempDir dir;
  for (KeyAlg alg : {KeyAlg::kRsa, KeyAlg::kEcdsa, KeyAlg::kEd25519}) {
    Result<EvpPkeyPtr> k = GenerateKey(alg, DefaultSpec(alg));
    ASSERT_TRUE(k);
    for (KeyFileStyle style : {KeyFileStyle::kGenerated, KeyFileStyle::kCopied}) {
      std::string path = dir.File(std::string(AlgName(alg)) + (style == KeyFileStyle::kCopied ? "-c" : "-g"));
      ASSERT_TRUE(WriteNewKeyFile(path, k->get(), style));
      Result<LoadedKey> l = LoadPrivateKey(path);
      ASSERT_TRUE(l) << l.error();
      EXPECT_EQ(l->alg, alg);
      EXPECT_EQ(EVP_PKEY_eq(l->pkey.get(), k->get()), 1);
    }
  }
}

TEST(Keys, LoadSkipsCertificateBlockAndRejectsGarbage) {
  TempDir dir;
  Result<EvpPkeyPtr> k = GenerateKey(KeyAlg::kEcdsa, "secp256r1");
  ASSERT_TRUE(k);
  Result<std::string> pem = KeyPem(k->get(), KeyFileStyle::kCopied);
  ASSERT_TRUE(pem);
  std::string path = dir.File("combined.pem");
  std::ofstream(path) << "-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n" << *pem;
  Result<LoadedKey> l = LoadPrivateKey(path);
  ASSERT_TRUE(l) << l.error();
  EXPECT_EQ(l->alg, KeyAlg::kEcdsa);

  std::string junk = dir.File("junk.pem");
  std::ofstream(junk) << "not a key\n";
  EXPECT_FALSE(LoadPrivateKey(junk));
  EXPECT_FALSE(LoadPrivateKey(dir.File("missing.pem")));
  std::string empty = dir.File("empty.pem");
  std::ofstream(empty) << "";
  EXPECT_FALSE(LoadPrivateKey(empty));
}

TEST(Keys, DsaKeyIsNotUsable) {
  TempDir dir;
  EvpPkeyCtxPtr pctx(EVP_PKEY_CTX_new_from_name(nullptr, "DSA", nullptr));
  ASSERT_TRUE(pctx);
  ASSERT_EQ(EVP_PKEY_paramgen_init(pctx.get()), 1);
  ASSERT_EQ(EVP_PKEY_CTX_set_dsa_paramgen_bits(pctx.get(), 1024), 1);
  EVP_PKEY* params = nullptr;
  ASSERT_EQ(EVP_PKEY_paramgen(pctx.get(), &params), 1);
  EvpPkeyPtr p(params);
  EvpPkeyCtxPtr kctx(EVP_PKEY_CTX_new(p.get(), nullptr));
  ASSERT_EQ(EVP_PKEY_keygen_init(kctx.get()), 1);
  EVP_PKEY* raw = nullptr;
  ASSERT_EQ(EVP_PKEY_keygen(kctx.get(), &raw), 1);
  EvpPkeyPtr dsa(raw);
  EXPECT_FALSE(KeyAlgOf(dsa.get()));
  std::string path = dir.File("dsa.pem");
  {
    BioPtr bio(BIO_new_file(path.c_str(), "w"));
    ASSERT_EQ(PEM_write_bio_PrivateKey(bio.get(), dsa.get(), nullptr, nullptr, 0, nullptr, nullptr), 1);
  }
  EXPECT_FALSE(LoadPrivateKey(path));
}

}  // namespace
}  // namespace pftls::keytool
