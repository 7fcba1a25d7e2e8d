// The local side of every handshake: the interface's static identity and its
// cookie checker. A device has one; it admits handshake messages (mac1, and
// mac2 when under load) and consumes initiations before it knows the peer.
// Extra identities serve peers that use their own local key (the agent's
// per-grant keys): a message's mac1 says which identity it is addressed to.
#pragma once

#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "cookie.h"
#include "handshake.h"
#include "tunn_result.h"

namespace ztna::tunnel {

class Responder {
public:
    explicit Responder(std::shared_ptr<const StaticIdentity> identity);

    const std::shared_ptr<const StaticIdentity>& identity() const { return identity_; }

    // For initiations and responses: Done (authenticated == false) means go on;
    // Drop means stop (counted); WriteToNetwork means send the cookie reply in out.
    // *matched (if given) is the identity the message is addressed to.
    TunnResult admit(const Message& msg, SourceAddr src, std::span<std::uint8_t> out, Env& env,
                     const StaticIdentity** matched = nullptr);
    // Decrypts an admitted initiation to learn who sent it; with the identity
    // admit() matched (the interface's when null).
    std::optional<ConsumedInitiation> consume(const InitiationMsg& msg, HandshakeError& err,
                                              const StaticIdentity* identity = nullptr) const;

    // Replaces the extra identities (never the interface's own).
    void set_extra_identities(const std::vector<std::shared_ptr<const StaticIdentity>>& extra);

    const std::array<std::uint64_t, kDropReasonCount>& drops() const { return drops_; }
    void count(DropReason r) { ++drops_[std::size_t(r)]; }

private:
    std::shared_ptr<const StaticIdentity> identity_;
    CookieChecker checker_;
    struct Extra {
        std::shared_ptr<const StaticIdentity> identity;
        CookieChecker checker;
    };
    std::vector<Extra> extra_;
    std::array<std::uint64_t, kDropReasonCount> drops_{};
};

}  // namespace ztna::tunnel
