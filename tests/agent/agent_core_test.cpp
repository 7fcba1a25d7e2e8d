// The agent's pieces that need no network: settings (managed over local, errors
// naming file, line and field), the nftables text, the OIDC helpers (PKCE known
// answer from RFC 7636), the device key file, and log redaction.
#include <doctest/doctest.h>

#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "agent_log.h"
#include "agent_nft_rules.h"
#include "device_key.h"
#include "oidc_client.h"
#include "settings.h"

namespace fs = std::filesystem;
using namespace ztna;
using namespace ztna::agent;

namespace {

struct TempDir {
    fs::path path;
    TempDir() {
        char t[] = "/tmp/agent-core-test.XXXXXX";
        REQUIRE(::mkdtemp(t));
        path = t;
    }
    ~TempDir() { fs::remove_all(path); }
    std::string write(const std::string& name, const std::string& text) const {
        std::ofstream(path / name) << text;
        return (path / name).string();
    }
};

const char* kManaged = R"({
  "controller_url": "https://ctl.corp.test:8443",
  "controller_ca": "/etc/ztna/ca.pem",
  "enrollment_token": "ztna-enroll-abc",
  "oidc": {"issuer": "https://login.corp.test", "client_id": "laptops"},
  "posture_interval_s": 30,
  "locks": ["logout"]
})";

}  // namespace

TEST_CASE("settings: managed settings win over local ones, field by field") {
    TempDir d;
    const auto local = d.write("local.json", R"({"posture_interval_s": 120, "dns_listen": "127.0.0.2", "interface": "ztlocal"})");
    const auto managed = d.write("managed.json", kManaged);
    auto s = load_settings(managed, local);
    REQUIRE_MESSAGE(s, s.error().message);
    CHECK(s->posture_interval_s == 30);       // managed wins
    CHECK(s->dns_listen == "127.0.0.2");     // only local sets it
    CHECK(s->interface == "ztlocal");
    CHECK(s->oidc.client_id == "laptops");
    CHECK(s->oidc.scopes.find("openid") != std::string::npos);  // default
    CHECK(s->locks.count("logout") == 1);
    // No local file at all is fine.
    CHECK(load_settings(managed, (d.path / "none.json").string()));
}

