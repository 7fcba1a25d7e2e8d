#include "dns_message.h"

#include <cstdio>

namespace ztna::agent::dns {

namespace {

std::uint16_t get16(std::span<const std::uint8_t> p, std::size_t at) {
    return static_cast<std::uint16_t>((p[at] << 8) | p[at + 1]);
}

void put16(std::vector<std::uint8_t>& out, std::uint16_t v) {
    out.push_back(static_cast<std::uint8_t>(v >> 8));
    out.push_back(static_cast<std::uint8_t>(v & 0xff));
}

void put32(std::vector<std::uint8_t>& out, std::uint32_t v) {
    put16(out, static_cast<std::uint16_t>(v >> 16));
    put16(out, static_cast<std::uint16_t>(v & 0xffff));
}

bool name_byte_allowed(std::uint8_t c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

std::string hex_byte(std::uint8_t c) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "0x%02x", c);
    return buf;
}

// "0x2a ('*')" for a printable byte, "0x00" otherwise.
std::string describe_byte(std::uint8_t c) {
    std::string s = hex_byte(c);
    if (c >= 0x21 && c <= 0x7e) s += std::string(" ('") + static_cast<char>(c) + "')";
    return s;
}

Unexpected<Error> refuse(const char* code, std::string message) { return fail(code, "DNS query refused: " + std::move(message)); }

// The wire form of a name (length-prefixed labels, final zero), or nullopt
// when it has an empty label, a label over 63 bytes or is over 255 bytes.
std::optional<std::vector<std::uint8_t>> encode_name(const std::string& name) {
    std::vector<std::uint8_t> wire;
    std::size_t start = 0;
    while (start < name.size()) {
        std::size_t end = name.find('.', start);
        if (end == std::string::npos) end = name.size();
        const std::size_t len = end - start;
        if (len == 0 || len > kMaxLabelLength) return std::nullopt;
        wire.push_back(static_cast<std::uint8_t>(len));
        wire.insert(wire.end(), name.begin() + static_cast<std::ptrdiff_t>(start), name.begin() + static_cast<std::ptrdiff_t>(end));
        if (end == name.size()) break;
        start = end + 1;
        if (start == name.size()) return std::nullopt;  // a trailing dot: an empty last label
    }
    wire.push_back(0);
    if (wire.size() > kMaxNameLength) return std::nullopt;
    return wire;
}

std::vector<std::uint8_t> header(std::uint16_t id, std::uint16_t flags, std::uint16_t qd, std::uint16_t an) {
    std::vector<std::uint8_t> out;
    out.reserve(kMaxUdpMessage);
    put16(out, id);
    put16(out, flags);
    put16(out, qd);
    put16(out, an);
    put16(out, 0);  // NSCOUNT
    put16(out, 0);  // ARCOUNT
    return out;
}

}  // namespace

