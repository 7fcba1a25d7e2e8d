// ztna-gateway: the enforcement point. One WireGuard interface (tunnel/io),
// one peer per grant, an nftables table that lets each grant's tunnel address
// reach only its app's prefixes and ports, and the grant set kept in step with
// the controller: the full list at start and after every reconnect, events in
// between, and expiry on the gateway's own clock when the controller is gone.
//   ztna-gateway --config FILE
// Runs in the foreground until SIGTERM or SIGINT, then removes its peers, its
// nftables table and its interface. `wg show IFNAME` reads it (UAPI socket).
#include <signal.h>
#include <time.h>

#include <atomic>
#include <cstdarg>
#include <map>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "controller_link.h"
#include "crypto.h"
#include "device.h"
#include "enforcer.h"
#include "gateway_config.h"
#include "grant_set.h"
#include "ztna/run_tool.h"
#include "uapi_server.h"

using namespace ztna;
using namespace ztna::gateway;

namespace {

void say(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void say(const char* fmt, ...) {
    char ts[32];
    const time_t t = time(nullptr);
    struct tm tm{};
    gmtime_r(&t, &tm);
    std::strftime(ts, sizeof ts, "%H:%M:%S", &tm);
    std::fprintf(stderr, "%s ztna-gateway: ", ts);
    va_list ap;
    va_start(ap, fmt);
    std::vfprintf(stderr, fmt, ap);
    va_end(ap);
    std::fputc('\n', stderr);
}

std::int64_t now_s() { return std::int64_t(time(nullptr)); }

// The grant set, the enforcer and the session bookkeeping, under one lock.
struct State {
    std::mutex mu;
    GrantSet grants;
    std::set<std::string> started;           // grant ids whose peer completed a handshake
    std::map<std::string, PeerStats> last;   // by agent key: the last counters seen
    json::Array pending_reports;             // not yet accepted by the controller
};

void queue_report(State& st, const GatewayGrant& g, const char* event) {
    if (st.pending_reports.size() >= 1000) return;  // the controller is away: drop the oldest news, keep running
    const PeerStats s = st.last.count(g.agent_public_key) ? st.last[g.agent_public_key] : PeerStats{};
    st.pending_reports.push_back(json::Object{{"grant_id", g.id},
                                              {"event", event},
                                              {"rx_bytes", std::int64_t(s.rx_bytes)},
                                              {"tx_bytes", std::int64_t(s.tx_bytes)}});
}

// Applies the current set; the caller holds st.mu.
void enforce(State& st, Enforcer& enforcer, const char* why) {
    std::vector<GatewayGrant> list;
    for (const auto& [id, g] : st.grants.grants()) list.push_back(g);
    std::vector<std::string> refused;
    if (auto r = enforcer.apply(list, &refused); !r) {
        say("could not enforce %zu grants (%s): %s", list.size(), why, r.error().message.c_str());
        return;
    }
    for (const auto& id : refused) say("grant %s not enforced: its key or address is already used by another grant", id.c_str());
    say("%zu grants enforced (%s)", list.size() - refused.size(), why);
}

// Removes one grant (event or expiry) and reports its session's end.
void drop(State& st, const std::string& id) {
    auto it = st.grants.grants().find(id);
    if (it == st.grants.grants().end()) return;
    if (st.started.count(id)) queue_report(st, it->second, "end");
    st.started.erase(id);
    st.grants.remove(id);
}

}  // namespace

int main(int argc, char** argv) {
    std::string config_path;
    for (int i = 1; i < argc; ++i) {
        if (!std::strcmp(argv[i], "--config") && i + 1 < argc) config_path = argv[++i];
        else {
            std::fprintf(stderr, "usage: ztna-gateway --config FILE   (gateway.json: docs/control-plane.md)\n");
            return 2;
        }
    }
    if (config_path.empty()) {
        std::fprintf(stderr, "usage: ztna-gateway --config FILE   (gateway.json: docs/control-plane.md)\n");
        return 2;
    }
    auto config = load_gateway_config(config_path);
    if (!config) {
        std::fprintf(stderr, "ztna-gateway: %s\n", config.error().message.c_str());
        return 1;
    }
    auto network = network_of(config->tunnel_address);
    auto link = ControllerLink::create(*config);
    if (!network || !link) {
        std::fprintf(stderr, "ztna-gateway: %s\n", (!network ? network.error() : link.error()).message.c_str());
        return 1;
    }
    std::string private_key;
    {
        std::ifstream in(config->private_key_file);
        std::getline(in, private_key);
    }
    const std::string private_hex = key_to_hex(private_key);
    if (private_hex.empty()) {
        std::fprintf(stderr, "ztna-gateway: %s does not hold a WireGuard private key (make one with `wg genkey`, mode 0600)\n",
                     config->private_key_file.c_str());
        return 1;
    }
    if (!tunnel::crypto::init()) {
        std::fprintf(stderr, "ztna-gateway: libsodium failed to initialize\n");
        return 1;
    }
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
    signal(SIGPIPE, SIG_IGN);

    auto device = tunnel::io::Device::create({config->interface, 1420});
    if (!device) {
        std::fprintf(stderr, "ztna-gateway: %s\n", device.error().message.c_str());
        return 1;
    }
    tunnel::io::Device& dev = **device;
    std::string why;
    const std::string set_answer = dev.handle_uapi("set=1\nprivate_key=" + private_hex + "\nlisten_port=" +
                                                   std::to_string(config->listen_port) + "\n", &why);
    if (set_answer.find("errno=0") == std::string::npos) {
        std::fprintf(stderr, "ztna-gateway: cannot configure %s: %s\n", config->interface.c_str(), why.c_str());
        return 1;
    }
    for (const auto& cmd : {std::vector<std::string>{"ip", "address", "add", config->tunnel_address, "dev", config->interface},
                            std::vector<std::string>{"ip", "link", "set", config->interface, "up"}}) {
        if (auto r = run_ok(cmd); !r) {
            std::fprintf(stderr, "ztna-gateway: %s\n", r.error().message.c_str());
            return 1;
        }
    }
    {
        std::ofstream fwd(config->tunnel_address.find(':') == std::string::npos ? "/proc/sys/net/ipv4/ip_forward"
                                                                                 : "/proc/sys/net/ipv6/conf/all/forwarding");
        fwd << "1\n";
    }
    auto uapi_server = tunnel::io::UapiServer::listen(dev.name(), [&dev](std::string_view req) { return dev.handle_uapi(req); });
    if (!uapi_server) say("no UAPI socket (wg show will not work): %s", uapi_server.error().message.c_str());
    dev.start();
    if (uapi_server) (*uapi_server)->start();

    NftOptions nft{"ztna_gateway", config->interface, *network};
    Enforcer enforcer([&dev](const std::string& req) { return dev.handle_uapi(req); },
                      [](const std::string& script) { return run_ok({"nft", "-f", "-"}, script); }, nft);
    State st;
    {
        std::lock_guard lock(st.mu);
        enforce(st, enforcer, "start: nothing granted until the controller answers");
    }
    say("%s up: listening on UDP %d, tunnel %s, controller %s", config->interface.c_str(), config->listen_port,
        config->tunnel_address.c_str(), config->controller_url.c_str());

    std::atomic<bool> stop{false};
    std::thread events([&] {
        int backoff_ms = 250;
        while (!stop) {
            auto r = link->stream_events(
                [&](const std::string& type, const json::Value& data) {
                    std::lock_guard lock(st.mu);
                    if (type == "hello") {
                        // (Re)connected: the full list replaces whatever we had.
                        std::vector<std::string> skipped;
                        auto list = link->fetch_grants(&skipped);
                        for (const auto& s : skipped) say("grant skipped: %s", s.c_str());
                        if (!list) {
                            say("%s", list.error().message.c_str());
                            return;
                        }
                        std::set<std::string> keep;
                        for (const auto& g : *list) keep.insert(g.id);
                        std::vector<std::string> gone;
                        for (const auto& [id, g] : st.grants.grants())
                            if (!keep.count(id)) gone.push_back(id);
                        for (const auto& id : gone) drop(st, id);
                        for (const auto& g : *list) st.grants.upsert(g);
                        st.grants.expire(now_s());
                        enforce(st, enforcer, "resynchronized with the controller");
                        backoff_ms = 250;
                    } else if (type == "grant_added" || type == "grant_renewed") {
                        auto g = parse_grant(data);
                        if (!g) {
                            say("%s event ignored: %s", type.c_str(), g.error().message.c_str());
                            return;
                        }
                        if (g->expires_at <= now_s()) return;
                        st.grants.upsert(*g);
                        if (type == "grant_added") enforce(st, enforcer, ("grant " + g->id + " added").c_str());
                    } else if (type == "grant_removed") {
                        const std::string* id = data.string_at("grant_id");
                        if (id && st.grants.grants().count(*id)) {
                            drop(st, *id);
                            enforce(st, enforcer, ("grant " + *id + " removed").c_str());
                        }
                    }
                },
                stop);
            if (stop) break;
            say("%s; reconnecting in %d ms (grants stay until they expire)", r ? "event stream ended" : r.error().message.c_str(),
                backoff_ms);
            for (int waited = 0; waited < backoff_ms && !stop; waited += 50) std::this_thread::sleep_for(std::chrono::milliseconds(50));
            backoff_ms = std::min(backoff_ms * 2, 10000);
        }
    });

    int exit_code = 0;
    for (int tick = 0;; ++tick) {
        timespec wait{0, 250'000'000};
        if (sigtimedwait(&sigs, nullptr, &wait) > 0) break;
        if (dev.dead()) {
            say("the TUN device %s went away; exiting", config->interface.c_str());
            exit_code = 1;
            break;
        }
        json::Array reports;
        {
            std::lock_guard lock(st.mu);
            // Fail closed on our own clock: a grant never outlives expires_at.
            std::vector<std::string> expired;
            for (const auto& [id, g] : st.grants.grants())
                if (g.expires_at <= now_s()) expired.push_back(id);
            for (const auto& id : expired) drop(st, id);
            if (!expired.empty()) enforce(st, enforcer, "grants expired");
            if (tick % 4 == 0) {
                st.last = enforcer.stats();
                for (const auto& [id, g] : st.grants.grants()) {
                    auto s = st.last.find(g.agent_public_key);
                    if (s != st.last.end() && s->second.last_handshake_sec > 0 && !st.started.count(id)) {
                        st.started.insert(id);
                        queue_report(st, g, "start");
                    }
                }
                reports.swap(st.pending_reports);
            }
        }
        if (!reports.empty()) {
            if (auto r = link->report_sessions(reports); !r) {
                say("%s (kept for later)", r.error().message.c_str());
                std::lock_guard lock(st.mu);
                for (auto& x : reports)
                    if (st.pending_reports.size() < 1000) st.pending_reports.push_back(std::move(x));
            }
        }
    }
    stop = true;
    link->interrupt();
    events.join();
    {
        std::lock_guard lock(st.mu);
        if (auto r = enforcer.teardown(); !r) say("teardown: %s", r.error().message.c_str());
    }
    if (uapi_server) (*uapi_server)->stop();
    dev.stop();
    say("%s shut down", config->interface.c_str());
    return exit_code;
}
