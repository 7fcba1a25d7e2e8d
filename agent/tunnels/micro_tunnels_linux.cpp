#include "micro_tunnels.h"

#include <unistd.h>

#include <algorithm>

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

// Do a and b share any address? (Same family, equal on the shorter length.)
bool overlaps(const tunnel::io::IpPrefix& a, const tunnel::io::IpPrefix& b) {
    if (a.addr.v6 != b.addr.v6) return false;
    const int bits = std::min(a.len, b.len);
    for (int i = 0; i < bits; ++i) {
        const int byte = i / 8, bit = 7 - i % 8;
        if (((a.addr.bytes[byte] >> bit) & 1) != ((b.addr.bytes[byte] >> bit) & 1)) return false;
    }
    return true;
}

bool valid_ifname(const std::string& n) {
    if (n.empty() || n.size() > 15) return false;
    for (unsigned char c : n)
        if (!(std::isalnum(c) || c == '_' || c == '-' || c == '.')) return false;
    return true;
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
    if (!valid_ifname(ifname))
        return fail("interface \"" + ifname + "\" is not a valid interface name (1 to 15 letters, digits, _ - .)");
    auto t = std::unique_ptr<MicroTunnels>(new MicroTunnels());
    t->ifname_ = ifname;
    // A leftover TUN device from a crash goes, with its routes; any other kind of
    // interface by that name is someone else's and is never touched.
    if (::access(("/sys/class/net/" + ifname).c_str(), F_OK) == 0) {
        if (::access(("/sys/class/net/" + ifname + "/tun_flags").c_str(), F_OK) != 0)
            return fail("interface " + ifname + " exists and is not a TUN device: choose another name (managed setting interface)");
        (void)run_tool({"ip", "link", "delete", ifname});
    }
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
    else t->uapi_problem = "no UAPI socket, so `wg show " + ifname + "` will not work: " + uapi.error().message;
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
    // Routes only for what this grant may reach, never over the machine's own paths:
    // no default route or huge range, nothing covering the gateway itself, and no
    // address another open grant already routes (one peer per destination).
    std::string gw_host = g.gateway_endpoint.substr(0, g.gateway_endpoint.rfind(':'));
    if (gw_host.size() > 2 && gw_host.front() == '[') gw_host = gw_host.substr(1, gw_host.size() - 2);
    const auto gw_addr = tunnel::io::parse_ip(gw_host);
    for (const auto& pre : p.allowed_ips) {
        const std::string text = tunnel::io::to_string(pre);
        if (pre.len < (pre.addr.v6 ? 16 : 8))
            return fail("grant " + g.id + " (" + g.app + "): the app address " + text +
                        " is too wide to route through a micro-tunnel (shorter than /8 or /16); ask the administrator to narrow it");
        if (gw_addr && overlaps(pre, tunnel::io::IpPrefix{*gw_addr, std::uint8_t(gw_addr->v6 ? 128 : 32)}))
            return fail("grant " + g.id + " (" + g.app + "): the app address " + text + " covers the gateway " + g.gateway_endpoint +
                        " itself; ask the administrator to fix the policy");
        for (const auto& [oid, o] : open_)
            for (const auto& other : o.grant.addresses)
                if (auto op = tunnel::io::parse_prefix(other); op && overlaps(pre, *op))
                    return fail("grant " + g.id + " (" + g.app + "): its address " + text + " overlaps " + other + " of " + o.grant.app +
                                ", whose micro-tunnel is open; one destination can be reached through one micro-tunnel only");
    }
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
        // add, not replace: a route the machine already has for this prefix wins, and the grant fails.
        if (auto r = run_ok({"ip", is_v6(a) ? "-6" : "-4", "route", "add", a, "dev", ifname_, "src", host_of(g.tunnel_address)}); !r)
            return undo("a route to " + a + " already exists on this machine, or cannot be added: " + r.error().message);
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
