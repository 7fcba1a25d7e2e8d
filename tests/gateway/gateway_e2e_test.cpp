// The gateway end to end, as root, in network namespaces: the real
// controller (in this process, on a veth address), the real ztna-gateway
// binary in its own namespace, two HTTP apps behind it, and a laptop
// namespace whose WireGuard side is ztna-wg configured by the stock `wg` with
// the key of a grant obtained over the real protocol (enroll, sign in with an
// ID token from a test IdP, posture, grant).
// Checks: the granted app's port answers through the tunnel; another port of
// the same app, another app, and the gateway itself do not; disabling the user
// cuts access (the time it took is printed); the controller going away does
// not keep a grant past its expiry; the gateway reports the session.
#include <doctest/doctest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <thread>

#include "flow_fixture.h"

extern char** environ;

using namespace flow;

namespace {

// Runs a shell command line (the test's own fixed scripts; no input from elsewhere).
int sh(const std::string& cmd) { return std::system(cmd.c_str()); }

std::string sh_out(const std::string& cmd) {
    std::string out;
    FILE* p = popen(cmd.c_str(), "r");
    if (!p) return out;
    char buf[4096];
    std::size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    pclose(p);
    while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
    return out;
}

// Namespaces and links named after this process, removed even when a check fails.
struct Net {
    std::string id = std::to_string(getpid() % 100000);
    std::string gw = "zgw-gw" + id, app = "zgw-app" + id, lap = "zgw-lap" + id;
    std::string ctl_addr = "10.251.0.1", gw_ctl_addr = "10.251.0.2";
    std::string wg_lap = "zlap" + id, wg_gw = "zgw" + id;
    std::vector<pid_t> children;

