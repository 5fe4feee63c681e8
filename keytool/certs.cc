// keytool/certs.cc - see keytool/certs.h.
#include "keytool/certs.h"

#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "keytool/files.h"
#include "keytool/keys.h"
#include "util/fd.h"

namespace pftls::keytool {
namespace {

// Serial numbers as openssl(1) makes them: 159 random bits, positive.
constexpr int kSerialBits = 159;

using X509ExtPtr = CPtr<X509_EXTENSION, &X509_EXTENSION_free>;
using GeneralNamesPtr = CPtr<GENERAL_NAMES, &GENERAL_NAMES_free>;

void FreeExtStack(STACK_OF(X509_EXTENSION) * s) { sk_X509_EXTENSION_pop_free(s, X509_EXTENSION_free); }
using ExtStackPtr = CPtr<STACK_OF(X509_EXTENSION), &FreeExtStack>;

const EVP_MD* DigestFor(EVP_PKEY* pkey) {
  // EdDSA signs the message itself: no separate digest.
  if (EVP_PKEY_is_a(pkey, "ED25519") || EVP_PKEY_is_a(pkey, "ED448")) return nullptr;
  return EVP_sha256();
}

Result<X509ExtPtr> ConfExt(X509V3_CTX* ctx, int nid, const char* value) {
  X509ExtPtr ext(X509V3_EXT_conf_nid(nullptr, ctx, nid, value));
  if (!ext) return MakeError(std::string("cannot make extension ") + OBJ_nid2sn(nid) + ": " + OpensslErrors());
  return ext;
}

Result<X509ExtPtr> SubjectAltNames(const std::vector<std::string>& hostnames) {
  GeneralNamesPtr names(sk_GENERAL_NAME_new_null());
  if (!names) return MakeError("out of memory");
  for (const std::string& host : hostnames) {
    CPtr<GENERAL_NAME, &GENERAL_NAME_free> gen(GENERAL_NAME_new());
    CPtr<ASN1_IA5STRING, &ASN1_IA5STRING_free> ia5(ASN1_IA5STRING_new());
    if (!gen || !ia5 || ASN1_STRING_set(ia5.get(), host.data(), static_cast<int>(host.size())) != 1)
      return MakeError("out of memory");
    GENERAL_NAME_set0_value(gen.get(), GEN_DNS, ia5.release());
    if (sk_GENERAL_NAME_push(names.get(), gen.get()) <= 0) return MakeError("out of memory");
    gen.release();
  }
  X509ExtPtr ext(X509V3_EXT_i2d(NID_subject_alt_name, 0, names.get()));
  if (!ext) return MakeError("cannot make subjectAltName: " + OpensslErrors());
  return ext;
}

Result<std::string> Pem(int (*writer)(BIO*, void*), void* obj) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || writer(bio.get(), obj) != 1) return MakeError("cannot encode PEM: " + OpensslErrors());
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  if (len <= 0 || !data) return MakeError("empty PEM output");
  return std::string(data, static_cast<size_t>(len));
}

int WriteX509(BIO* b, void* x) { return PEM_write_bio_X509(b, static_cast<X509*>(x)); }
int WriteReq(BIO* b, void* r) { return PEM_write_bio_X509_REQ(b, static_cast<X509_REQ*>(r)); }

}  // namespace

