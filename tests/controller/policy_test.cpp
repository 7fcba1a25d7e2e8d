// The policy file: a valid one loads; each invalid one is refused with the
// exact "FILE:LINE: FIELD: what" expected. Decisions as a table of cases.
#include <doctest/doctest.h>

#include <fstream>

#include "decide.h"
#include "policy.h"

using namespace ztna::controller;

namespace {

const char* const kPolicy = R"({
  "version": 1,
  "settings": {"grant_ttl_s": 300},
  "gateways": [
    {"id": "gw1", "endpoint": "10.99.0.2:51820",
     "public_key": "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=", "tunnel_network": "100.64.0.0/16"}
  ],
  "apps": [
    {"name": "hr", "dns": ["HR.corp.test"], "addresses": ["10.20.0.10/32"], "ports": ["tcp/80", "tcp/443"], "gateway": "gw1"},
    {"name": "files", "dns": ["files.corp.test"], "addresses": ["10.20.0.11"], "ports": ["tcp/8000-8100"], "gateway": "gw1"},
    {"name": "accounting", "dns": ["accounting.corp.test"], "addresses": ["10.20.0.12/32"], "ports": ["tcp/80"], "gateway": "gw1"}
  ],
  "rules": [
    {"name": "hr-staff", "groups": ["hr"], "apps": ["hr"], "posture": ["disk_encryption", "firewall"]},
    {"name": "everyone-files", "groups": ["staff", "hr"], "apps": ["files"]},
    {"name": "finance", "groups": ["finance"], "apps": ["accounting"], "require_mfa": true,
     "schedule": {"days": ["mon", "tue", "wed", "thu", "fri"], "from": "07:00", "to": "19:00"}}
  ]
}
)";

std::string with(std::string text, const std::string& from, const std::string& to) {
    const auto at = text.find(from);
    REQUIRE_MESSAGE(at != std::string::npos, from);
    text.replace(at, from.size(), to);
    return text;
}

std::string error_of(const std::string& text) {
    auto p = parse_policy(text, "policy.json");
    return p ? std::string("(valid)") : p.error().message;
}

// 2026-12-07 was a Monday; 10:00 UTC.
constexpr std::int64_t kMonday10 = 1796637600;

PostureState posture(const char* disk, const char* firewall) {
    PostureState s;
    s.present = true;
    s.checks["disk_encryption"] = {disk, "The system disk is not encrypted.", "Encrypt the disk."};
    s.checks["firewall"] = {firewall, "", ""};
    return s;
}

const Decision& find(const std::vector<Decision>& ds, const std::string& app) {
    for (const auto& d : ds)
        if (d.app == app) return d;
    FAIL("no decision for " << app);
    return ds.front();
}

}  // namespace

TEST_CASE("policy: the example loads, normalized") {
    auto p = parse_policy(kPolicy, "policy.json");
    REQUIRE_MESSAGE(p, p.error().message);
    REQUIRE(p->apps.size() == 3);
    CHECK(p->apps[0].dns_names[0] == "hr.corp.test");
    CHECK(p->apps[1].addresses[0].text == "10.20.0.11/32");
    CHECK(p->apps[1].ports[0].first == 8000);
    CHECK(p->apps[1].ports[0].last == 8100);
    CHECK(p->rules[2].schedule->days.size() == 5);
    CHECK(p->settings.grant_ttl_s == 300);
}

TEST_CASE("policy: invalid files are refused with the file, line and field") {
    const std::string P = kPolicy;
    struct Case {
        std::string text, error;
    };
    const Case cases[] = {
        {with(P, "\"tcp/443\"", "\"tcp/99999\""),
         "policy.json:9: apps[0].ports[1]: \"tcp/99999\": a port must be a number from 1 to 65535"},
        {with(P, "\"tcp/80\", \"tcp/443\"", "\"sctp/80\""),
         "policy.json:9: apps[0].ports[0]: \"sctp/80\": the protocol must be tcp, udp or icmp"},
        {with(P, "\"10.20.0.11\"", "\"10.20.0.11/24\""),
         "policy.json:10: apps[1].addresses[0]: \"10.20.0.11/24\": host bits set after the prefix length (did you mean the network address?)"},
        {with(P, "\"gateway\": \"gw1\"},\n    {\"name\": \"files\"", "\"gateway\": \"gw9\"},\n    {\"name\": \"files\""),
         "policy.json:9: apps[0].gateway: no gateway has the id \"gw9\""},
        {with(P, "\"10.20.0.11\"", "\"fd00:20::11\""),
         "policy.json:10: apps[1].addresses[0]: \"fd00:20::11/128\" is an IPv6 address, but the gateway \"gw1\" hands out IPv4 tunnel "
         "addresses (tunnel_network 100.64.0.0/16): use addresses of that family only (an app on both IPv4 and IPv6 is not supported yet)"},
        {with(P, "\"apps\": [\"accounting\"]", "\"apps\": [\"acounting\"]"), "policy.json:16: rules[2].apps[0]: no app is named \"acounting\""},
        {with(P, "\"require_mfa\": true", "\"require_mfa\": \"yes\""), "policy.json:16: rules[2].require_mfa: must be true or false"},
        {with(P, "\"require_mfa\": true", "\"requires_mfa\": true"),
         "policy.json:16: rules[2].requires_mfa: unknown field (known: name, groups, apps, posture, require_mfa, schedule)"},
        {with(P, "\"posture\": [\"disk_encryption\", \"firewall\"]", "\"posture\": [\"disk_encryption\", \"antivirs\"]"),
         "policy.json:14: rules[0].posture[1]: \"antivirs\" is not a posture check (disk_encryption, antivirus, managed_device, "
         "firewall, os_version, screen_lock)"},
        {with(P, "\"from\": \"07:00\"", "\"from\": \"7am\""), "policy.json:17: rules[2].schedule.from: a time must be HH:MM (UTC)"},
        {with(P, "\"to\": \"19:00\"", "\"to\": \"06:00\""),
         "policy.json:17: rules[2].schedule.to: must be later than from (a schedule does not cross midnight; write two rules)"},
        {with(P, "\"files.corp.test\"", "\"hr.corp.test\""),
         "policy.json:10: apps[1].dns[0]: \"hr.corp.test\" already belongs to the app \"hr\""},
        {with(P, "{\"name\": \"files\"", "{\"name\": \"hr\""), "policy.json:10: apps[1].name: the app \"hr\" is defined twice"},
        {with(P, "\"version\": 1", "\"version\": 2"), "policy.json:2: version: must be 1 (the policy format version this controller reads)"},
        {with(P, "\"grant_ttl_s\": 300", "\"grant_ttl_s\": 5"), "policy.json:3: settings.grant_ttl_s: must be a whole number of seconds from 30 to 3600"},
        {with(P, "\"tunnel_network\": \"100.64.0.0/16\"", "\"tunnel_network\": \"100.64.0.0/30\""),
         "policy.json:6: gateways[0].tunnel_network: is too small to hand out grant addresses from (at most /28 or /120)"},
        {with(P, "\"groups\": [\"hr\"], \"apps\"", "\"groups\": [], \"apps\""), "policy.json:14: rules[0].groups: must not be empty"},
        {with(P, "\"endpoint\": \"10.99.0.2:51820\",\n", ""), "policy.json:5: gateways[0]: \"endpoint\" is missing"},
        {"{\n  \"version\": 1,\n  \"apps\": [\n    {\"name\": \"x\",}\n  ]\n}", "policy.json: invalid JSON at line 4 (byte 47): expected a string as object key"},
        {"[]", "policy.json:1: (document): the policy must be a JSON object with gateways, apps and rules"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.error);
        CHECK(error_of(c.text) == c.error);
    }
    CHECK(!load_policy_file("/nonexistent/policy.json"));
}