    Net() {
        cleanup();
        const std::string s =
            "set -e\n"
            "ip netns add " + gw + "; ip netns add " + app + "; ip netns add " + lap + "\n"
            // controller link: root <-> gw
            "ip link add zc" + id + " type veth peer name zcp" + id + "\n"
            "ip link set zcp" + id + " netns " + gw + "\n"
            "ip addr add " + ctl_addr + "/30 dev zc" + id + "; ip link set zc" + id + " up\n"
            "ip -n " + gw + " addr add " + gw_ctl_addr + "/30 dev zcp" + id + "; ip -n " + gw + " link set zcp" + id + " up\n"
            // apps: gw <-> app
            "ip -n " + gw + " link add za" + id + " type veth peer name zap" + id + "\n"
            "ip -n " + gw + " link set zap" + id + " netns " + app + "\n"
            "ip -n " + gw + " addr add 10.20.0.1/24 dev za" + id + "; ip -n " + gw + " link set za" + id + " up\n"
            "ip -n " + app + " addr add 10.20.0.10/24 dev zap" + id + "; ip -n " + app + " addr add 10.20.0.12/24 dev zap" + id + "\n"
            "ip -n " + app + " link set zap" + id + " up; ip -n " + app + " link set lo up\n"
            // laptop: lap <-> gw (the WireGuard underlay)
            "ip -n " + gw + " link add zl" + id + " type veth peer name zlp" + id + "\n"
            "ip -n " + gw + " link set zlp" + id + " netns " + lap + "\n"
            "ip -n " + gw + " addr add 10.99.0.2/24 dev zl" + id + "; ip -n " + gw + " link set zl" + id + " up\n"
            "ip -n " + lap + " addr add 10.99.0.1/24 dev zlp" + id + "; ip -n " + lap + " link set zlp" + id + " up\n"
            "ip -n " + lap + " link set lo up; ip -n " + gw + " link set lo up\n";
        REQUIRE_MESSAGE(sh(s) == 0, "network set-up failed");
    }
    void cleanup() {
        for (const auto& ns : {gw, app, lap}) sh("ip netns pids " + ns + " 2>/dev/null | xargs -r kill -9 2>/dev/null; ip netns del " + ns + " 2>/dev/null");
        sh("ip link del zc" + id + " 2>/dev/null");
        sh("rm -f /var/run/wireguard/" + wg_lap + ".sock /var/run/wireguard/" + wg_gw + ".sock");
    }
    ~Net() {
        for (pid_t p : children) {
            kill(p, SIGTERM);
            for (int i = 0; i < 50 && waitpid(p, nullptr, WNOHANG) == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
            kill(p, SIGKILL);
            waitpid(p, nullptr, 0);
        }
        cleanup();
    }
    pid_t spawn(const std::vector<std::string>& argv, const std::string& log) {
        std::vector<char*> a;
        for (const auto& s : argv) a.push_back(const_cast<char*>(s.c_str()));
        a.push_back(nullptr);
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
        posix_spawn_file_actions_adddup2(&fa, 1, 2);
        pid_t pid = -1;
        REQUIRE(posix_spawnp(&pid, a[0], &fa, nullptr, a.data(), environ) == 0);
        posix_spawn_file_actions_destroy(&fa);
        children.push_back(pid);
        return pid;
    }
};

bool curl_ok(const Net& n, const std::string& url, std::string* body = nullptr) {
    const std::string out = sh_out("ip netns exec " + n.lap + " curl -s -m 2 " + url + " 2>/dev/null");
    if (body) *body = out;
    return !out.empty();
}

bool wait_until(const std::function<bool()>& f, std::chrono::milliseconds limit) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
        if (f()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return f();
}

struct GatewayKeys {
    std::string priv = sh_out("wg genkey");
    std::string pub = sh_out("echo " + priv + " | wg pubkey");
};

// The example policy with this gateway's key (and optionally a shorter grant lifetime).
std::string policy_for_gateway(const GatewayKeys& k, int grant_ttl_s = 120) {
    std::string policy = policy_for("hr");
    policy.replace(policy.find("xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg="), 44, k.pub);
    policy.replace(policy.find("\"grant_ttl_s\": 120"), 18, "\"grant_ttl_s\": " + std::to_string(grant_ttl_s));
    return policy;
}

// Writes gateway.json and starts the real ztna-gateway in the gateway namespace.
void start_gateway(Net& n, const TestDir& files, const World& w, const GatewayKeys& k, int controller_port) {
    REQUIRE(write_file(files / "gw.key", k.priv + "\n"));
    const std::string gw_config = files / "gateway.json";
    REQUIRE(write_file(gw_config, json::dump_pretty(json::Object{
                                      {"gateway_id", "gw1"},
                                      {"controller_url", "https://" + n.ctl_addr + ":" + std::to_string(controller_port)},
                                      {"controller_ca", w.ctl_dir + "/ca.pem"},
                                      {"token_file", w.ctl_dir + "/gateway-gw1.token"},
                                      {"interface", n.wg_gw},
                                      {"listen_port", 51820},
                                      {"private_key_file", files / "gw.key"},
                                      {"tunnel_address", "100.64.0.1/24"}})));
    n.spawn({"ip", "netns", "exec", n.gw, std::string(ZTNA_BIN_DIR) + "/ztna-gateway", "--config", gw_config}, files / "gateway.log");
}

}  // namespace

TEST_CASE("gateway e2e: a grant reaches its app's port and nothing else; disabling the user cuts it") {
    REQUIRE_MESSAGE(geteuid() == 0, "this test needs root (network namespaces)");
    Net n;
    TestDir files;
    const GatewayKeys gk;
    REQUIRE(gk.pub.size() == 44);
    const std::string policy = policy_for_gateway(gk);
    World w(n.ctl_addr, policy);

    // The apps: "hr" on 10.20.0.10 ports 80 and 8080, "accounting" on 10.20.0.12:80.
    REQUIRE(write_file(files / "index.html", "hello from hr\n"));
    for (const auto& [addr, port] : {std::pair{"10.20.0.10", "80"}, std::pair{"10.20.0.10", "8080"}, std::pair{"10.20.0.12", "80"}})
        n.spawn({"ip", "netns", "exec", n.app, "python3", "-m", "http.server", "--bind", addr, "--directory", files.path, port},
                files / "app.log");

    // The gateway.
    start_gateway(n, files, w, gk, w.server->port());
    REQUIRE_MESSAGE(wait_until([&] { return sh("ip -n " + n.gw + " link show " + n.wg_gw + " >/dev/null 2>&1") == 0; },
                               std::chrono::seconds(10)),
                    read_file(files / "gateway.log"));

    // The agent's side: enroll, sign in, posture, a grant for hr with a fresh key.
    Agent a(w);
    a.enroll();
    REQUIRE(a.sign_in({"hr"}).first == 201);
    REQUIRE(a.access(a.report(true)).first == 200);
    const std::string lap_key = sh_out("wg genkey");
    const std::string lap_pub = sh_out("echo " + lap_key + " | wg pubkey");
    auto [sg, grant] = w.post("/v1/grants", json::Object{{"app", "hr"}, {"public_key", lap_pub}}, a.session);
    REQUIRE_MESSAGE(sg == 201, json::dump(grant));
    const std::string tunnel_addr = *grant.string_at("tunnel_address");

    // The laptop's WireGuard, configured by wg with the grant; it routes both
    // apps into the tunnel, so only the gateway's filter stands between it and accounting.
    REQUIRE(write_file(files / "lap.key", lap_key + "\n"));
    n.spawn({"ip", "netns", "exec", n.lap, std::string(ZTNA_BIN_DIR) + "/ztna-wg", "-f", n.wg_lap}, files / "lap.log");
    REQUIRE(wait_until([&] { return sh("ip -n " + n.lap + " link show " + n.wg_lap + " >/dev/null 2>&1") == 0; }, std::chrono::seconds(10)));
    REQUIRE(sh("ip netns exec " + n.lap + " wg set " + n.wg_lap + " private-key " + files / "lap.key" + " peer " + gk.pub +
               " endpoint 10.99.0.2:51820 allowed-ips 10.20.0.10/32,10.20.0.12/32,100.64.0.1/32 persistent-keepalive 1") == 0);
    REQUIRE(sh("ip -n " + n.lap + " addr add " + tunnel_addr + " dev " + n.wg_lap + " && ip -n " + n.lap + " link set " + n.wg_lap +
               " up && ip -n " + n.lap + " route add 10.20.0.0/24 dev " + n.wg_lap + " && ip -n " + n.lap + " route add 100.64.0.1/32 dev " +
               n.wg_lap) == 0);

    std::string body;
    REQUIRE_MESSAGE(wait_until([&] { return curl_ok(n, "http://10.20.0.10/index.html", &body); }, std::chrono::seconds(10)),
                    read_file(files / "gateway.log"));
    CHECK(body == "hello from hr");
    CHECK(!curl_ok(n, "http://10.20.0.10:8080/index.html"));  // same app, port not granted
    CHECK(!curl_ok(n, "http://10.20.0.12/index.html"));       // another app
    CHECK(sh("ip netns exec " + n.lap + " ping -c 1 -W 1 100.64.0.1 >/dev/null 2>&1") != 0);  // the gateway host itself
    const std::string dropped = sh_out("ip netns exec " + n.gw + " nft list chain inet ztna_gateway grants | grep 'not granted'");
    CHECK(dropped.find("packets 0 ") == std::string::npos);
    CHECK(sh_out("ip netns exec " + n.gw + " wg show " + n.wg_gw + " peers") == lap_pub);

    // Revocation: the user is disabled; access ends.
    const auto t0 = std::chrono::steady_clock::now();
    REQUIRE(w.post("/v1/admin/users/alice@corp.test/disable", json::Object{}, w.admin_token).first == 200);
    const bool cut = wait_until(
        [&] { return sh("ip netns exec " + n.gw + " wg show " + n.wg_gw + " peers | grep -q .") != 0; }, std::chrono::seconds(10));
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    REQUIRE_MESSAGE(cut, read_file(files / "gateway.log"));
    CHECK(!curl_ok(n, "http://10.20.0.10/index.html"));
    MESSAGE("admin disable -> the gateway's peer gone: " << ms << " ms (polled every 100 ms)");

    // The gateway reported the session.
    REQUIRE(wait_until(
        [&] {
            auto [s, audit] = w.call("GET", "/v1/admin/audit?app=hr", nullptr, w.admin_token);
            return s == 200 && json::dump(audit).find("gateway_session_start") != std::string::npos;
        },
        std::chrono::seconds(5)));
}

TEST_CASE("gateway e2e: with the controller gone, a grant still ends at its expiry") {
    REQUIRE_MESSAGE(geteuid() == 0, "this test needs root (network namespaces)");
    Net n;
    TestDir files;
    const GatewayKeys gk;
    World w(n.ctl_addr, policy_for_gateway(gk, 30));
    start_gateway(n, files, w, gk, w.server->port());
    Agent a(w);
    a.enroll();
    REQUIRE(a.sign_in({"hr"}).first == 201);
    REQUIRE(a.access(a.report(true)).first == 200);
    const std::string lap_pub = sh_out("wg genkey | wg pubkey");
    auto [sg, grant] = w.post("/v1/grants", json::Object{{"app", "hr"}, {"public_key", lap_pub}}, a.session);
    REQUIRE(sg == 201);
    const std::int64_t expires_at = *grant.int_at("expires_at");
    REQUIRE_MESSAGE(wait_until([&] { return sh_out("ip netns exec " + n.gw + " wg show " + n.wg_gw + " peers") == lap_pub; },
                               std::chrono::seconds(10)),
                    read_file(files / "gateway.log"));
    // The controller stops: no renewal, no revocation event can arrive.
    w.server->stop();
    REQUIRE(wait_until([&] { return sh("ip netns exec " + n.gw + " wg show " + n.wg_gw + " peers | grep -q .") != 0; },
                       std::chrono::seconds(45)));
    CHECK(system_clock_seconds() >= expires_at);
    CHECK(system_clock_seconds() <= expires_at + 2);
    CHECK(read_file(files / "gateway.log").find("grants expired") != std::string::npos);
}

TEST_CASE("gateway e2e: a controller restart keeps the grant on the gateway, which reconnects and follows revocations again") {
    REQUIRE_MESSAGE(geteuid() == 0, "this test needs root (network namespaces)");
    Net n;
    TestDir files;
    const GatewayKeys gk;
    World w(n.ctl_addr, policy_for_gateway(gk));
    const int port = w.server->port();
    start_gateway(n, files, w, gk, port);
    Agent a(w);
    a.enroll();
    REQUIRE(a.sign_in({"hr"}).first == 201);
    REQUIRE(a.access(a.report(true)).first == 200);
    const std::string lap_pub = sh_out("wg genkey | wg pubkey");
    REQUIRE(w.post("/v1/grants", json::Object{{"app", "hr"}, {"public_key", lap_pub}}, a.session).first == 201);
    const auto has_peer = [&] { return sh_out("ip netns exec " + n.gw + " wg show " + n.wg_gw + " peers") == lap_pub; };
    REQUIRE_MESSAGE(wait_until(has_peer, std::chrono::seconds(10)), read_file(files / "gateway.log"));

    w.stop();  // the controller process goes away, its database stays
    std::this_thread::sleep_for(std::chrono::seconds(2));
    CHECK(has_peer());  // valid grants live on while the controller is away
    w.config.listen_port = port;
    w.start();
    REQUIRE(wait_until([&] { return read_file(files / "gateway.log").find("resynchronized with the controller") !=
                                    read_file(files / "gateway.log").rfind("resynchronized with the controller"); },
                       std::chrono::seconds(20)));
    CHECK(has_peer());  // the resync kept it: the controller still holds it live
    REQUIRE(w.post("/v1/admin/users/alice@corp.test/disable", json::Object{}, w.admin_token).first == 200);
    CHECK(wait_until([&] { return !has_peer(); }, std::chrono::seconds(10)));
}
