#include "responder.h"

namespace ztna::tunnel {

Responder::Responder(std::shared_ptr<const StaticIdentity> identity)
    : identity_(std::move(identity)), checker_(identity_->public_key) {}

void Responder::set_extra_identities(const std::vector<std::shared_ptr<const StaticIdentity>>& extra) {
    extra_.clear();
    for (const auto& id : extra)
        if (id && id->public_key != identity_->public_key) extra_.push_back({id, CookieChecker(id->public_key)});
}

TunnResult Responder::admit(const Message& msg, SourceAddr src, std::span<std::uint8_t> out, Env& env,
                            const StaticIdentity** matched) {
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
    CookieChecker* checker = &checker_;
    const StaticIdentity* who = identity_.get();
    if (!checker_.check_mac1(bytes)) {
        checker = nullptr;
        for (auto& x : extra_)
            if (x.checker.check_mac1(bytes)) {
                checker = &x.checker;
                who = x.identity.get();
                break;
            }
        if (!checker) {
            count(DropReason::BadMac1);
            return TunnResult::drop(DropReason::BadMac1);
        }
    }
    if (matched) *matched = who;
    if (env.under_load && !checker->check_mac2(bytes, src, env.now)) {
        if (out.size() < spec::kCookieReplySize) {
            count(DropReason::BufferTooSmall);
            return TunnResult::drop(DropReason::BufferTooSmall);
        }
        checker->create_reply(out.first<spec::kCookieReplySize>(), bytes, sender, src, env);
        count(DropReason::CookieSent);
        return {Op::WriteToNetwork, spec::kCookieReplySize, DropReason::CookieSent, false};
    }
    return TunnResult::done();
}

std::optional<ConsumedInitiation> Responder::consume(const InitiationMsg& msg, HandshakeError& err,
                                                    const StaticIdentity* identity) const {
    ConsumedInitiation c;
    if (!consume_initiation(c, err, msg, identity ? *identity : *identity_)) return std::nullopt;
    return c;
}

}  // namespace ztna::tunnel
