// Unit tests for keytool/certs and keytool/tlsa.
#include "keytool/certs.h"

#include <gtest/gtest.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <ctime>
#include <fstream>

#include "keytool/keys.h"
#include "keytool/tlsa.h"

namespace pftls::keytool {
namespace {

EvpPkeyPtr Key(KeyAlg alg) {
  Result<EvpPkeyPtr> k = GenerateKey(alg, DefaultSpec(alg));
  EXPECT_TRUE(k);
  return k ? std::move(k).value() : EvpPkeyPtr();
}

std::string NameText(const X509_NAME* n) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  X509_NAME_print_ex(bio.get(), n, 0, XN_FLAG_ONELINE);
  char* p = nullptr;
  long len = BIO_get_mem_data(bio.get(), &p);
  return std::string(p, static_cast<size_t>(len));
}

std::vector<std::string> DnsNames(const GENERAL_NAMES* gens) {
  std::vector<std::string> out;
  for (int i = 0; i < sk_GENERAL_NAME_num(gens); ++i) {
    const GENERAL_NAME* g = sk_GENERAL_NAME_value(gens, i);
    EXPECT_EQ(g->type, GEN_DNS);
    out.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(g->d.dNSName)),
                     static_cast<size_t>(ASN1_STRING_length(g->d.dNSName)));
  }
  return out;
}

TEST(Certs, SelfSignedContents) {
  for (KeyAlg alg : {KeyAlg::kRsa, KeyAlg::kEcdsa, KeyAlg::kEd25519}) {
    EvpPkeyPtr k = Key(alg);
    time_t before = time(nullptr);
    Result<X509Ptr> c = MakeSelfSignedCert(k.get(), {"mx.example", "mail.example"});
    ASSERT_TRUE(c) << c.error();
    X509* x = c->get();
    EXPECT_EQ(X509_get_version(x), X509_VERSION_3);
    EXPECT_EQ(NameText(X509_get_subject_name(x)), "CN = mx.example");
    EXPECT_EQ(X509_NAME_cmp(X509_get_subject_name(x), X509_get_issuer_name(x)), 0);
    // CN is a UTF8String, as openssl req writes it.
    X509_NAME_ENTRY* e = X509_NAME_get_entry(X509_get_subject_name(x), 0);
    EXPECT_EQ(ASN1_STRING_type(X509_NAME_ENTRY_get_data(e)), V_ASN1_UTF8STRING);
    // Serial: positive, at most 20 bytes.
    BignumPtr serial(ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), nullptr));
    EXPECT_FALSE(BN_is_negative(serial.get()));
    EXPECT_LE(BN_num_bytes(serial.get()), 20);
    EXPECT_GT(BN_num_bits(serial.get()), 64);
    // Validity: now .. now + 36525 days.
    int days = 0, secs = 0;
    ASSERT_EQ(ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(x), X509_get0_notAfter(x)), 1);
    EXPECT_EQ(days, 36525);
    EXPECT_EQ(secs, 0);
    EXPECT_LE(X509_cmp_time(X509_get0_notBefore(x), &before), 0 + 1);
    // Extensions, in order: basicConstraints, SKI, EKU, SAN; nothing else.
    ASSERT_EQ(X509_get_ext_count(x), 4);
    EXPECT_EQ(OBJ_obj2nid(X509_EXTENSION_get_object(X509_get_ext(x, 0))), NID_basic_constraints);
    EXPECT_EQ(OBJ_obj2nid(X509_EXTENSION_get_object(X509_get_ext(x, 1))), NID_subject_key_identifier);
    EXPECT_EQ(OBJ_obj2nid(X509_EXTENSION_get_object(X509_get_ext(x, 2))), NID_ext_key_usage);
    EXPECT_EQ(OBJ_obj2nid(X509_EXTENSION_get_object(X509_get_ext(x, 3))), NID_subject_alt_name);
    EXPECT_EQ(X509_get_extension_flags(x) & EXFLAG_CA, 0u);
    EXPECT_EQ(X509_get_extended_key_usage(x), static_cast<uint32_t>(XKU_SSL_SERVER | XKU_SSL_CLIENT));
    EXPECT_EQ(X509_get_key_usage(x), UINT32_MAX);  // no keyUsage extension
    CPtr<GENERAL_NAMES, &GENERAL_NAMES_free> san(
        static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(x, NID_subject_alt_name, nullptr, nullptr)));
    ASSERT_TRUE(san);
    EXPECT_EQ(DnsNames(san.get()), (std::vector<std::string>{"mx.example", "mail.example"}));
    // Signature: SHA-256 (EdDSA: none), self-signed and verifiable.
    int mdnid = 0, pknid = 0;
    ASSERT_EQ(X509_get_signature_info(x, &mdnid, &pknid, nullptr, nullptr), 1);
    EXPECT_EQ(mdnid, alg == KeyAlg::kEd25519 ? NID_undef : NID_sha256) << AlgName(alg);
    EXPECT_EQ(X509_verify(x, k.get()), 1);
    EXPECT_TRUE(CheckValidNow(x));
    // The certificate's SPKI digest is the key's.
    EXPECT_EQ(*CertSpkiSha256Hex(x), *SpkiSha256Hex(k.get()));
  }
}

TEST(Certs, LongCommonNameFails) {
  EvpPkeyPtr k = Key(KeyAlg::kEcdsa);
  EXPECT_FALSE(MakeSelfSignedCert(k.get(), {std::string(65, 'a')}));
  EXPECT_TRUE(MakeSelfSignedCert(k.get(), {std::string(64, 'a')}));
  EXPECT_FALSE(MakeSelfSignedCert(k.get(), {}));
}

