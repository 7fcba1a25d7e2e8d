#include "cookie.h"

#include <cstring>

#include "crypto.h"

namespace ztna::tunnel {

namespace {
using crypto::Bytes;

Bytes label(const char* s) { return Bytes(reinterpret_cast<const std::uint8_t*>(s), std::strlen(s)); }

// mac1 sits 32 bytes before the end, mac2 16 bytes before it.
std::size_t mac1_offset(std::span<const std::uint8_t> msg) { return msg.size() - 32; }
std::size_t mac2_offset(std::span<const std::uint8_t> msg) { return msg.size() - 16; }
}  // namespace

CookieChecker::CookieChecker(const PublicKey& local_public) {
    crypto::hash(mac1_key_, {label(spec::kLabelMac1), local_public});
    crypto::hash(cookie_key_.span(), {label(spec::kLabelCookie), local_public});
}

bool CookieChecker::check_mac1(std::span<const std::uint8_t> msg) const {
    if (msg.size() < 32) return false;
    std::uint8_t m[16];
    crypto::mac(m, mac1_key_, msg.first(mac1_offset(msg)));
    return ct_equal<16>(std::span<const std::uint8_t, 16>(m, 16), msg.subspan(mac1_offset(msg)).first<16>());
}

void CookieChecker::cookie_for(std::span<std::uint8_t, 16> out, SourceAddr src) const {
    crypto::mac(out, secret_.span(), src);
}

bool CookieChecker::check_mac2(std::span<const std::uint8_t> msg, SourceAddr src, Duration now) const {
    if (msg.size() < 32 || !has_secret_ || now - secret_set_ > spec::kCookieRefreshTime) return false;
    Secret<16> cookie;
    cookie_for(cookie.span(), src);
    std::uint8_t m[16];
    crypto::mac(m, cookie.span(), msg.first(mac2_offset(msg)));
    return ct_equal<16>(std::span<const std::uint8_t, 16>(m, 16), msg.subspan(mac2_offset(msg)).first<16>());
}

void CookieChecker::create_reply(std::span<std::uint8_t, spec::kCookieReplySize> out, std::span<const std::uint8_t> msg,
                                 std::uint32_t sender, SourceAddr src, Env& env) {
    if (!has_secret_ || env.now - secret_set_ > spec::kCookieRefreshTime) {
        env.rng.fill(secret_.span());
        secret_set_ = env.now;
        has_secret_ = true;
    }
    std::memset(out.data(), 0, out.size());
    out[0] = spec::kTypeCookieReply;
    store_le32(out.data() + layout::cookie::kReceiver, sender);
    auto nonce = out.subspan<layout::cookie::kNonce, 24>();
    env.rng.fill(nonce);
    Secret<16> cookie;
    cookie_for(cookie.span(), src);
    crypto::xaead_seal(out.data() + layout::cookie::kCookie, cookie_key_.span(), nonce, cookie.span(),
                       msg.subspan(mac1_offset(msg), 16));
}

CookieGenerator::CookieGenerator(const PublicKey& remote_public) {
    crypto::hash(mac1_key_, {label(spec::kLabelMac1), remote_public});
    crypto::hash(cookie_key_.span(), {label(spec::kLabelCookie), remote_public});
}

void CookieGenerator::add_macs(std::span<std::uint8_t> msg, Duration now) {
    auto mac1 = msg.subspan(mac1_offset(msg)).first<16>();
    auto mac2 = msg.subspan(mac2_offset(msg)).first<16>();
    crypto::mac(mac1, mac1_key_, msg.first(mac1_offset(msg)));
    std::memcpy(last_mac1_.data(), mac1.data(), 16);
    has_last_mac1_ = true;
    if (has_cookie_ && now - cookie_set_ < spec::kCookieRefreshTime) {
        crypto::mac(mac2, cookie_.span(), msg.first(mac2_offset(msg)));
    } else {
        std::memset(mac2.data(), 0, 16);
    }
}

bool CookieGenerator::consume_reply(const CookieReplyMsg& reply, Duration now) {
    if (!has_last_mac1_) return false;
    Secret<16> cookie;
    const auto nonce = reply.bytes.subspan<layout::cookie::kNonce, 24>();
    if (!crypto::xaead_open(cookie.data(), cookie_key_.span(), nonce, reply.bytes.subspan(layout::cookie::kCookie, 32),
                            last_mac1_))
        return false;
    cookie_ = cookie;
    cookie_set_ = now;
    has_cookie_ = true;
    has_last_mac1_ = false;  // one reply per message sent
    return true;
}

}  // namespace ztna::tunnel
