#include "tun_offload.h"

#include <cstring>

namespace ztna::tunnel::io {

namespace {
std::uint16_t be16(const std::uint8_t* p) { return std::uint16_t(p[0] << 8 | p[1]); }
std::uint32_t be32(const std::uint8_t* p) {
    return std::uint32_t(p[0]) << 24 | std::uint32_t(p[1]) << 16 | std::uint32_t(p[2]) << 8 | p[3];
}
void put16(std::uint8_t* p, std::uint16_t v) {
    p[0] = std::uint8_t(v >> 8);
    p[1] = std::uint8_t(v);
}
void put32(std::uint8_t* p, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) p[i] = std::uint8_t(v >> (24 - 8 * i));
}

constexpr std::uint8_t kProtoTcp = 6;
constexpr std::uint8_t kFin = 0x01, kPsh = 0x08, kAck = 0x10, kCwr = 0x80;

// Sum of the pseudo header for a transport segment of `len` bytes.
std::uint32_t pseudo_sum(const std::uint8_t* ip, bool v6, std::size_t len) {
    std::uint32_t s = v6 ? checksum_add(ip + 8, 32) : checksum_add(ip + 12, 8);
    s += kProtoTcp;
    s += std::uint32_t(len >> 16) + std::uint32_t(len & 0xffff);
    return s;
}

void ipv4_header_checksum(std::uint8_t* ip, std::size_t ihl) {
    put16(ip + 10, 0);
    put16(ip + 10, std::uint16_t(~checksum_fold(checksum_add(ip, ihl))));
}
}  // namespace

VnetHdr VnetHdr::load(const std::uint8_t* p) {
    VnetHdr h;
    h.flags = p[0];
    h.gso_type = p[1];
    std::memcpy(&h.hdr_len, p + 2, 2);
    std::memcpy(&h.gso_size, p + 4, 2);
    std::memcpy(&h.csum_start, p + 6, 2);
    std::memcpy(&h.csum_offset, p + 8, 2);
    return h;
}

void VnetHdr::store(std::uint8_t* p) const {
    p[0] = flags;
    p[1] = gso_type;
    std::memcpy(p + 2, &hdr_len, 2);
    std::memcpy(p + 4, &gso_size, 2);
    std::memcpy(p + 6, &csum_start, 2);
    std::memcpy(p + 8, &csum_offset, 2);
}

std::uint32_t checksum_add(const std::uint8_t* d, std::size_t n, std::uint32_t sum) {
    // The ones' complement sum folds the same whatever the word size: add
    // 32-bit big-endian words into 64 bits, fold at the end.
    std::uint64_t s = sum;
    while (n >= 4) {
        s += be32(d);
        d += 4;
        n -= 4;
    }
    if (n >= 2) {
        s += be16(d);
        d += 2;
        n -= 2;
    }
    if (n) s += std::uint32_t(d[0]) << 8;
    while (s >> 32) s = (s & 0xffffffff) + (s >> 32);
    return std::uint32_t(s);
}

std::uint16_t checksum_fold(std::uint32_t sum) {
    std::uint64_t s = sum;
    while (s >> 16) s = (s & 0xffff) + (s >> 16);
    return std::uint16_t(s);
}

bool complete_checksum(std::uint8_t* pkt, std::size_t n, const VnetHdr& h) {
    if (!(h.flags & VnetHdr::kNeedsCsum)) return true;
    const std::size_t start = h.csum_start, field = std::size_t(h.csum_start) + h.csum_offset;
    if (start >= n || field + 2 > n) return false;
    std::uint16_t c = std::uint16_t(~checksum_fold(checksum_add(pkt + start, n - start)));
    // A UDP checksum of zero means "none": send all ones instead.
    if (c == 0 && h.csum_offset == 6) c = 0xffff;
    put16(pkt + field, c);
    return true;
}