Result<Query> parse_query(std::span<const std::uint8_t> packet) {
    if (packet.size() < kHeaderSize)
        return refuse(kErrShort, "packet of " + std::to_string(packet.size()) + " bytes is shorter than the 12-byte header");
    Query q{};
    q.id = get16(packet, 0);
    q.flags = get16(packet, 2);
    if (q.flags & kFlagQR) return refuse(kErrResponse, "the packet is a response (QR=1), not a query");
    const unsigned opcode = (q.flags & kOpcodeMask) >> 11;
    if (opcode != 0)
        return refuse(kErrOpcode, "opcode " + std::to_string(opcode) + " is not supported, only standard queries (opcode 0)");
    const std::uint16_t qdcount = get16(packet, 4);
    if (qdcount != 1)
        return refuse(kErrFormat, "QDCOUNT is " + std::to_string(qdcount) + ", a query must ask exactly one question");

    std::size_t at = kHeaderSize;
    std::size_t wire_length = 0;  // of the name so far, length bytes included
    while (true) {
        if (at >= packet.size())
            return refuse(kErrFormat, "the question is truncated: the name runs past the end of the " +
                                          std::to_string(packet.size()) + "-byte packet");
        const std::uint8_t len = packet[at];
        if (len == 0) break;
        if ((len & 0xc0) == 0xc0)
            return refuse(kErrFormat, "compression pointer (" + hex_byte(len) + ") at offset " + std::to_string(at) +
                                          " in the question; a question's name must be written out in full");
        if (len > kMaxLabelLength)
            return refuse(kErrFormat, "label at offset " + std::to_string(at) + " has length byte " + hex_byte(len) +
                                          ": labels are at most 63 bytes (extended label types are not supported)");
        wire_length += 1 + len;
        if (wire_length + 1 > kMaxNameLength)
            return refuse(kErrFormat, "the name in the question is longer than 255 bytes");
        if (at + 1 + len > packet.size())
            return refuse(kErrFormat, "the question is truncated: the label at offset " + std::to_string(at) +
                                          " needs " + std::to_string(len) + " bytes, the packet ends after " +
                                          std::to_string(packet.size() - at - 1));
        if (!q.name.empty()) q.name.push_back('.');
        for (std::size_t i = at + 1; i <= at + len; ++i) {
            const std::uint8_t c = packet[i];
            if (!name_byte_allowed(c))
                return refuse(kErrFormat, "byte " + describe_byte(c) + " at offset " + std::to_string(i) +
                                              " of the name is not a letter, digit, '-' or '_'");
            q.name.push_back(static_cast<char>((c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c));
        }
        at += 1 + len;
    }
    at += 1;  // the final zero
    if (packet.size() - at < 4)
        return refuse(kErrFormat, "the question is truncated: QTYPE and QCLASS need 4 bytes after the name, " +
                                      std::to_string(packet.size() - at) + " left");
    q.qtype = get16(packet, at);
    q.qclass = get16(packet, at + 2);
    return q;
}

std::vector<std::uint8_t> build_response(const Query& q, Rcode rcode, const std::vector<std::array<std::uint8_t, 4>>& a,
                                         const std::vector<std::array<std::uint8_t, 16>>& aaaa, std::uint32_t ttl) {
    const std::uint16_t base = static_cast<std::uint16_t>(kFlagQR | kFlagAA | (q.flags & kFlagRD));
    const auto name = encode_name(q.name);
    if (!name) return header(q.id, base | static_cast<std::uint16_t>(Rcode::ServFail), 0, 0);

    std::vector<std::uint8_t> out = header(q.id, base | static_cast<std::uint16_t>(rcode), 1, 0);
    out.insert(out.end(), name->begin(), name->end());
    put16(out, q.qtype);
    put16(out, q.qclass);

    const bool answering = rcode == Rcode::NoError && (q.qclass == kClassIN || q.qclass == kClassANY);
    const bool want_a = answering && (q.qtype == kTypeA || q.qtype == kTypeANY);
    const bool want_aaaa = answering && (q.qtype == kTypeAAAA || q.qtype == kTypeANY);
    std::uint16_t count = 0;
    // Each record: pointer to the question's name (offset 12), TYPE, CLASS, TTL, RDLENGTH, RDATA.
    auto add = [&](std::uint16_t type, const std::uint8_t* data, std::size_t n) {
        if (out.size() + 2 + 2 + 2 + 4 + 2 + n > kMaxUdpMessage) return false;
        put16(out, static_cast<std::uint16_t>(0xc000 | kHeaderSize));
        put16(out, type);
        put16(out, kClassIN);
        put32(out, ttl);
        put16(out, static_cast<std::uint16_t>(n));
        out.insert(out.end(), data, data + n);
        ++count;
        return true;
    };
    if (want_a)
        for (const auto& addr : a)
            if (!add(kTypeA, addr.data(), addr.size())) break;
    if (want_aaaa)
        for (const auto& addr : aaaa)
            if (!add(kTypeAAAA, addr.data(), addr.size())) break;
    out[6] = static_cast<std::uint8_t>(count >> 8);
    out[7] = static_cast<std::uint8_t>(count & 0xff);
    return out;
}

std::optional<std::vector<std::uint8_t>> build_error(std::span<const std::uint8_t> packet, Rcode rcode) {
    if (packet.size() < kHeaderSize) return std::nullopt;
    const std::uint16_t flags = get16(packet, 2);
    if (flags & kFlagQR) return std::nullopt;
    const std::uint16_t out_flags =
        static_cast<std::uint16_t>(kFlagQR | (flags & (kOpcodeMask | kFlagRD)) | static_cast<std::uint16_t>(rcode));
    return header(get16(packet, 0), out_flags, 0, 0);
}

}  // namespace ztna::agent::dns
