// managed_device on Linux: a device certificate issued by the organization's
// CA (both PEM files named in the requirements), verified with OpenSSL at the
// collection time; or Microsoft Intune enrollment, read from the console
// users' ~/.config/intune/registration.toml (device_hint = enrolled).
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <memory>

#include "linux_common.h"
#include "probes.h"
#include "text.h"

namespace ztna::posture::probes {

namespace {

using namespace linux_detail;

const std::string kId = "managed_device";

struct X509Free {
    void operator()(X509* x) const { X509_free(x); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;

// Every certificate of a PEM text, in order. Empty when there is none.
std::vector<X509Ptr> read_pem(const std::string& pem) {
    std::vector<X509Ptr> out;
    BIO* bio = BIO_new_mem_buf(pem.data(), int(std::min<std::size_t>(pem.size(), 1u << 20)));
    if (!bio) return out;
    while (out.size() < 32) {
        X509* x = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
        if (!x) break;
        out.emplace_back(x);
    }
    BIO_free(bio);
    return out;
}

std::string name_of(X509_NAME* n) {
    if (!n) return {};
    char buf[512];
    X509_NAME_oneline(n, buf, sizeof buf);
    return text::excerpt(buf, 200);
}

std::optional<std::int64_t> unix_time(const ASN1_TIME* t) {
    struct tm tm {};
    if (!t || ASN1_TIME_to_tm(t, &tm) != 1) return std::nullopt;
    return std::int64_t(timegm(&tm));
}

struct CertResult {
    enum class State { Pass, Fail, Unknown } state = State::Unknown;
    std::string summary, remediation;
};

CertResult verify_certificate(const SystemView& view, const Requirements& req, json::Object& ev) {
    CertResult r;
    ev["organization_ca_path"] = req.organization_ca_path;
    ev["device_certificate_path"] = req.device_certificate_path;
    if (req.device_certificate_path.empty()) {
        r.summary = "The organization's CA is configured but no device certificate path is, so the device certificate cannot be checked.";
        r.remediation = "Administrators: set device_certificate_path (the PEM device certificate your CA issued) in the managed settings.";
        return r;
    }
    const Text ca = read_file(view, req.organization_ca_path, 256 * 1024);
    const Text dev = read_file(view, req.device_certificate_path, 256 * 1024);
    if (!ca.ok || !dev.ok) {
        if (!ca.ok) ev["organization_ca_error"] = ca.error;
        if (!dev.ok) ev["device_certificate_error"] = dev.error;
        r.summary = std::string("The ") + (!dev.ok ? "device certificate" : "organization's CA certificate") +
                    " could not be read, so it is not known whether this device is managed.";
        r.remediation = "Make sure " + (!dev.ok ? req.device_certificate_path : req.organization_ca_path) +
                        " exists and is readable by the agent (re-enroll the device certificate if it is missing).";
        return r;
    }
    auto cas = read_pem(ca.text);
    auto chain = read_pem(dev.text);
    if (cas.empty() || chain.empty()) {
        // No excerpt of these files: a misconfigured path may point at key material.
        if (cas.empty()) ev["organization_ca_content"] = std::to_string(ca.text.size()) + " bytes, no PEM certificate";
        if (chain.empty()) ev["device_certificate_content"] = std::to_string(dev.text.size()) + " bytes, no PEM certificate";
        r.summary = std::string("The ") + (chain.empty() ? "device certificate" : "organization's CA certificate") +
                    " is not a PEM certificate this agent can read.";
        r.remediation = "Check " + (chain.empty() ? req.device_certificate_path : req.organization_ca_path) +
                        ": it must hold a PEM certificate (-----BEGIN CERTIFICATE-----).";
        return r;
    }
    X509* leaf = chain.front().get();
    ev["certificate_subject"] = name_of(X509_get_subject_name(leaf));
    ev["certificate_issuer"] = name_of(X509_get_issuer_name(leaf));
    if (const auto nb = unix_time(X509_get0_notBefore(leaf))) ev["certificate_not_before"] = *nb;
    if (const auto na = unix_time(X509_get0_notAfter(leaf))) ev["certificate_not_after"] = *na;

    X509_STORE* store = X509_STORE_new();
    X509_STORE_CTX* ctx = X509_STORE_CTX_new();
    STACK_OF(X509)* untrusted = sk_X509_new_null();
    int ok = -1, err = X509_V_ERR_UNSPECIFIED;
    if (store && ctx && untrusted) {
        for (auto& c : cas) X509_STORE_add_cert(store, c.get());
        for (std::size_t i = 1; i < chain.size(); ++i) sk_X509_push(untrusted, chain[i].get());
        if (X509_STORE_CTX_init(ctx, store, leaf, untrusted) == 1) {
            X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx);
            X509_VERIFY_PARAM_set_time(param, time_t(view.now()));
            ok = X509_verify_cert(ctx);
            err = X509_STORE_CTX_get_error(ctx);
        }
    }
    if (untrusted) sk_X509_free(untrusted);  // the certificates stay owned by `chain`
    if (ctx) X509_STORE_CTX_free(ctx);
    if (store) X509_STORE_free(store);

    if (ok < 0) {
        r.summary = "The device certificate could not be verified (OpenSSL failed to set up the check).";
        r.remediation = "Report this to your IT helpdesk with a diagnostic bundle.";
        return r;
    }
    if (ok == 1) {
        r.state = CertResult::State::Pass;
        r.summary = "This device holds a valid certificate issued by the organization's CA.";
        ev["certificate_valid"] = true;
        return r;
    }
    ev["certificate_valid"] = false;
    ev["verify_error"] = X509_verify_cert_error_string(err);
    r.state = CertResult::State::Fail;
    if (err == X509_V_ERR_CERT_HAS_EXPIRED) {
        r.summary = "The device certificate has expired, so this device cannot prove that it is managed by the organization.";
        r.remediation = "Renew the device certificate through your organization's enrollment (or ask your IT helpdesk).";
    } else if (err == X509_V_ERR_CERT_NOT_YET_VALID) {
        r.summary = "The device certificate is not valid yet (check the device clock).";
        r.remediation = "Set the correct date and time on this device (`timedatectl set-ntp true`), then check again.";
    } else if (err == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY || err == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT ||
               err == X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT || err == X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN ||
               err == X509_V_ERR_CERT_SIGNATURE_FAILURE || err == X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE) {
        r.summary = "The device certificate was not issued by the organization's CA, so this device is not recognized as managed.";
        r.remediation = "Enroll this device with your organization to get a device certificate from its CA (ask your IT helpdesk).";
    } else {
        r.summary = std::string("The device certificate is not valid: ") + X509_verify_cert_error_string(err) + ".";
        r.remediation = "Renew or re-enroll the device certificate through your organization (ask your IT helpdesk).";
    }
    return r;
}

// ~/.config/intune/registration.toml: account_hint (signed in), aad_device_hint
// (Entra registered), device_hint (enrolled in Intune).
struct Intune {
    enum class State { Absent, Enrolled, NotEnrolled } state = State::Absent;
    std::string user, device_id;
};

Intune intune(const SystemView& view, const std::vector<std::string>& users, json::Object& ev) {
    Intune out;
    json::Array checked;
    for (const auto& user : users) {
        if (checked.size() >= 8) break;
        const std::string path = "/home/" + user + "/.config/intune/registration.toml";
        checked.push_back(path);
        const Text t = read_file(view, path, 64 * 1024);
        if (!t.ok || !readable(t.text)) continue;
        std::string device, account, aad;
        for (const auto& [k, v] : text::key_values(t.text, '=')) {
            std::string value(text::trim(v));
            if (value.size() >= 2 && (value.front() == '\'' || value.front() == '"') && value.back() == value.front())
                value = value.substr(1, value.size() - 2);
            if (k == "device_hint") device = value;
            else if (k == "account_hint") account = value;
            else if (k == "aad_device_hint") aad = value;
        }
        if (device.empty() && account.empty() && aad.empty()) continue;  // not Intune's file
        json::Object o;
        o["user"] = user;
        o["signed_in"] = !account.empty();
        o["entra_registered"] = !aad.empty();
        o["enrolled"] = !device.empty();
        if (!device.empty()) o["intune_device_id"] = text::excerpt(device, 64);
        ev["intune"] = json::Value(std::move(o));
        out.user = user;
        if (!device.empty()) {
            out.state = Intune::State::Enrolled;
            out.device_id = text::excerpt(device, 64);
            return out;
        }
        out.state = Intune::State::NotEnrolled;
    }
    ev["intune_files_checked"] = json::Value(std::move(checked));
    return out;
}

}  // namespace

CheckResult managed_device_linux(const SystemView& view, const Requirements& req) {
    json::Object ev;
    std::optional<CertResult> cert;
    if (!req.organization_ca_path.empty()) cert = verify_certificate(view, req, ev);
    if (cert && cert->state == CertResult::State::Pass) return CheckResult::pass(kId, cert->summary, std::move(ev));

    json::Object sessions_ev;
    const ConsoleLookup who = console_user(view, sessions_ev);
    const Intune in = intune(view, who.users, ev);
    if (in.state == Intune::State::Enrolled) {
        return CheckResult::pass(kId, "This device is enrolled in Microsoft Intune (by " + in.user + ").", std::move(ev));
    }
    if (cert && cert->state == CertResult::State::Fail) return CheckResult::fail(kId, cert->summary, cert->remediation, std::move(ev));
    if (cert) return CheckResult::unknown(kId, cert->summary, cert->remediation, std::move(ev));
    if (in.state == Intune::State::NotEnrolled) {
        return CheckResult::fail(kId, "Microsoft Intune is set up for " + in.user + " but this device is not enrolled.",
                                 "Open the Microsoft Intune app (intune-portal), sign in and finish enrolling this device.",
                                 std::move(ev));
    }
    if (who.outcome == ConsoleLookup::Outcome::Unreadable) ev["sessions_error"] = who.reason;
    return CheckResult::unknown(kId, "No device management was found: no organization CA is configured and this device is not enrolled in Microsoft Intune.",
                                "Administrators: set organization_ca_path and device_certificate_path (PEM files of the "
                                "organization's CA and of the certificate it issued to this device) in the agent's managed "
                                "settings, or enroll the device in Microsoft Intune.",
                                std::move(ev));
}

}  // namespace ztna::posture::probes