TEST_CASE("policy decisions: a table of who, posture, time and MFA") {
    auto p = parse_policy(kPolicy, "policy.json");
    REQUIRE(p);
    struct Case {
        const char* name;
        std::vector<std::string> groups, amr;
        const char *disk, *firewall;
        std::int64_t now;
        bool disabled, revoked;
        const char* app;
        bool allowed;
        const char* code;  // the first reason, when denied
    };
    const Case cases[] = {
        {"hr member, good posture", {"hr"}, {"pwd"}, "pass", "pass", kMonday10, false, false, "hr", true, ""},
        {"hr member, disk not encrypted", {"hr"}, {"pwd"}, "fail", "pass", kMonday10, false, false, "hr", false, "posture_failed"},
        {"hr member, firewall unknown", {"hr"}, {"pwd"}, "pass", "unknown", kMonday10, false, false, "hr", false, "posture_failed"},
        {"staff, not in hr", {"staff"}, {"pwd"}, "pass", "pass", kMonday10, false, false, "hr", false, "group_missing"},
        {"staff reaches files with any posture", {"staff"}, {"pwd"}, "fail", "fail", kMonday10, false, false, "files", true, ""},
        {"finance with MFA in hours", {"finance"}, {"pwd", "otp"}, "pass", "pass", kMonday10, false, false, "accounting", true, ""},
        {"finance without MFA", {"finance"}, {"pwd"}, "pass", "pass", kMonday10, false, false, "accounting", false, "mfa_required"},
        {"finance on Sunday", {"finance"}, {"mfa"}, "pass", "pass", kMonday10 - 86400, false, false, "accounting", false, "outside_hours"},
        {"finance at 19:00", {"finance"}, {"mfa"}, "pass", "pass", kMonday10 + 9 * 3600, false, false, "accounting", false, "outside_hours"},
        {"disabled user", {"hr"}, {"pwd"}, "pass", "pass", kMonday10, true, false, "hr", false, "user_disabled"},
        {"revoked device", {"hr"}, {"pwd"}, "pass", "pass", kMonday10, false, true, "files", false, "device_revoked"},
        {"no groups at all", {}, {"pwd"}, "pass", "pass", kMonday10, false, false, "files", false, "group_missing"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.name);
        Subject who;
        who.user = "idp|u";
        who.groups = c.groups;
        who.amr = c.amr;
        who.user_disabled = c.disabled;
        who.device_revoked = c.revoked;
        const auto ds = decide(*p, who, posture(c.disk, c.firewall), c.now);
        CHECK(ds.size() == 3);
        const auto& d = find(ds, c.app);
        CHECK(d.allowed == c.allowed);
        if (!c.allowed) {
            REQUIRE(!d.reasons.empty());
            CHECK(d.reasons[0].code == std::string(c.code));
            CHECK(!d.reasons[0].message.empty());
            CHECK(!d.reasons[0].remediation.empty());
        } else {
            CHECK(d.reasons.empty());
            CHECK(!d.rule.empty());
        }
    }
    // The posture reason carries the check's own remediation.
    Subject who;
    who.groups = {"hr"};
    const auto ds = decide(*p, who, posture("fail", "pass"), kMonday10);
    CHECK(find(ds, "hr").reasons[0].remediation == "Encrypt the disk.");
    // No report at all: posture_missing.
    CHECK(find(decide(*p, who, PostureState{}, kMonday10), "hr").reasons[0].code == "posture_missing");
    Subject out;
    out.session_valid = false;
    CHECK(find(decide(*p, out, posture("pass", "pass"), kMonday10), "files").reasons[0].code == "signed_out");
}
