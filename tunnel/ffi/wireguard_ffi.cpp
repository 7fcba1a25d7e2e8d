// The C API: one Responder and one Peer behind an opaque handle, with the
// real clocks and the system RNG (this file is an I/O boundary, not the core).
#include <ztna_wireguard.h>

#include <sodium.h>
#include <time.h>

#include <cstdlib>
#include <cstring>
#include <mutex>

#include "../core/crypto.h"
#include "../core/dispatch.h"
#include "../core/handshake_load.h"
#include "../core/keys.h"
#include "../io/system_clock.h"

using namespace ztna::tunnel;

namespace {

using io::mono_now;
using io::wall_now;

wireguard_result to_c(const TunnResult& r) {
    switch (r.op) {
        case Op::Done: return {WIREGUARD_DONE, 0, 0};
        case Op::WriteToNetwork: return {WIREGUARD_WRITE_TO_NETWORK, r.size, 0};
        case Op::WriteToTunnelV4: return {WIREGUARD_WRITE_TO_TUNNEL_IPV4, r.size, 0};
        case Op::WriteToTunnelV6: return {WIREGUARD_WRITE_TO_TUNNEL_IPV6, r.size, 0};
        case Op::Drop: break;
    }
    return {WIREGUARD_ERROR, 0, std::uint32_t(r.reason)};
}

}  // namespace

struct wireguard_tunnel final : PeerLookup {
    wireguard_tunnel(std::shared_ptr<const StaticIdentity> id, const PublicKey& remote, const Key& psk,
                     std::uint32_t index)
        : responder(id), peer(id, remote, psk, index) {}

    Peer* by_public_key(const PublicKey& k) override { return ct_equal<32>(k, peer.remote_public()) ? &peer : nullptr; }
    Peer* by_index(std::uint32_t idx) override {
        return Peer::index_base_of(idx) == Peer::index_base_of(peer_index()) ? &peer : nullptr;
    }
    std::uint32_t peer_index() const { return index << 8; }

    Env env() {
        const Duration now = mono_now();
        return Env{now, wall_now(), rng, load.under_load(now)};
    }

    std::mutex mu;
    SystemRng rng;
    Responder responder;
    Peer peer;
    std::uint32_t index = 0;
    HandshakeLoad load;
};

