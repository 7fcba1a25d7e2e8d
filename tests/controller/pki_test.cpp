// The PKI: a CA and a server certificate it issues verify with OpenSSL for
// the names given, and for no other; secrets look like secrets.
#include <doctest/doctest.h>
#include <openssl/pem.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "pki.h"
#include "tokens.h"

using namespace ztna::controller;

namespace {

X509* parse(const std::string& pem) {
    BIO* b = BIO_new_mem_buf(pem.data(), int(pem.size()));
    X509* x = PEM_read_bio_X509(b, nullptr, nullptr, nullptr);
    BIO_free(b);
    return x;
}

// Verifies leaf against ca for host (a DNS name or an IP literal).
bool verifies(const std::string& ca_pem, const std::string& leaf_pem, const std::string& host) {
    X509* ca = parse(ca_pem);
    X509* leaf = parse(leaf_pem);
    X509_STORE* store = X509_STORE_new();
    X509_STORE_add_cert(store, ca);
    X509_STORE_CTX* ctx = X509_STORE_CTX_new();
    X509_STORE_CTX_init(ctx, store, leaf, nullptr);
    X509_VERIFY_PARAM* p = X509_STORE_CTX_get0_param(ctx);
    X509_VERIFY_PARAM_set_purpose(p, X509_PURPOSE_SSL_SERVER);
    if (host.find_first_not_of("0123456789.:abcdef") == std::string::npos && host.find_first_of(".:") != std::string::npos)
        X509_VERIFY_PARAM_set1_ip_asc(p, host.c_str());
    else
        X509_VERIFY_PARAM_set1_host(p, host.c_str(), 0);
    const bool ok = X509_verify_cert(ctx) == 1;
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    X509_free(ca);
    X509_free(leaf);
    return ok;
}

}  // namespace

TEST_CASE("pki: the controller's certificate verifies against its CA for every name given, and only those") {
    auto ca = pki::make_ca("Test CA", 30);
    REQUIRE_MESSAGE(ca, ca.error().message);
    CHECK(ca->key_pem.reveal().find("PRIVATE KEY") != std::string::npos);
    CHECK(ca->cert_pem.find("PRIVATE") == std::string::npos);
    auto srv = pki::issue_server_certificate(*ca, "controller.corp.test", {"controller.corp.test", "10.77.0.1", "::1"}, 30);
    REQUIRE_MESSAGE(srv, srv.error().message);
    CHECK(verifies(ca->cert_pem, srv->cert_pem, "controller.corp.test"));
    CHECK(verifies(ca->cert_pem, srv->cert_pem, "10.77.0.1"));
    CHECK(!verifies(ca->cert_pem, srv->cert_pem, "evil.corp.test"));
    CHECK(!verifies(ca->cert_pem, srv->cert_pem, "10.77.0.2"));
    auto other = pki::make_ca("Other CA", 30);
    REQUIRE(other);
    CHECK(!verifies(other->cert_pem, srv->cert_pem, "controller.corp.test"));
}

TEST_CASE("pki: names that would inject extensions, or none at all, are refused") {
    auto ca = pki::make_ca("Test CA", 30);
    REQUIRE(ca);
    CHECK(!pki::issue_server_certificate(*ca, "x", {}, 30));
    auto bad = pki::issue_server_certificate(*ca, "x", {"a.test,DNS:evil.test"}, 30);
    REQUIRE(!bad);
    CHECK(bad.error().message.find("not a host name") != std::string::npos);
    pki::KeyAndCert broken{SecretString("not a key"), ca->cert_pem};
    CHECK(!pki::issue_server_certificate(broken, "x", {"a.test"}, 30));
}

TEST_CASE("tokens: ids and secrets are random, well-formed, and only their hashes compare") {
    const auto a = new_secret("ztna-enroll-"), b = new_secret("ztna-enroll-");
    CHECK(a.reveal() != b.reveal());
    CHECK(a.reveal().size() == std::string("ztna-enroll-").size() + 44);
    CHECK(a.reveal().find_first_not_of("ztna-enrolABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") == std::string::npos);
    const auto id = random_id("dev_");
    CHECK(id.size() == 20);
    CHECK(id.find_first_not_of("dev_0123456789abcdef") == std::string::npos);
    CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    CHECK(equal_constant_time("abc", "abc"));
    CHECK(!equal_constant_time("abc", "abd"));
    CHECK(!equal_constant_time("abc", "abcd"));
}