int split_gso(const std::uint8_t* pkt, std::size_t n, const VnetHdr& h, const SegmentBuffer& out,
              const SegmentDone& done) {
    if (n < 20) return -1;
    const bool v6 = (pkt[0] >> 4) == 6;
    if ((h.gso_type & 0x7f) != (v6 ? VnetHdr::kGsoTcpV6 : VnetHdr::kGsoTcpV4)) return -1;
    const std::size_t ip_hdr = h.csum_start;
    if (v6 ? ip_hdr < 40 : (ip_hdr != std::size_t(pkt[0] & 0x0f) * 4 || ip_hdr < 20)) return -1;
    if (ip_hdr + 20 > n) return -1;
    const std::size_t tcp_hdr = std::size_t(pkt[ip_hdr + 12] >> 4) * 4;
    const std::size_t hdr = ip_hdr + tcp_hdr;
    if (tcp_hdr < 20 || hdr > n || h.gso_size == 0) return -1;
    const std::size_t payload = n - hdr;
    const std::uint32_t seq = be32(pkt + ip_hdr + 4);
    const std::uint16_t id = v6 ? 0 : be16(pkt + 4);
    const std::uint8_t flags = pkt[ip_hdr + 13];
    int count = 0;
    for (std::size_t off = 0; off < payload || (payload == 0 && count == 0); off += h.gso_size) {
        const std::size_t seg = std::min<std::size_t>(h.gso_size, payload - off);
        const bool first = off == 0, last = off + seg >= payload;
        std::uint8_t* d = out(hdr + seg);
        if (!d) break;
        std::memcpy(d, pkt, hdr);
        std::memcpy(d + hdr, pkt + hdr + off, seg);
        if (v6) {
            put16(d + 4, std::uint16_t(hdr - 40 + seg));
        } else {
            put16(d + 2, std::uint16_t(hdr + seg));
            put16(d + 4, std::uint16_t(id + count));
            ipv4_header_checksum(d, ip_hdr);
        }
        std::uint8_t* tcp = d + ip_hdr;
        put32(tcp + 4, seq + std::uint32_t(off));
        std::uint8_t f = flags;
        if (!last) f &= std::uint8_t(~(kFin | kPsh));
        if (!first) f &= std::uint8_t(~kCwr);
        tcp[13] = f;
        put16(tcp + 16, 0);
        const std::uint32_t sum = checksum_add(tcp, tcp_hdr + seg, pseudo_sum(d, v6, tcp_hdr + seg));
        put16(tcp + 16, std::uint16_t(~checksum_fold(sum)));
        done(hdr + seg);
        ++count;
        if (payload == 0) break;
    }
    return count;
}

TcpCoalescer::TcpCoalescer() : flows_(kMaxFlows) {}

void TcpCoalescer::emit(Flow& f, const Writer& write) {
    if (!f.active) return;
    std::uint8_t* p = f.buf.data() + VnetHdr::kSize;
    VnetHdr h;
    if (f.segments > 1) {
        if (f.v6) {
            put16(p + 4, std::uint16_t(f.len - 40));
        } else {
            put16(p + 2, std::uint16_t(f.len));
            ipv4_header_checksum(p, f.ip_hdr);
        }
        // The kernel finishes the checksum: leave the pseudo-header sum in the field.
        put16(p + f.ip_hdr + 16, checksum_fold(pseudo_sum(p, f.v6, f.len - f.ip_hdr)));
        h.flags = VnetHdr::kNeedsCsum;
        h.gso_type = f.v6 ? VnetHdr::kGsoTcpV6 : VnetHdr::kGsoTcpV4;
        h.hdr_len = std::uint16_t(f.hdr);
        h.gso_size = f.mss;
        h.csum_start = std::uint16_t(f.ip_hdr);
        h.csum_offset = 16;
    }
    h.store(f.buf.data());
    write(f.buf.data(), VnetHdr::kSize + f.len);
    f.active = false;
}

