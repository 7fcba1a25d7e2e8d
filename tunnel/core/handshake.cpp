#include "handshake.h"

#include <cstring>

#include "crypto.h"

namespace ztna::tunnel {

namespace {
using crypto::Bytes;

Bytes str(const char* s) { return Bytes(reinterpret_cast<const std::uint8_t*>(s), std::strlen(s)); }

struct InitialState {
    Key ck;
    HashValue h0{};  // HASH(HASH(CONSTRUCTION) || IDENTIFIER), before the responder's key is mixed in
    InitialState() {
        crypto::hash(ck.span(), {str(spec::kConstruction)});
        crypto::hash(h0, {ck.span(), str(spec::kIdentifier)});
    }
};
const InitialState& initial() {
    static const InitialState s;
    return s;
}

void mix_hash(HashValue& h, Bytes data) { crypto::hash(h, {h, data}); }

}  // namespace

const char* to_string(HandshakeError e) {
    switch (e) {
        case HandshakeError::BadDh: return "Diffie-Hellman gave a low-order point";
        case HandshakeError::BadStatic: return "initiation does not decrypt with this interface's private key";
        case HandshakeError::BadTimestamp: return "initiation timestamp does not decrypt";
        case HandshakeError::BadEmpty: return "response does not decrypt (wrong keys or preshared key)";
    }
    return "unknown handshake error";
}

StaticIdentity StaticIdentity::from_private(const Key& private_key) {
    StaticIdentity id;
    id.private_key = private_key;
    crypto::public_from_private(id.public_key, private_key);
    return id;
}

InitiatorState create_initiation(std::span<std::uint8_t, spec::kInitiationSize> msg, const StaticIdentity& local,
                                 const PublicKey& remote_static, std::uint32_t local_index, Env& env) {
    namespace L = layout::init;
    InitiatorState st;
    st.local_index = local_index;
    st.chaining_key = initial().ck;
    st.hash = initial().h0;
    mix_hash(st.hash, remote_static);

    std::memset(msg.data(), 0, msg.size());
    msg[0] = spec::kTypeInitiation;
    store_le32(msg.data() + L::kSender, local_index);

    env.rng.fill(st.ephemeral_private.span());
    crypto::clamp(st.ephemeral_private);
    PublicKey e_pub;
    crypto::public_from_private(e_pub, st.ephemeral_private);
    std::memcpy(msg.data() + L::kEphemeral, e_pub.data(), 32);
    crypto::kdf1(st.chaining_key, Key(st.chaining_key).span(), e_pub);
    mix_hash(st.hash, e_pub);

    Key dh, k;
    // A remote key of low order gives an all-zero secret; continue with it so
    // the message is well-formed, but the peer cannot answer it.
    (void)crypto::dh(dh, st.ephemeral_private, remote_static);
    crypto::kdf2(st.chaining_key, k, Key(st.chaining_key).span(), dh.span());
    crypto::aead_seal(msg.data() + L::kStatic, k, 0, local.public_key, st.hash);
    mix_hash(st.hash, msg.subspan(L::kStatic, 48));

    (void)crypto::dh(dh, local.private_key, remote_static);
    crypto::kdf2(st.chaining_key, k, Key(st.chaining_key).span(), dh.span());
    const Tai64n ts = tai64n_from_unix(env.wall);
    crypto::aead_seal(msg.data() + L::kTimestamp, k, 0, ts, st.hash);
    mix_hash(st.hash, msg.subspan(L::kTimestamp, 28));
    return st;
}

bool consume_initiation(ConsumedInitiation& out, HandshakeError& err, const InitiationMsg& m,
                        const StaticIdentity& local) {
    namespace L = layout::init;
    const auto msg = m.bytes;
    Key ck = initial().ck;
    HashValue h = initial().h0;
    mix_hash(h, local.public_key);

    std::memcpy(out.remote_ephemeral.data(), msg.data() + L::kEphemeral, 32);
    crypto::kdf1(ck, Key(ck).span(), out.remote_ephemeral);
    mix_hash(h, out.remote_ephemeral);

    Key dh, k;
    if (!crypto::dh(dh, local.private_key, out.remote_ephemeral)) {
        err = HandshakeError::BadDh;
        return false;
    }
    crypto::kdf2(ck, k, Key(ck).span(), dh.span());
    if (!crypto::aead_open(out.remote_static.data(), k, 0, msg.subspan(L::kStatic, 48), h)) {
        err = HandshakeError::BadStatic;
        return false;
    }
    mix_hash(h, msg.subspan(L::kStatic, 48));

    if (!crypto::dh(dh, local.private_key, out.remote_static)) {
        err = HandshakeError::BadDh;
        return false;
    }
    crypto::kdf2(ck, k, Key(ck).span(), dh.span());
    if (!crypto::aead_open(out.timestamp.data(), k, 0, msg.subspan(L::kTimestamp, 28), h)) {
        err = HandshakeError::BadTimestamp;
        return false;
    }
    mix_hash(h, msg.subspan(L::kTimestamp, 28));
    out.chaining_key = ck;
    out.hash = h;
    out.remote_index = m.sender();
    return true;
}

bool create_response(SessionKeys& keys, std::span<std::uint8_t, spec::kResponseSize> msg, const ConsumedInitiation& init,
                     const Key& psk, std::uint32_t local_index, Env& env) {
    namespace L = layout::resp;
    Key ck = init.chaining_key;
    HashValue h = init.hash;
    std::memset(msg.data(), 0, msg.size());
    msg[0] = spec::kTypeResponse;
    store_le32(msg.data() + L::kSender, local_index);
    store_le32(msg.data() + L::kReceiver, init.remote_index);

    Key e_priv;
    env.rng.fill(e_priv.span());
    crypto::clamp(e_priv);
    PublicKey e_pub;
    crypto::public_from_private(e_pub, e_priv);
    std::memcpy(msg.data() + L::kEphemeral, e_pub.data(), 32);
    crypto::kdf1(ck, Key(ck).span(), e_pub);
    mix_hash(h, e_pub);

    Key dh;
    if (!crypto::dh(dh, e_priv, init.remote_ephemeral)) return false;
    crypto::kdf1(ck, Key(ck).span(), dh.span());
    if (!crypto::dh(dh, e_priv, init.remote_static)) return false;
    crypto::kdf1(ck, Key(ck).span(), dh.span());

    Key tau, k;
    crypto::kdf3(ck, tau, k, Key(ck).span(), psk.span());
    mix_hash(h, tau.span());
    crypto::aead_seal(msg.data() + L::kEmpty, k, 0, {}, h);
    mix_hash(h, msg.subspan(L::kEmpty, 16));

    crypto::kdf2(keys.recv, keys.send, ck.span(), {});
    keys.local_index = local_index;
    keys.remote_index = init.remote_index;
    return true;
}

bool consume_response(SessionKeys& keys, HandshakeError& err, const ResponseMsg& m, const InitiatorState& st,
                      const StaticIdentity& local, const PublicKey& /*remote_static*/, const Key& psk) {
    namespace L = layout::resp;
    const auto msg = m.bytes;
    Key ck = st.chaining_key;
    HashValue h = st.hash;
    PublicKey e_r;
    std::memcpy(e_r.data(), msg.data() + L::kEphemeral, 32);
    crypto::kdf1(ck, Key(ck).span(), e_r);
    mix_hash(h, e_r);

    Key dh;
    if (!crypto::dh(dh, st.ephemeral_private, e_r)) {
        err = HandshakeError::BadDh;
        return false;
    }
    crypto::kdf1(ck, Key(ck).span(), dh.span());
    if (!crypto::dh(dh, local.private_key, e_r)) {
        err = HandshakeError::BadDh;
        return false;
    }
    crypto::kdf1(ck, Key(ck).span(), dh.span());

    Key tau, k;
    crypto::kdf3(ck, tau, k, Key(ck).span(), psk.span());
    mix_hash(h, tau.span());
    std::uint8_t empty[1];
    if (!crypto::aead_open(empty, k, 0, msg.subspan(L::kEmpty, 16), h)) {
        err = HandshakeError::BadEmpty;
        return false;
    }
    crypto::kdf2(keys.send, keys.recv, ck.span(), {});
    keys.local_index = st.local_index;
    keys.remote_index = m.sender();
    return true;
}

}  // namespace ztna::tunnel
