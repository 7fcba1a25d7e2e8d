// The controller's small PKI, made by `ztna-admin init`: a CA, and server
// certificates it issues (the controller's; later the gateways'). ECDSA P-256
// keys and SHA-256 signatures, OpenSSL 3.
#pragma once

#include <string>
#include <vector>

#include "secret_string.h"
#include "ztna/result.h"

namespace ztna::controller::pki {

struct KeyAndCert {
    SecretString key_pem;  // PKCS#8 PEM of the private key: 0600 on disk, never logged
    std::string cert_pem;
};

// A self-signed CA (basicConstraints CA:TRUE, pathlen 0; keyCertSign, cRLSign).
Result<KeyAndCert> make_ca(const std::string& common_name, int days);

// A TLS server certificate signed by ca, with one subjectAltName per entry of
// names: an IPv4/IPv6 literal becomes an IP entry, anything else a DNS name.
Result<KeyAndCert> issue_server_certificate(const KeyAndCert& ca, const std::string& common_name,
                                            const std::vector<std::string>& names, int days);

}  // namespace ztna::controller::pki