void TcpCoalescer::add(std::uint8_t* pkt, std::size_t n, const Writer& write) {
    auto pass_through = [&] {
        flush(write);  // keep the order of packets within a flow
        VnetHdr{}.store(pkt - VnetHdr::kSize);
        write(pkt - VnetHdr::kSize, n + VnetHdr::kSize);
    };
    // Eligible: IPv4 without options or fragments, or IPv6 without extension
    // headers; TCP with payload, flags ACK or ACK|PSH.
    if (n < 40) return pass_through();
    const bool v6 = (pkt[0] >> 4) == 6;
    std::size_t ip_hdr;
    if (v6) {
        if (n < 60 || pkt[6] != kProtoTcp) return pass_through();
        ip_hdr = 40;
    } else {
        if ((pkt[0] >> 4) != 4 || pkt[0] != 0x45 || pkt[9] != kProtoTcp || (be16(pkt + 6) & 0x3fff) != 0)
            return pass_through();
        ip_hdr = 20;
    }
    const std::uint8_t* tcp = pkt + ip_hdr;
    const std::size_t tcp_hdr = std::size_t(tcp[12] >> 4) * 4;
    const std::size_t hdr = ip_hdr + tcp_hdr;
    const std::uint8_t flags = tcp[13];
    if (tcp_hdr < 20 || hdr >= n || (flags & ~kPsh) != kAck) return pass_through();
    const std::size_t payload = n - hdr;
    const std::uint32_t seq = be32(tcp + 4);

    // A segment whose checksum is wrong must reach the kernel as it is, to be
    // dropped there: merging would give it a fresh, valid checksum.
    if (checksum_fold(checksum_add(tcp, n - ip_hdr, pseudo_sum(pkt, v6, n - ip_hdr))) != 0xffff) return pass_through();

    // The same flow (addresses and ports): merge if the segment continues it,
    // with the same ACK, window, options and IP header fields; else write the
    // flow out first so segments of one flow never pass each other.
    for (auto& f : flows_) {
        if (!f.active || f.v6 != v6) continue;
        const std::uint8_t* h = f.buf.data() + VnetHdr::kSize;
        const bool same_addrs = v6 ? std::memcmp(h + 8, pkt + 8, 32) == 0 : std::memcmp(h + 12, pkt + 12, 8) == 0;
        if (!same_addrs || std::memcmp(h + ip_hdr, tcp, 4) != 0) continue;
        const bool same_rest =
            f.hdr == hdr && std::memcmp(h + ip_hdr + 8, tcp + 8, 5) == 0 &&  // ack, data offset
            std::memcmp(h + ip_hdr + 14, tcp + 14, 2) == 0 &&                 // window
            std::memcmp(h + ip_hdr + 18, tcp + 18, tcp_hdr - 18) == 0 &&      // urgent pointer, options
            (v6 ? std::memcmp(h, pkt, 4) == 0                                   // traffic class, flow label
                : h[1] == pkt[1] && h[8] == pkt[8] && (h[6] & 0xe0) == (pkt[6] & 0xe0));  // TOS/ECN, TTL, DF
        if (same_rest && seq == f.next_seq && !f.last_short && payload <= f.mss && f.len + payload <= kMaxSize &&
            !(h[ip_hdr + 13] & kPsh)) {
            std::memcpy(f.buf.data() + VnetHdr::kSize + f.len, pkt + hdr, payload);
            f.len += payload;
            f.next_seq += std::uint32_t(payload);
            f.buf.data()[VnetHdr::kSize + ip_hdr + 13] |= flags & kPsh;
            f.last_short = payload < f.mss;
            ++f.segments;
            return;
        }
        emit(f, write);
        break;
    }
    // Start a flow in a free slot (or make one by flushing the first).
    Flow* slot = nullptr;
    for (auto& f : flows_)
        if (!f.active) {
            slot = &f;
            break;
        }
    if (!slot) {
        slot = &flows_[0];
        emit(*slot, write);
    }
    std::memcpy(slot->buf.data() + VnetHdr::kSize, pkt, n);
    slot->len = n;
    slot->hdr = hdr;
    slot->ip_hdr = ip_hdr;
    slot->mss = std::uint16_t(payload);
    slot->next_seq = seq + std::uint32_t(payload);
    slot->segments = 1;
    slot->v6 = v6;
    slot->active = true;
    slot->last_short = false;
}

void TcpCoalescer::flush(const Writer& write) {
    for (auto& f : flows_) emit(f, write);
}

}  // namespace ztna::tunnel::io
