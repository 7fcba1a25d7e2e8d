// revocation_bench: how long from an administrator's action to the moment
// the agent and the gateway hold the revocation event. A real controller on
// loopback (HTTPS, SQLite in a temporary directory); the admin request, the
// agent's and the gateway's event streams are real HTTPS clients. Each round:
// a live grant, then `POST /v1/admin/users/{user}/disable`; the clock runs from
// sending that request until each stream has parsed its event.
// Usage: revocation_bench [--rounds N] [--markdown]
#include <httplib.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "admin_init.h"
#include "control_plane.h"
#include "server.h"
#include "sqlite_store.h"
#include "tokens.h"
#include "ztna/sse.h"

using namespace ztna;
using namespace ztna::controller;
using SteadyClock = std::chrono::steady_clock;

namespace {

std::string slurp(const std::string& p) {
    std::ifstream i(p);
    std::stringstream ss;
    ss << i.rdbuf();
    std::string s = ss.str();
    while (!s.empty() && s.back() == '\n') s.pop_back();
    return s;
}

// Records when each event type was first seen after arm().
class Stream {
public:
    Stream(int port, const std::string& ca, const std::string& path, const std::string& bearer) {
        thread_ = std::thread([=, this] {
            httplib::SSLClient cli("127.0.0.1", port);
            cli.set_ca_cert_path(ca.c_str());
            cli.enable_server_certificate_verification(true);
            cli.set_read_timeout(60, 0);
            ztna::SseParser sse;
            cli.Get(path, {{"Authorization", "Bearer " + bearer}}, [&](const char* d, std::size_t n) {
                sse.feed(std::string_view(d, n), [&](const ztna::SseEvent& e) {
                    std::lock_guard lock(mu_);
                    if (e.type == want_ && !seen_) {
                        seen_at_ = SteadyClock::now();
                        seen_ = true;
                        cv_.notify_all();
                    }
                    if (e.type == "hello") {
                        hello_ = true;
                        cv_.notify_all();
                    }
                });
                return !stop_;
            });
        });
        std::unique_lock lock(mu_);
        cv_.wait_for(lock, std::chrono::seconds(10), [this] { return hello_; });
    }
    ~Stream() {
        stop_ = true;
        thread_.join();
    }
    void arm(const std::string& type) {
        std::lock_guard lock(mu_);
        want_ = type;
        seen_ = false;
    }
    std::optional<SteadyClock::time_point> wait(std::chrono::seconds timeout) {
        std::unique_lock lock(mu_);
        if (!cv_.wait_for(lock, timeout, [this] { return seen_; })) return std::nullopt;
        return seen_at_;
    }

private:
    std::thread thread_;
    std::mutex mu_;
    std::condition_variable cv_;
    std::string want_;
    bool seen_ = false, hello_ = false;
    SteadyClock::time_point seen_at_;
    std::atomic<bool> stop_{false};
};

double ms(SteadyClock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

double pct(std::vector<double> v, double p) {
    std::sort(v.begin(), v.end());
    return v[std::min(v.size() - 1, std::size_t(p * double(v.size() - 1) + 0.5))];
}

}  // namespace

int main(int argc, char** argv) {
    int rounds = 20;
    bool markdown = false;
    for (int i = 1; i < argc; ++i) {
        if (!std::strcmp(argv[i], "--rounds") && i + 1 < argc) rounds = std::max(1, std::atoi(argv[++i]));
        else if (!std::strcmp(argv[i], "--markdown")) markdown = true;
        else {
            std::fprintf(stderr, "usage: revocation_bench [--rounds N] [--markdown]\n");
            return 2;
        }
    }
    signal(SIGPIPE, SIG_IGN);
    char tmpl[] = "/tmp/ztna-revocation-bench-XXXXXX";
    if (!mkdtemp(tmpl)) return 1;
    const std::string dir = tmpl;
    struct Cleanup {
        std::string d;
        ~Cleanup() { std::filesystem::remove_all(d); }
    } cleanup{dir};

    InitOptions o;
    o.dir = dir + "/ctl";
    o.names = {"127.0.0.1"};
    o.gateways = {"gw1"};
    auto init = init_controller_dir(o);
    if (!init) {
        std::fprintf(stderr, "revocation_bench: %s\n", init.error().message.c_str());
        return 1;
    }
    std::ofstream(init->policy_path) << R"({"version": 1,
      "gateways": [{"id": "gw1", "endpoint": "10.99.0.2:51820", "public_key": "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=", "tunnel_network": "100.64.0.0/16"}],
      "apps": [{"name": "hr", "addresses": ["10.20.0.10/32"], "ports": ["tcp/80"], "gateway": "gw1"}],
      "rules": [{"name": "r", "groups": ["hr"], "apps": ["hr"]}]})";
    auto config = load_controller_config(init->config_path);
    auto store = SqliteStore::open(config->database);
    auto policy = load_policy_file(config->policy);
    if (!config || !store || !policy) {
        std::fprintf(stderr, "revocation_bench: set-up failed\n");
        return 1;
    }
    config->listen_address = "127.0.0.1";
    config->listen_port = 0;
    ControlPlane control(*config, **store, std::move(*policy));
    ControllerServer server(*config, **store, control);
    if (auto r = server.start(); !r) {
        std::fprintf(stderr, "revocation_bench: %s\n", r.error().message.c_str());
        return 1;
    }
    Store& st = **store;
    const std::int64_t now = system_clock_seconds();
    // A user, an enrolled device and a session, written straight to the store:
    // what is measured is revocation, not sign-in.
    EnrollmentToken tok;
    tok.id = "tok_bench";
    tok.created_at = now;
    tok.expires_at = now + 600;
    (void)st.add_enrollment_token(tok, sha256_hex("bench-token"));
    Device dev;
    dev.id = "dev_bench";
    dev.public_key = "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";
    dev.hostname = "bench";
    dev.platform = "linux";
    (void)st.enroll_device(sha256_hex("bench-token"), dev, now);
    (void)st.upsert_user("bench|alice", "alice@corp.test", now);
    Session ses;
    ses.id = "ses_bench";
    ses.user = "bench|alice";
    ses.device_id = dev.id;
    ses.groups = "[\"hr\"]";
    ses.amr = "[\"pwd\"]";
    ses.created_at = now;
    ses.expires_at = now + 3600;
    (void)st.add_session(ses, sha256_hex("ztna-session-bench"));

    const std::string ca = init->ca_path;
    const std::string admin = slurp(init->admin_token_path);
    Stream agent(server.port(), ca, "/v1/events", "ztna-session-bench");
    Stream gateway(server.port(), ca, "/v1/gateway/events", slurp(init->gateway_token_paths[0]));
    httplib::SSLClient cli("127.0.0.1", server.port());
    cli.set_ca_cert_path(ca.c_str());
    cli.enable_server_certificate_verification(true);
    const httplib::Headers auth{{"Authorization", "Bearer " + admin}};

    std::vector<double> to_agent, to_gateway, admin_rtt;
    for (int r = 0; r < rounds; ++r) {
        Grant g;
        g.id = random_id("gr_");
        g.session_id = ses.id;
        g.user = ses.user;
        g.device_id = dev.id;
        g.app = "hr";
        g.gateway = "gw1";
        g.agent_public_key = "key-" + std::to_string(r);
        g.tunnel_address = "100.64.0." + std::to_string(2 + r % 200) + "/32";
        g.created_at = system_clock_seconds();
        g.expires_at = g.created_at + 300;
        if (!st.add_grant(g)) {
            std::fprintf(stderr, "revocation_bench: cannot add a grant\n");
            return 1;
        }
        agent.arm("grant_revoked");
        gateway.arm("grant_removed");
        const auto t0 = SteadyClock::now();
        auto res = cli.Post("/v1/admin/users/alice%40corp.test/disable", auth, "{}", "application/json");
        const auto t1 = SteadyClock::now();
        auto a = agent.wait(std::chrono::seconds(10));
        auto gw = gateway.wait(std::chrono::seconds(10));
        if (!res || res->status != 200 || !a || !gw) {
            std::fprintf(stderr, "revocation_bench: round %d: no revocation event within 10 s\n", r);
            return 1;
        }
        to_agent.push_back(ms(*a - t0));
        to_gateway.push_back(ms(*gw - t0));
        admin_rtt.push_back(ms(t1 - t0));
        cli.Post("/v1/admin/users/alice%40corp.test/enable", auth, "{}", "application/json");
    }
    server.stop();
    if (markdown) {
        std::printf("| measure (%d rounds, loopback HTTPS) | median ms | p90 ms | max ms |\n|---|---:|---:|---:|\n", rounds);
        std::printf("| admin disables a user -> the agent's stream has `grant_revoked` | %.2f | %.2f | %.2f |\n", pct(to_agent, 0.5),
                    pct(to_agent, 0.9), pct(to_agent, 1.0));
        std::printf("| admin disables a user -> the gateway's stream has `grant_removed` | %.2f | %.2f | %.2f |\n",
                    pct(to_gateway, 0.5), pct(to_gateway, 0.9), pct(to_gateway, 1.0));
        std::printf("| the admin request's round trip (TLS handshake included) | %.2f | %.2f | %.2f |\n", pct(admin_rtt, 0.5),
                    pct(admin_rtt, 0.9), pct(admin_rtt, 1.0));
    } else {
        std::printf("revocation to agent: median %.2f ms, p90 %.2f ms, max %.2f ms (%d rounds)\n", pct(to_agent, 0.5),
                    pct(to_agent, 0.9), pct(to_agent, 1.0), rounds);
        std::printf("revocation to gateway: median %.2f ms, p90 %.2f ms, max %.2f ms\n", pct(to_gateway, 0.5),
                    pct(to_gateway, 0.9), pct(to_gateway, 1.0));
    }
    return 0;
}