Result<X509Ptr> MakeSelfSignedCert(EVP_PKEY* pkey, const std::vector<std::string>& hostnames, long days) {
  ERR_clear_error();
  if (hostnames.empty()) return MakeError("no hostname for the certificate");
  X509Ptr x(X509_new());
  if (!x || X509_set_version(x.get(), X509_VERSION_3) != 1) return MakeError("out of memory");

  BignumPtr bn(BN_new());
  if (!bn || BN_rand(bn.get(), kSerialBits, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1)
    return MakeError("cannot make a random serial number: " + OpensslErrors());
  if (!BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(x.get())))
    return MakeError("cannot set the serial number: " + OpensslErrors());

  X509NamePtr name(X509_NAME_new());
  if (!name ||
      X509_NAME_add_entry_by_NID(name.get(), NID_commonName, MBSTRING_ASC,
                                 reinterpret_cast<const unsigned char*>(hostnames[0].c_str()),
                                 static_cast<int>(hostnames[0].size()), -1, 0) != 1)
    return MakeError("bad CommonName '" + hostnames[0] + "': " + OpensslErrors());
  if (X509_set_subject_name(x.get(), name.get()) != 1 || X509_set_issuer_name(x.get(), name.get()) != 1)
    return MakeError("cannot set the subject: " + OpensslErrors());

  if (!X509_gmtime_adj(X509_getm_notBefore(x.get()), 0) ||
      !X509_time_adj_ex(X509_getm_notAfter(x.get()), static_cast<int>(days), 0, nullptr))
    return MakeError("cannot set the validity: " + OpensslErrors());
  if (X509_set_pubkey(x.get(), pkey) != 1) return MakeError("cannot set the public key: " + OpensslErrors());

  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, x.get(), x.get(), nullptr, nullptr, 0);
  Result<X509ExtPtr> exts[] = {
      ConfExt(&ctx, NID_basic_constraints, "CA:false"),
      ConfExt(&ctx, NID_subject_key_identifier, "hash"),
      ConfExt(&ctx, NID_ext_key_usage, "serverAuth, clientAuth"),
      SubjectAltNames(hostnames),
  };
  for (auto& ext : exts) {
    if (!ext) return std::move(ext).take_error();
    if (X509_add_ext(x.get(), ext->get(), -1) != 1) return MakeError("cannot add extension: " + OpensslErrors());
  }
  if (X509_sign(x.get(), pkey, DigestFor(pkey)) <= 0)
    return MakeError("cannot sign the certificate: " + OpensslErrors());
  return x;
}

Result<X509ReqPtr> MakeCsr(EVP_PKEY* pkey, const std::vector<std::string>& hostnames) {
  ERR_clear_error();
  X509ReqPtr req(X509_REQ_new());
  if (!req || X509_REQ_set_version(req.get(), X509_REQ_VERSION_1) != 1) return MakeError("out of memory");
  if (X509_REQ_set_pubkey(req.get(), pkey) != 1) return MakeError("cannot set the public key: " + OpensslErrors());

  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, nullptr, nullptr, req.get(), nullptr, 0);
  ExtStackPtr stack(sk_X509_EXTENSION_new_null());
  if (!stack) return MakeError("out of memory");
  Result<X509ExtPtr> exts[] = {
      ConfExt(&ctx, NID_subject_key_identifier, "hash"),
      ConfExt(&ctx, NID_ext_key_usage, "serverAuth, clientAuth"),
      SubjectAltNames(hostnames),
  };
  for (auto& ext : exts) {
    if (!ext) return std::move(ext).take_error();
    if (sk_X509_EXTENSION_push(stack.get(), ext->get()) <= 0) return MakeError("out of memory");
    ext->release();
  }
  if (X509_REQ_add_extensions(req.get(), stack.get()) != 1)
    return MakeError("cannot add the requested extensions: " + OpensslErrors());
  if (X509_REQ_sign(req.get(), pkey, DigestFor(pkey)) <= 0)
    return MakeError("cannot sign the request: " + OpensslErrors());
  return req;
}

Result<std::string> CertPem(X509* cert) { return Pem(WriteX509, cert); }
Result<std::string> CsrPem(X509_REQ* req) { return Pem(WriteReq, req); }

Status WriteNewCertFile(const std::string& path, X509* cert) {
  Result<std::string> pem = CertPem(cert);
  if (!pem) return Error{pem.error()};
  return WriteNewFile(path, *pem, 0644);
}

Result<X509Ptr> LoadCertificate(const std::string& path) {
  ERR_clear_error();
  BioPtr bio(BIO_new_file(path.c_str(), "rb"));
  if (!bio) return MakeError("cannot open " + path);
  X509Ptr x(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!x) {
    ERR_clear_error();
    if (BIO_reset(bio.get()) == 0) x.reset(d2i_X509_bio(bio.get(), nullptr));
  }
  ERR_clear_error();
  if (!x) return MakeError("no certificate found in " + path);
  return x;
}

Status CheckValidNow(X509* cert) {
  if (X509_cmp_current_time(X509_get0_notBefore(cert)) >= 0) return MakeError("not yet valid");
  if (X509_cmp_current_time(X509_get0_notAfter(cert)) <= 0) return MakeError("expired");
  return Status::Ok();
}

}  // namespace pftls::keytool