extern "C" {

struct x25519_key x25519_secret_key(void) {
    crypto::init();
    SystemRng rng;
    Key k = generate_private_key(rng);
    x25519_key out;
    std::memcpy(out.key, k.data(), 32);
    return out;
}

struct x25519_key x25519_public_key(struct x25519_key private_key) {
    Key k{std::span<const std::uint8_t, 32>(private_key.key, 32)};
    PublicKey p = public_key_of(k);
    sodium_memzero(private_key.key, 32);
    x25519_key out;
    std::memcpy(out.key, p.data(), 32);
    return out;
}

static char* dup_string(const std::string& s) {
    char* p = static_cast<char*>(std::malloc(s.size() + 1));
    if (p) std::memcpy(p, s.c_str(), s.size() + 1);
    return p;
}

char* x25519_key_to_base64(struct x25519_key key) { return dup_string(to_base64(key.key)); }
char* x25519_key_to_hex(struct x25519_key key) { return dup_string(to_hex(key.key)); }
void x25519_key_to_str_free(char* s) {
    if (s) sodium_memzero(s, std::strlen(s));
    std::free(s);
}

int check_base64_encoded_x25519_key(const char* s) {
    if (!s) return 0;
    std::uint8_t tmp[32];
    const bool ok = from_base64(tmp, s);
    sodium_memzero(tmp, 32);
    return ok ? 1 : 0;
}

struct wireguard_tunnel* new_tunnel(const char* static_private, const char* server_static_public,
                                    const char* preshared_key, uint16_t keep_alive, uint32_t index,
                                    const char** error) {
    auto fail = [&](const char* why) -> wireguard_tunnel* {
        if (error) *error = why;
        return nullptr;
    };
    if (!crypto::init()) return fail("libsodium failed to initialize");
    Key priv;
    PublicKey pub;
    Key psk;
    if (!static_private || !from_base64(priv.span(), static_private))
        return fail("static_private is not a base64 X25519 key (44 characters)");
    if (!server_static_public || !from_base64(pub, server_static_public))
        return fail("server_static_public is not a base64 X25519 key (44 characters)");
    if (preshared_key && !from_base64(psk.span(), preshared_key))
        return fail("preshared_key is not a base64 32-byte key (44 characters); pass NULL for none");
    if (index > 0xffffff) return fail("index must fit in 24 bits");
    auto id = std::make_shared<const StaticIdentity>(StaticIdentity::from_private(priv));
    auto* t = new wireguard_tunnel(id, pub, psk, index);
    t->index = index;
    if (keep_alive) t->peer.set_persistent_keepalive(std::chrono::seconds(keep_alive), mono_now());
    if (error) *error = nullptr;
    return t;
}

void tunnel_free(struct wireguard_tunnel* tunnel) { delete tunnel; }

struct wireguard_result wireguard_write(struct wireguard_tunnel* t, const uint8_t* src, uint32_t src_size,
                                        uint8_t* dst, uint32_t dst_size) {
    if (!t || (!src && src_size) || !dst) return {WIREGUARD_ERROR, 0, std::uint32_t(DropReason::BufferTooSmall)};
    std::lock_guard lock(t->mu);
    Env env = t->env();
    return to_c(t->peer.encapsulate({src, src_size}, {dst, dst_size}, env));
}

struct wireguard_result wireguard_read_from(struct wireguard_tunnel* t, const uint8_t* src_addr,
                                            uint32_t src_addr_len, const uint8_t* src, uint32_t src_size,
                                            uint8_t* dst, uint32_t dst_size) {
    if (!t || (!src && src_size) || !dst || (!src_addr && src_addr_len) || src_addr_len > 18)
        return {WIREGUARD_ERROR, 0, std::uint32_t(DropReason::BufferTooSmall)};
    std::lock_guard lock(t->mu);
    if (src_size && (src[0] == spec::kTypeInitiation || src[0] == spec::kTypeResponse)) t->load.count(mono_now());
    Env env = t->env();
    if (src_size == 0) return to_c(t->peer.flush_queued({dst, dst_size}, env));
    Received r = receive_datagram(t->responder, *t, {src, src_size}, {src_addr, src_addr_len}, {dst, dst_size}, env);
    return to_c(r.result);
}

struct wireguard_result wireguard_read(struct wireguard_tunnel* t, const uint8_t* src, uint32_t src_size,
                                       uint8_t* dst, uint32_t dst_size) {
    return wireguard_read_from(t, nullptr, 0, src, src_size, dst, dst_size);
}

struct wireguard_result wireguard_tick(struct wireguard_tunnel* t, uint8_t* dst, uint32_t dst_size) {
    if (!t || !dst) return {WIREGUARD_ERROR, 0, std::uint32_t(DropReason::BufferTooSmall)};
    std::lock_guard lock(t->mu);
    Env env = t->env();
    return to_c(t->peer.update_timers({dst, dst_size}, env));
}

struct wireguard_result wireguard_force_handshake(struct wireguard_tunnel* t, uint8_t* dst, uint32_t dst_size) {
    if (!t || !dst) return {WIREGUARD_ERROR, 0, std::uint32_t(DropReason::BufferTooSmall)};
    std::lock_guard lock(t->mu);
    Env env = t->env();
    return to_c(t->peer.force_handshake({dst, dst_size}, env));
}

struct wireguard_stats wireguard_stats(struct wireguard_tunnel* t) {
    struct wireguard_stats s;
    std::memset(&s, 0, sizeof s);
    s.time_since_last_handshake = -1;
    if (!t) return s;
    std::lock_guard lock(t->mu);
    const PeerStats& ps = t->peer.stats();
    s.tx_bytes = ps.tx_bytes;
    s.rx_bytes = ps.rx_bytes;
    for (auto d : ps.drops) s.dropped += d;
    for (auto d : t->responder.drops()) s.dropped += d;
    if (ps.last_handshake.count() > 0)
        s.time_since_last_handshake =
            std::chrono::duration_cast<std::chrono::seconds>(wall_now() - ps.last_handshake).count();
    return s;
}

const char* wireguard_error_string(uint32_t error) {
    if (error >= kDropReasonCount) return "unknown";
    return to_string(DropReason(error));
}

}  // extern "C"