TEST_CASE("settings: every error names the file, the line and the field") {
    TempDir d;
    const auto check = [&](const std::string& text, const std::string& expected) {
        const auto p = d.write("managed.json", text);
        auto s = load_settings(p, "");
        REQUIRE(!s);
        CHECK_MESSAGE(s.error().message.find(expected) != std::string::npos, s.error().message);
        CHECK(s.error().message.find("ztna-enroll-") == std::string::npos);  // the token never appears
    };
    check(R"({"controller_url": "https://c:1", "controller_ca": "/ca", "oidc": {"issuer": "https://i"},
 "posture_interval_s": 1})", "managed.json:2: posture_interval_s: must be a whole number from 2 to 3600");
    check(R"({"controller_url": "http://c:1", "controller_ca": "/ca", "oidc": {"issuer": "https://i"}})", "controller_url:");
    check(R"({"controller_ca": "/ca", "oidc": {"issuer": "https://i"}})", "controller_url: missing");
    check(R"({"controller_url": "https://c:1", "oidc": {"issuer": "https://i"}})", "controller_ca: missing");
    check(R"({"controller_url": "https://c:1", "controller_ca": "/ca"})", "oidc.issuer: missing");
    check(R"({"controller_url": "https://c:1", "controller_ca": "/ca", "oidc": {"issuer": "https://i"},
  "contoller_url": "x"})", "managed.json:2: contoller_url: unknown setting");
    check(R"({"controller_url": "https://c:1", "controller_ca": "/ca", "oidc": {"issuer": "https://i", "clientid": "x"}})",
          "oidc.clientid: unknown setting");
    check(R"({"controller_url": "https://c:1", "controller_ca": "/ca", "oidc": {"issuer": "https://i"}, "locks": ["wifi"]})",
          "unknown lock \"wifi\"");
    check(R"({"controller_url": 5})", "controller_url: must be a non-empty string");
    check(R"({"controller_url": "https://c:1",)", "managed.json: not valid JSON");
    check(R"([1, 2])", "must hold one JSON object");
    check(R"({"controller_url": "https://c:1", "controller_ca": "/ca", "oidc": {"issuer": "https://i"},
  "posture_requirements": {"max_signature_age_dayz": 3}})", "posture_requirements");
    check(R"({"enrollment_token": "ztna-enroll-secret", "oidc": 3})", "oidc: must be an object");
    auto missing = load_settings((d.path / "absent.json").string(), "");
    REQUIRE(!missing);
    CHECK(missing.error().message.find("cannot read the managed settings") != std::string::npos);
}

TEST_CASE("nftables: only a grant's app, protocols and ports leave the interface; the rest is counted and dropped") {
    Grant g;
    g.id = "gr_1";
    g.app = "hr";
    g.tunnel_address = "100.64.0.2/32";
    g.addresses = {"10.20.0.10/32", "fd00::10/128"};
    g.ports = {{"tcp", 80, 80}, {"udp", 5000, 5010}, {"icmp", 0, 0}};
    const std::string s = render_agent_nft("ztna_agent", "ztna0", {g});
    CHECK(s.find("table inet ztna_agent {}\ndelete table inet ztna_agent\n") == 0);  // atomic replace
    CHECK(s.find("type filter hook output priority filter; policy accept;") != std::string::npos);
    CHECK(s.find("hook input") == std::string::npos);  // never a host firewall
    CHECK(s.find("oifname != \"ztna0\" accept") != std::string::npos);
    CHECK(s.find("ip saddr 100.64.0.2 ip daddr 10.20.0.10/32 tcp dport 80 counter accept comment \"gr_1\"") != std::string::npos);
    CHECK(s.find("udp dport 5000-5010") != std::string::npos);
    CHECK(s.find("meta l4proto icmp") != std::string::npos);
    CHECK(s.find("fd00::10") == std::string::npos);  // a v4 tunnel address never reaches a v6 app
    CHECK(s.rfind("counter drop comment \"not granted\"") != std::string::npos);
    g.app = "hr\" ; flush ruleset ; \"";  // whatever the controller calls its app, it never reaches the script
    CHECK(render_agent_nft("ztna_agent", "ztna0", {g}).find("flush") == std::string::npos);
    const std::string none = render_agent_nft("ztna_agent", "ztna0", {});
    CHECK(none.find("accept comment") == std::string::npos);
    CHECK(none.find("counter drop") != std::string::npos);
}

TEST_CASE("OIDC helpers: PKCE S256 known answer (RFC 7636 appendix B), URLs, form encoding") {
    REQUIRE(sodium_init() >= 0);
    CHECK(pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk") == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
    const std::uint8_t b[] = {0xfb, 0xff};
    CHECK(base64url(b, 2) == "-_8");
    CHECK(random_urlsafe(32).size() == 43);
    CHECK(random_urlsafe(32) != random_urlsafe(32));
    CHECK(form_encode("a b&c=d/é") == "a%20b%26c%3Dd%2F%C3%A9");
    auto u = split_https_url("https://login.corp.test:9443/realms/x/auth?a=1");
    REQUIRE(u);
    CHECK(u->host == "login.corp.test");
    CHECK(u->port == 9443);
    CHECK(u->target == "/realms/x/auth?a=1");
    auto bare = split_https_url("https://idp.test");
    REQUIRE(bare);
    CHECK(bare->target == "/");
    CHECK(bare->port == 443);
    CHECK(!split_https_url("http://idp.test/x"));
}

TEST_CASE("device key: made once with mode 0600, the same key at every start, a damaged file is an error") {
    REQUIRE(sodium_init() >= 0);
    TempDir d;
    const std::string path = (d.path / "device.key").string();
    bool created = false;
    auto k1 = load_or_create_device_key(path, &created);
    REQUIRE_MESSAGE(k1, k1.error().message);
    CHECK(created);
    struct stat st{};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    auto k2 = load_or_create_device_key(path, &created);
    REQUIRE(k2);
    CHECK(!created);
    CHECK(k1->public_key() == k2->public_key());
    ::chmod(path.c_str(), 0644);  // someone widened it: narrowed again on load
    REQUIRE(load_or_create_device_key(path));
    REQUIRE(::stat(path.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    std::ofstream(path) << "not a key\n";
    auto bad = load_or_create_device_key(path);
    REQUIRE(!bad);
    CHECK(bad.error().message.find("damaged") != std::string::npos);
    CHECK(fs::file_size(path) == 10);  // never silently replaced
}

TEST_CASE("log lines never carry bearer secrets") {
    CHECK(redact_secrets("token ztna-enroll-AbC_12-x9 refused") == "token ztna-enroll-*** refused");
    CHECK(redact_secrets("a ztna-session-xyz and ztna-session-abc") == "a ztna-session-*** and ztna-session-***");
    CHECK(redact_secrets("plain text") == "plain text");
}
