// Split DNS with a real systemd-resolved (resolved_split_dns.h). Run by
// split_dns_resolved.sh, which starts it in a network namespace and a private
// mount namespace with resolved on a private system bus, /etc/resolv.conf
// pointing at resolved's stub (127.0.0.53), and resolved's global DNS server
// at 127.0.0.99: the "existing resolver" (another VPN's, the LAN's) that must
// keep every name that is not an app's.
//   ZTNA_SPLIT_IF   the TUN device to register (made here, like ztna0)
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <netdb.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "dns_stub.h"
#include "resolved_split_dns.h"
#include "ztna/run_tool.h"

using namespace ztna;
using namespace ztna::agent::dns;

namespace {

// The system resolver's answer for name (IPv4), or "error: ..." (getaddrinfo's words).
std::string system_lookup(const std::string& name) {
    addrinfo hints{};
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    const int rc = ::getaddrinfo(name.c_str(), nullptr, &hints, &res);
    if (rc != 0) return std::string("error: ") + gai_strerror(rc);
    char buf[INET_ADDRSTRLEN] = {};
    ::inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(res->ai_addr)->sin_addr, buf, sizeof buf);
    ::freeaddrinfo(res);
    return buf;
}

// A TUN device held open (carrier up), as the agent's ztna0 is.
struct Tun {
    int fd = -1;
    explicit Tun(const std::string& name) {
        fd = ::open("/dev/net/tun", O_RDWR | O_CLOEXEC);
        REQUIRE_MESSAGE(fd >= 0, "cannot open /dev/net/tun: ", std::strerror(errno));
        ifreq ifr{};
        ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
        std::strncpy(ifr.ifr_name, name.c_str(), IFNAMSIZ - 1);
        REQUIRE_MESSAGE(::ioctl(fd, TUNSETIFF, &ifr) == 0, "TUNSETIFF ", name, ": ", std::strerror(errno));
        REQUIRE(run_ok({"ip", "link", "set", name, "up"}).has_value());
    }
    ~Tun() { ::close(fd); }
};

}  // namespace

TEST_CASE("resolved sends exactly the apps' names to the stub, and every other name to the existing resolver") {
    const char* ifname = std::getenv("ZTNA_SPLIT_IF");
    REQUIRE_MESSAGE(ifname, "run me through split_dns_resolved.sh (ZTNA_SPLIT_IF is not set)");
    Tun tun(ifname);

    auto agent_stub = DnsStub::start("127.0.0.153", 53, [](const std::string& n) {
        Answer a;
        if (n == "hr.corp.test") a = {Answer::Kind::Granted, {"10.20.0.10"}};
        else if (n == "accounting.corp.test") a.kind = Answer::Kind::Blocked;
        return a;
    });
    REQUIRE_MESSAGE(agent_stub.has_value(), (agent_stub ? std::string() : agent_stub.error().message));
    // The resolver that was there before the agent: it knows the company's
    // other names, and would answer the apps' names too if asked.
    auto existing = DnsStub::start("127.0.0.99", 53, [](const std::string& n) {
        Answer a;
        if (n == "wiki.corp.test" || n == "hr.corp.test" || n == "accounting.corp.test") a = {Answer::Kind::Granted, {"10.99.0.1"}};
        return a;
    });
    REQUIRE_MESSAGE(existing.has_value(), (existing ? std::string() : existing.error().message));

    // Before the agent registers, the app's name goes to the existing resolver.
    CHECK(system_lookup("hr.corp.test") == "10.99.0.1");

    ResolvedSplitDns split(ifname, "127.0.0.153", 53);
    REQUIRE(split.resolved_present());
    auto r = split.route({"hr.corp.test", "accounting.corp.test", "accounting.corp.test", "bad name;"});
    REQUIRE_MESSAGE(r.has_value(), (r ? std::string() : r.error().message));
    CHECK(*r == 2);  // the duplicate and the invalid name are dropped
    const json::Value d = split.describe();
    CHECK(*d.string_at("mode") == "systemd-resolved");
    CHECK(json::dump(*d.find("routed_names")) == R"(["accounting.corp.test","hr.corp.test"])");

    const auto asked_before = (*agent_stub)->counters().queries.load();
    CHECK(system_lookup("hr.corp.test") == "10.20.0.10");  // the agent's answer, not the existing resolver's
    const std::string blocked = system_lookup("accounting.corp.test");
    CHECK(blocked.rfind("error: ", 0) == 0);                 // refused by the stub: no fallback to the other resolver
    CHECK((*agent_stub)->counters().refused.load() >= 1);
    CHECK(system_lookup("hr.corp.test") == "10.20.0.10");   // a refusal does not make resolved give up on the stub
    const auto asked_apps = (*agent_stub)->counters().queries.load();
    CHECK(asked_apps > asked_before);
    CHECK(system_lookup("wiki.corp.test") == "10.99.0.1");  // not an app: the existing resolver, as before
    CHECK((*agent_stub)->counters().queries.load() == asked_apps);

    // resolvectl's own view of the link: only routing domains, never the default route.
    auto st = run_tool({"resolvectl", "status", ifname});
    REQUIRE(st);
    INFO(st->out);
    CHECK(st->out.find("127.0.0.153") != std::string::npos);
    CHECK(st->out.find("~hr.corp.test") != std::string::npos);
    CHECK(st->out.find("-DefaultRoute") != std::string::npos);

    // Signed out (no names): the names stay with the stub, which refuses them.
    CHECK(split.route({}).has_value());
    CHECK(json::dump(*split.describe().find("routed_names")) == R"(["accounting.corp.test","hr.corp.test"])");
    // The app list changed: hr is gone, files came.
    REQUIRE(split.route({"files.corp.test", "accounting.corp.test"}).has_value());
    CHECK(system_lookup("hr.corp.test") == "10.99.0.1");
    (*agent_stub)->stop();
    (*existing)->stop();
}
