#include "messages.h"

namespace ztna::tunnel {

const char* to_string(ParseError e) {
    switch (e) {
        case ParseError::Empty: return "datagram too short to hold a message type";
        case ParseError::UnknownType: return "unknown message type";
        case ParseError::BadLength: return "wrong length for its message type";
        case ParseError::ReservedNonZero: return "reserved header bytes are not zero";
    }
    return "unknown parse error";
}

Message parse(std::span<const std::uint8_t> d) {
    if (d.size() < 4) return ParseError::Empty;
    if (d.size() > limits::kMaxDatagramSize) return ParseError::BadLength;
    if (d[1] != 0 || d[2] != 0 || d[3] != 0) return ParseError::ReservedNonZero;
    switch (d[0]) {
        case spec::kTypeInitiation:
            if (d.size() != spec::kInitiationSize) return ParseError::BadLength;
            return InitiationMsg{d.first<spec::kInitiationSize>()};
        case spec::kTypeResponse:
            if (d.size() != spec::kResponseSize) return ParseError::BadLength;
            return ResponseMsg{d.first<spec::kResponseSize>()};
        case spec::kTypeCookieReply:
            if (d.size() != spec::kCookieReplySize) return ParseError::BadLength;
            return CookieReplyMsg{d.first<spec::kCookieReplySize>()};
        case spec::kTypeData:
            // Payloads are padded to 16 bytes, but a peer may send an MTU-sized
            // packet that is not a multiple of 16: only the minimum is checked.
            if (d.size() < spec::kDataMinSize) return ParseError::BadLength;
            return DataMsg{d};
        default:
            return ParseError::UnknownType;
    }
}

std::uint32_t receiver_index(const Message& m) {
    if (auto* r = std::get_if<ResponseMsg>(&m)) return r->receiver();
    if (auto* c = std::get_if<CookieReplyMsg>(&m)) return c->receiver();
    if (auto* x = std::get_if<DataMsg>(&m)) return x->receiver();
    return 0;
}

}  // namespace ztna::tunnel
