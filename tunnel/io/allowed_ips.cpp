#include "allowed_ips.h"

namespace ztna::tunnel::io {

struct AllowedIps::Node {
    std::unique_ptr<Node> child[2];
    PeerId peer = 0;
};

namespace {
int bit_at(const IpAddr& a, std::size_t i) { return (a.bytes[i / 8] >> (7 - i % 8)) & 1; }

}  // namespace

AllowedIps::AllowedIps() : root4_(std::make_unique<Node>()), root6_(std::make_unique<Node>()) {}
AllowedIps::~AllowedIps() = default;

void AllowedIps::insert(const IpPrefix& p, PeerId peer) {
    Node* n = p.addr.v6 ? root6_.get() : root4_.get();
    for (std::size_t i = 0; i < p.len; ++i) {
        auto& c = n->child[bit_at(p.addr, i)];
        if (!c) c = std::make_unique<Node>();
        n = c.get();
    }
    n->peer = peer;
}

namespace {
// Clears peer from the subtree; returns true if the node can be pruned.
template <typename N>
bool prune(N* n, std::uint32_t peer) {
    if (n->peer == peer) n->peer = 0;
    for (auto& c : n->child)
        if (c && prune(c.get(), peer)) c.reset();
    return n->peer == 0 && !n->child[0] && !n->child[1];
}

template <typename N>
void collect(const N* n, std::uint32_t peer, IpAddr& path, std::size_t depth, std::vector<IpPrefix>& out) {
    if (n->peer == peer) out.push_back({path, std::uint8_t(depth)});
    for (int b = 0; b < 2; ++b) {
        if (!n->child[b]) continue;
        if (b) path.bytes[depth / 8] |= std::uint8_t(0x80u >> (depth % 8));
        collect(n->child[b].get(), peer, path, depth + 1, out);
        if (b) path.bytes[depth / 8] &= std::uint8_t(~(0x80u >> (depth % 8)));
    }
}
}  // namespace

void AllowedIps::remove_peer(PeerId peer) {
    if (peer == 0) return;
    prune(root4_.get(), peer);
    prune(root6_.get(), peer);
}

AllowedIps::PeerId AllowedIps::lookup(const IpAddr& a) const {
    const Node* n = a.v6 ? root6_.get() : root4_.get();
    PeerId best = n->peer;
    const std::size_t bits = a.size() * 8;
    for (std::size_t i = 0; i < bits && n; ++i) {
        n = n->child[bit_at(a, i)].get();
        if (n && n->peer) best = n->peer;
    }
    return best;
}

std::vector<IpPrefix> AllowedIps::prefixes_of(PeerId peer) const {
    std::vector<IpPrefix> out;
    if (peer == 0) return out;
    IpAddr path;
    collect(root4_.get(), peer, path, 0, out);
    path = IpAddr{};
    path.v6 = true;
    collect(root6_.get(), peer, path, 0, out);
    return out;
}

void AllowedIps::clear() {
    root4_ = std::make_unique<Node>();
    root6_ = std::make_unique<Node>();
}

}  // namespace ztna::tunnel::io
