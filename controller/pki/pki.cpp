#include "pki.h"

#include <arpa/inet.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>

namespace ztna::controller::pki {

namespace {

template <typename T, void (*F)(T*)>
struct Deleter {
    void operator()(T* p) const { F(p); }
};
using PKey = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using Cert = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using Bio = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;

std::string openssl_error() {
    const unsigned long e = ERR_get_error();
    ERR_clear_error();
    if (!e) return "unknown OpenSSL error";
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    return buf;
}

Unexpected<Error> pki_error(const std::string& what) { return fail("pki_error", what + ": " + openssl_error()); }

Result<std::string> to_pem(X509* x) {
    Bio b(BIO_new(BIO_s_mem()));
    if (!b || PEM_write_bio_X509(b.get(), x) != 1) return pki_error("writing a certificate as PEM");
    char* p = nullptr;
    const long n = BIO_get_mem_data(b.get(), &p);
    return std::string(p, std::size_t(n));
}

Result<SecretString> key_to_pem(EVP_PKEY* k) {
    Bio b(BIO_new(BIO_s_secmem()));
    if (!b) b.reset(BIO_new(BIO_s_mem()));
    if (!b || PEM_write_bio_PrivateKey(b.get(), k, nullptr, nullptr, 0, nullptr, nullptr) != 1)
        return pki_error("writing a private key as PEM");
    char* p = nullptr;
    const long n = BIO_get_mem_data(b.get(), &p);
    return SecretString(std::string(p, std::size_t(n)));
}

bool add_ext(X509* cert, X509* issuer, int nid, const char* value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    if (!ext) return false;
    const bool ok = X509_add_ext(cert, ext, -1) == 1;
    X509_EXTENSION_free(ext);
    return ok;
}

// A certificate with a random 128-bit serial, valid from an hour ago (clock
// skew between hosts) for days, subject CN=common_name, O=ZTNA.
Result<Cert> new_certificate(EVP_PKEY* key, const std::string& common_name, int days) {
    Cert x(X509_new());
    if (!x) return pki_error("allocating a certificate");
    X509_set_version(x.get(), 2);
    unsigned char serial[16];
    if (RAND_bytes(serial, sizeof serial) != 1) return pki_error("drawing a serial number");
    serial[0] &= 0x7f;  // positive
    BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
    if (!bn || !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x.get()))) {
        BN_free(bn);
        return pki_error("setting a serial number");
    }
    BN_free(bn);
    X509_gmtime_adj(X509_getm_notBefore(x.get()), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x.get()), long(days) * 86400);
    X509_NAME* name = X509_get_subject_name(x.get());
    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>("ZTNA"), -1, -1, 0);
    if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(common_name.c_str()),
                                   -1, -1, 0) != 1)
        return pki_error("setting the common name \"" + common_name + "\"");
    if (X509_set_pubkey(x.get(), key) != 1) return pki_error("setting the public key");
    return x;
}

Result<PKey> load_key(const SecretString& pem) {
    Bio b(BIO_new_mem_buf(pem.reveal().data(), int(pem.reveal().size())));
    PKey k(PEM_read_bio_PrivateKey(b.get(), nullptr, nullptr, nullptr));
    if (!k) return pki_error("reading the CA private key");
    return k;
}

Result<Cert> load_cert(const std::string& pem) {
    Bio b(BIO_new_mem_buf(pem.data(), int(pem.size())));
    Cert x(PEM_read_bio_X509(b.get(), nullptr, nullptr, nullptr));
    if (!x) return pki_error("reading the CA certificate");
    return x;
}

bool is_ip_literal(const std::string& s) {
    unsigned char buf[16];
    return inet_pton(AF_INET, s.c_str(), buf) == 1 || inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

}  // namespace

Result<KeyAndCert> make_ca(const std::string& common_name, int days) {
    PKey key(EVP_EC_gen("P-256"));
    if (!key) return pki_error("generating the CA key");
    auto x = new_certificate(key.get(), common_name, days);
    if (!x) return Unexpected<Error>{x.error()};
    X509_set_issuer_name(x->get(), X509_get_subject_name(x->get()));
    if (!add_ext(x->get(), x->get(), NID_basic_constraints, "critical,CA:TRUE,pathlen:0") ||
        !add_ext(x->get(), x->get(), NID_key_usage, "critical,keyCertSign,cRLSign") ||
        !add_ext(x->get(), x->get(), NID_subject_key_identifier, "hash"))
        return pki_error("adding the CA extensions");
    if (X509_sign(x->get(), key.get(), EVP_sha256()) <= 0) return pki_error("signing the CA certificate");
    auto cert = to_pem(x->get());
    auto pem = key_to_pem(key.get());
    if (!cert) return Unexpected<Error>{cert.error()};
    if (!pem) return Unexpected<Error>{pem.error()};
    return KeyAndCert{std::move(*pem), std::move(*cert)};
}

Result<KeyAndCert> issue_server_certificate(const KeyAndCert& ca, const std::string& common_name,
                                            const std::vector<std::string>& names, int days) {
    if (names.empty()) return fail("a server certificate needs at least one host name or address");
    auto ca_key = load_key(ca.key_pem);
    if (!ca_key) return Unexpected<Error>{ca_key.error()};
    auto ca_cert = load_cert(ca.cert_pem);
    if (!ca_cert) return Unexpected<Error>{ca_cert.error()};
    PKey key(EVP_EC_gen("P-256"));
    if (!key) return pki_error("generating the server key");
    auto x = new_certificate(key.get(), common_name, days);
    if (!x) return Unexpected<Error>{x.error()};
    X509_set_issuer_name(x->get(), X509_get_subject_name(ca_cert->get()));
    std::string san;
    for (const auto& n : names) {
        if (n.empty() || n.find_first_of(",\n\r") != std::string::npos)
            return fail("not a host name or address for a certificate: \"" + n + "\"");
        if (!san.empty()) san += ',';
        san += (is_ip_literal(n) ? "IP:" : "DNS:") + n;
    }
    if (!add_ext(x->get(), ca_cert->get(), NID_basic_constraints, "critical,CA:FALSE") ||
        !add_ext(x->get(), ca_cert->get(), NID_key_usage, "critical,digitalSignature,keyEncipherment") ||
        !add_ext(x->get(), ca_cert->get(), NID_ext_key_usage, "serverAuth") ||
        !add_ext(x->get(), ca_cert->get(), NID_subject_key_identifier, "hash") ||
        !add_ext(x->get(), ca_cert->get(), NID_authority_key_identifier, "keyid:always") ||
        !add_ext(x->get(), ca_cert->get(), NID_subject_alt_name, san.c_str()))
        return pki_error("adding the server certificate extensions (" + san + ")");
    if (X509_sign(x->get(), ca_key->get(), EVP_sha256()) <= 0) return pki_error("signing the server certificate");
    auto cert = to_pem(x->get());
    auto pem = key_to_pem(key.get());
    if (!cert) return Unexpected<Error>{cert.error()};
    if (!pem) return Unexpected<Error>{pem.error()};
    return KeyAndCert{std::move(*pem), std::move(*cert)};
}

}  // namespace ztna::controller::pki
