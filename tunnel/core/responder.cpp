#include "responder.h"

namespace ztna::tunnel {

Responder::Responder(std::shared_ptr<const StaticIdentity> identity)
    : identity_(std::move(identity)), checker_(identity_->public_key) {}

TunnResult Responder::admit(const Message& msg, SourceAddr src, std::span<std::uint8_t> out, Env& env) {
    std::span<const std::uint8_t> bytes;
    std::uint32_t sender = 0;
    if (auto* i = std::get_if<InitiationMsg>(&msg)) {
        bytes = i->bytes;
        sender = i->sender();
    } else if (auto* r = std::get_if<ResponseMsg>(&msg)) {
        bytes = r->bytes;
        sender = r->sender();
    } else {
        return TunnResult::done();  // cookie replies and data carry no MACs
    }
    if (!checker_.check_mac1(bytes)) {
        count(DropReason::BadMac1);
        return TunnResult::drop(DropReason::BadMac1);
    }
    if (env.under_load && !checker_.check_mac2(bytes, src, env.now)) {
        if (out.size() < spec::kCookieReplySize) {
            count(DropReason::BufferTooSmall);
            return TunnResult::drop(DropReason::BufferTooSmall);
        }
        checker_.create_reply(out.first<spec::kCookieReplySize>(), bytes, sender, src, env);
        count(DropReason::CookieSent);
        return {Op::WriteToNetwork, spec::kCookieReplySize, DropReason::CookieSent, false};
    }
    return TunnResult::done();
}

std::optional<ConsumedInitiation> Responder::consume(const InitiationMsg& msg, HandshakeError& err) const {
    ConsumedInitiation c;
    if (!consume_initiation(c, err, msg, *identity_)) return std::nullopt;
    return c;
}

}  // namespace ztna::tunnel
