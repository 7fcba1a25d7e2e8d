// libFuzzer target: the DNS codec of the agent's stub. Any bytes are parsed
// without reading out of bounds. A query that parses gets a response, which
// must fit 512 bytes, be refused by parse_query as a response, and with QR
// cleared parse back to the same question. A refused packet gets build_error,
// which answers exactly the packets with a header that are not responses.
#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "dns_message.h"

using namespace ztna::agent::dns;

namespace {

std::uint16_t at16(const std::vector<std::uint8_t>& b, std::size_t i) {
    return static_cast<std::uint16_t>((b[i] << 8) | b[i + 1]);
}

void check_response(const Query& q, Rcode rcode) {
    // Address lists longer than fit, so the 512-byte cap is exercised.
    static const std::vector<std::array<std::uint8_t, 4>> a(40, {10, 1, 2, 3});
    static const std::vector<std::array<std::uint8_t, 16>> aaaa(20, {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1});
    std::vector<std::uint8_t> r = build_response(q, rcode, a, aaaa, 30);
    if (r.size() < kHeaderSize || r.size() > kMaxUdpMessage) __builtin_trap();
    if (at16(r, 0) != q.id) __builtin_trap();
    if ((at16(r, 2) & kRcodeMask) != static_cast<std::uint16_t>(rcode)) __builtin_trap();
    if ((at16(r, 2) & kFlagTC) != 0) __builtin_trap();
    if (rcode != Rcode::NoError && at16(r, 6) != 0) __builtin_trap();
    auto as_query = parse_query(r);
    if (as_query.has_value() || as_query.error().code != kErrResponse) __builtin_trap();
    r[2] &= 0x7f;  // QR cleared: the echoed question reads back the same
    auto again = parse_query(r);
    if (!again.has_value()) __builtin_trap();
    if (again->id != q.id || again->name != q.name || again->qtype != q.qtype || again->qclass != q.qclass)
        __builtin_trap();
    if (!build_error(r, Rcode::FormErr)) __builtin_trap();  // a query again: answerable
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* in, std::size_t n) {
    const std::span<const std::uint8_t> packet(in, n);
    auto q = parse_query(packet);
    if (q.has_value()) {
        if (q->name.size() > 253) __builtin_trap();
        for (char c : q->name)
            if (c >= 'A' && c <= 'Z') __builtin_trap();  // lowercased
        check_response(*q, Rcode::NoError);
        check_response(*q, Rcode::Refused);
        return 0;
    }
    if (q.error().message.empty() || q.error().code.empty()) __builtin_trap();  // every refusal says why
    const auto e = build_error(packet, q.error().code == kErrOpcode ? Rcode::NotImp : Rcode::FormErr);
    const bool answerable = n >= kHeaderSize && (in[2] & 0x80) == 0;
    if (e.has_value() != answerable) __builtin_trap();
    if (!e) return 0;
    if (e->size() != kHeaderSize || (*e)[0] != in[0] || (*e)[1] != in[1]) __builtin_trap();
    if (at16(*e, 4) != 0 || at16(*e, 6) != 0) __builtin_trap();  // no question, no answers
    auto reparsed = parse_query(*e);
    if (reparsed.has_value() || reparsed.error().code != kErrResponse) __builtin_trap();
    if (build_error(*e, Rcode::FormErr).has_value()) __builtin_trap();  // never answer a response
    return 0;
}