TEST(Certs, CsrContents) {
  EvpPkeyPtr k = Key(KeyAlg::kEcdsa);
  Result<X509ReqPtr> r = MakeCsr(k.get(), {"a.example", "b.example", "c.example"});
  ASSERT_TRUE(r) << r.error();
  X509_REQ* req = r->get();
  EXPECT_EQ(X509_REQ_get_version(req), X509_REQ_VERSION_1);
  EXPECT_EQ(X509_NAME_entry_count(X509_REQ_get_subject_name(req)), 0);  // empty subject
  EXPECT_EQ(X509_REQ_verify(req, k.get()), 1);
  STACK_OF(X509_EXTENSION)* exts = X509_REQ_get_extensions(req);
  ASSERT_NE(exts, nullptr);
  ASSERT_EQ(sk_X509_EXTENSION_num(exts), 3);
  EXPECT_EQ(OBJ_obj2nid(X509_EXTENSION_get_object(sk_X509_EXTENSION_value(exts, 0))), NID_subject_key_identifier);
  EXPECT_EQ(OBJ_obj2nid(X509_EXTENSION_get_object(sk_X509_EXTENSION_value(exts, 1))), NID_ext_key_usage);
  EXPECT_EQ(OBJ_obj2nid(X509_EXTENSION_get_object(sk_X509_EXTENSION_value(exts, 2))), NID_subject_alt_name);
  CPtr<GENERAL_NAMES, &GENERAL_NAMES_free> san(
      static_cast<GENERAL_NAMES*>(X509V3_get_d2i(exts, NID_subject_alt_name, nullptr, nullptr)));
  ASSERT_TRUE(san);
  EXPECT_EQ(DnsNames(san.get()), (std::vector<std::string>{"a.example", "b.example", "c.example"}));
  sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
  Result<std::string> pem = CsrPem(req);
  ASSERT_TRUE(pem);
  EXPECT_EQ(pem->rfind("-----BEGIN CERTIFICATE REQUEST-----\n", 0), 0u);
}

TEST(Certs, WriteModeAndLoad) {
  char tmpl[] = "/tmp/certs_test.XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  std::string dir = tmpl;
  EvpPkeyPtr k = Key(KeyAlg::kEcdsa);
  Result<X509Ptr> c = MakeSelfSignedCert(k.get(), {"mx.example"});
  ASSERT_TRUE(c);
  std::string path = dir + "/cert.pem";
  mode_t old = umask(077);
  ASSERT_TRUE(WriteNewCertFile(path, c->get()));
  umask(old);
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0644u);
  EXPECT_FALSE(WriteNewCertFile(path, c->get()));
  Result<X509Ptr> back = LoadCertificate(path);
  ASSERT_TRUE(back);
  EXPECT_EQ(X509_cmp(back->get(), c->get()), 0);
  // A key block before the certificate is skipped.
  std::string comb = dir + "/combined.pem";
  std::ofstream(comb) << *KeyPem(k.get(), KeyFileStyle::kGenerated) << *CertPem(c->get());
  Result<X509Ptr> c2 = LoadCertificate(comb);
  ASSERT_TRUE(c2);
  EXPECT_EQ(X509_cmp(c2->get(), c->get()), 0);
  EXPECT_FALSE(LoadCertificate(dir + "/missing.pem"));
  std::string cmd = "rm -rf '" + dir + "'";
  ASSERT_EQ(system(cmd.c_str()), 0);
}

TEST(Certs, ValidityChecks) {
  EvpPkeyPtr k = Key(KeyAlg::kEcdsa);
  Result<X509Ptr> c = MakeSelfSignedCert(k.get(), {"mx.example"}, 1);
  ASSERT_TRUE(c);
  EXPECT_TRUE(CheckValidNow(c->get()));
  ASSERT_TRUE(X509_gmtime_adj(X509_getm_notAfter(c->get()), -3600));
  Status s = CheckValidNow(c->get());
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error(), "expired");
  ASSERT_TRUE(X509_gmtime_adj(X509_getm_notBefore(c->get()), 86400));
  ASSERT_TRUE(X509_gmtime_adj(X509_getm_notAfter(c->get()), 2 * 86400));
  s = CheckValidNow(c->get());
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error(), "not yet valid");
}

TEST(Tlsa, RecordFormat) {
  EXPECT_EQ(TlsaRecord(25, "mx.example.test", "00ff"), "_25._tcp.mx.example.test. IN TLSA 3 1 1 00ff\n");
  EXPECT_EQ(TlsaRecord(465, "h", "ab"), "_465._tcp.h. IN TLSA 3 1 1 ab\n");
  EXPECT_EQ(HexLower(std::string("\x00\x9f\xff", 3)), "009fff");
}

TEST(Tlsa, DigestIsSha256OfSpki) {
  // A fixed key: the digest must be stable and equal to SHA-256(DER SPKI).
  EvpPkeyPtr k = Key(KeyAlg::kEcdsa);
  Result<std::string> der = PublicKeyDer(k.get());
  ASSERT_TRUE(der);
  unsigned char md[32];
  unsigned int len = 0;
  ASSERT_EQ(EVP_Digest(der->data(), der->size(), md, &len, EVP_sha256(), nullptr), 1);
  Result<std::string> hex = SpkiSha256Hex(k.get());
  ASSERT_TRUE(hex);
  EXPECT_EQ(*hex, HexLower(std::string(reinterpret_cast<char*>(md), len)));
  EXPECT_EQ(hex->size(), 64u);
  EvpPkeyPtr other = Key(KeyAlg::kEcdsa);
  EXPECT_NE(*SpkiSha256Hex(other.get()), *hex);
}

}  // namespace
}  // namespace pftls::keytool
