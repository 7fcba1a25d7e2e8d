#include "micro_tunnels.h"

#include "agent_nft_rules.h"
#include "crypto.h"
#include "device.h"
#include "keys.h"
#include "rng.h"
#include "uapi_server.h"
#include "ztna/run_tool.h"

namespace ztna::agent {

namespace {

constexpr const char* kTable = "ztna_agent";

std::string host_of(const std::string& prefix) { return prefix.substr(0, prefix.find('/')); }
bool is_v6(const std::string& p) { return p.find(':') != std::string::npos; }

// The UAPI as the agent shows it: reads only, with every private key left out.
std::string read_only_uapi(tunnel::io::Device& dev, std::string_view request) {
    if (request.rfind("get=1", 0) != 0) return "errno=1\n\n";  // EPERM: the agent owns this interface's configuration
    const std::string answer = dev.handle_uapi(request);
    std::string out;
    std::size_t pos = 0;
    while (pos < answer.size()) {
        auto nl = answer.find('\n', pos);
        if (nl == std::string::npos) nl = answer.size() - 1;
        const std::string_view line(answer.data() + pos, nl - pos + 1);
        if (line.rfind("private_key=", 0) != 0 && line.rfind("preshared_key=", 0) != 0) out += line;
        pos = nl + 1;
    }
    return out;
}

}  // namespace

GrantKey MicroTunnels::new_key() {
    tunnel::SystemRng rng;
    GrantKey k;
    k.private_key = tunnel::generate_private_key(rng);
    k.public_b64 = tunnel::to_base64(tunnel::public_key_of(k.private_key));
    return k;
}

Result<std::unique_ptr<MicroTunnels>> MicroTunnels::open(const std::string& ifname) {
    if (!tunnel::crypto::init()) return fail("libsodium failed to initialize");
    auto t = std::unique_ptr<MicroTunnels>(new MicroTunnels());
    t->ifname_ = ifname;
    // A leftover from a crash: its routes go with it.
    (void)run_tool({"ip", "link", "delete", ifname});
    (void)run_tool({"nft", "-f", "-"}, render_agent_nft_teardown(kTable));
    auto dev = tunnel::io::Device::create({ifname, 1420});
    if (!dev) return fail("cannot create the micro-tunnel interface " + ifname + ": " + dev.error().message);
    t->dev_ = std::move(*dev);
    // The interface key answers nobody (every peer has its own grant key); it exists
    // because a WireGuard interface has one.
    tunnel::SystemRng rng;
    const tunnel::Key k = tunnel::generate_private_key(rng);
    std::string why;
    const std::string ans = t->dev_->handle_uapi("set=1\nprivate_key=" + tunnel::to_hex(k.span()) + "\nlisten_port=0\n", &why);
    if (ans.find("errno=0") == std::string::npos) return fail("cannot configure " + ifname + ": " + why);
    if (auto r = run_ok({"ip", "link", "set", ifname, "up"}); !r) return fail("cannot bring " + ifname + " up: " + r.error().message);
    if (auto r = t->apply_rules(); !r) return Unexpected<Error>{r.error()};
    tunnel::io::Device* d = t->dev_.get();
    auto uapi = tunnel::io::UapiServer::listen(ifname, [d](std::string_view req) { return read_only_uapi(*d, req); });
    if (uapi) t->uapi_ = std::move(*uapi);
    t->dev_->start();
    if (t->uapi_) t->uapi_->start();
    return t;
}

MicroTunnels::~MicroTunnels() {
    close_all();
    if (uapi_) uapi_->stop();
    if (dev_) dev_->stop();
    (void)run_tool({"nft", "-f", "-"}, render_agent_nft_teardown(kTable));
    dev_.reset();
    (void)run_tool({"ip", "link", "delete", ifname_});
}

bool MicroTunnels::dead() const { return dev_ && dev_->dead(); }

Result<void> MicroTunnels::apply_rules() {
    std::vector<Grant> gs;
    for (const auto& [id, o] : open_) gs.push_back(o.grant);
    if (auto r = run_ok({"nft", "-f", "-"}, render_agent_nft(kTable, ifname_, gs)); !r)
        return fail("cannot apply the agent's nftables rules: " + r.error().message);
    return {};
}

void MicroTunnels::remove_routes(const Open& o) {
    for (const auto& a : o.grant.addresses) (void)run_tool({"ip", is_v6(a) ? "-6" : "-4", "route", "del", a, "dev", ifname_});
    (void)run_tool({"ip", "address", "del", o.grant.tunnel_address, "dev", ifname_});
}

Result<void> MicroTunnels::open_grant(const Grant& g, const GrantKey& key) {
    std::lock_guard lock(mu_);
    if (auto it = open_.find(g.id); it != open_.end()) {
        dev_->remove_own_key_peer(it->second.peer_id);
        remove_routes(it->second);
        open_.erase(it);
    }
    tunnel::io::Device::OwnKeyPeer p;
    p.local_private = key.private_key;
    if (!tunnel::from_base64(p.remote, g.gateway_public_key))
        return fail("grant " + g.id + ": the gateway's public key is not a WireGuard key");
    auto ep = tunnel::io::parse_endpoint(g.gateway_endpoint);
    if (!ep) return fail("grant " + g.id + ": the gateway endpoint \"" + g.gateway_endpoint + "\" is not HOST:PORT");
    p.endpoint = *ep;
    for (const auto& a : g.addresses) {
        auto pre = tunnel::io::parse_prefix(a);
        if (!pre) return fail("grant " + g.id + ": the app address \"" + a + "\" is not a prefix");
        p.allowed_ips.push_back(*pre);
    }
    p.persistent_keepalive_s = 25;
    // Rules first, so the peer never exists without its filter.
    open_[g.id] = Open{g, 0, key.public_b64};
    if (auto r = apply_rules(); !r) {
        open_.erase(g.id);
        return r;
    }
    const auto undo = [&](const std::string& why) -> Result<void> {
        Open o = open_[g.id];
        open_.erase(g.id);
        if (o.peer_id) dev_->remove_own_key_peer(o.peer_id);
        remove_routes(o);
        (void)apply_rules();
        return fail("cannot open the tunnel of grant " + g.id + " (" + g.app + "): " + why);
    };
    if (auto r = run_ok({"ip", "address", "add", g.tunnel_address, "dev", ifname_}); !r) return undo(r.error().message);
    auto id = dev_->add_own_key_peer(p);
    if (!id) return undo(id.error().message);
    open_[g.id].peer_id = *id;
    for (const auto& a : g.addresses) {
        if (is_v6(a) != is_v6(g.tunnel_address)) continue;
        if (auto r = run_ok({"ip", is_v6(a) ? "-6" : "-4", "route", "replace", a, "dev", ifname_, "src", host_of(g.tunnel_address)}); !r)
            return undo(r.error().message);
    }
    return {};
}

Result<void> MicroTunnels::close_grant(const std::string& grant_id) {
    std::lock_guard lock(mu_);
    auto it = open_.find(grant_id);
    if (it == open_.end()) return {};
    const Open o = it->second;
    dev_->remove_own_key_peer(o.peer_id);
    remove_routes(o);
    open_.erase(it);
    return apply_rules();
}

void MicroTunnels::close_all() {
    std::lock_guard lock(mu_);
    for (const auto& [id, o] : open_) {
        dev_->remove_own_key_peer(o.peer_id);
        remove_routes(o);
    }
    open_.clear();
    (void)apply_rules();
}

std::vector<std::string> MicroTunnels::open_ids() {
    std::lock_guard lock(mu_);
    std::vector<std::string> ids;
    for (const auto& [id, o] : open_) ids.push_back(id);
    return ids;
}

void MicroTunnels::nudge_new(std::int64_t now_ms) {
    std::lock_guard lock(mu_);
    for (auto& [id, o] : open_) {
        if (o.opened_ms < 0) o.opened_ms = now_ms;
        if (now_ms - o.opened_ms > 10000 || now_ms - o.nudged_ms < 1000) continue;
        auto c = dev_->peer_counters(o.peer_id);
        if (!c || c->last_handshake_sec > 0) continue;
        if (o.nudged_ms == 0) {  // the first initiation went out when the peer was added
            o.nudged_ms = now_ms;
            continue;
        }
        o.nudged_ms = now_ms;
        dev_->force_handshake(o.peer_id);
    }
}

std::map<std::string, TunnelStats> MicroTunnels::stats() {
    std::lock_guard lock(mu_);
    std::map<std::string, TunnelStats> out;
    for (const auto& [id, o] : open_) {
        auto c = dev_->peer_counters(o.peer_id);
        if (c) out[id] = TunnelStats{c->last_handshake_sec, c->rx_bytes, c->tx_bytes};
    }
    return out;
}

}  // namespace ztna::agent
