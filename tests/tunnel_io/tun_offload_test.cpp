#include <doctest/doctest.h>

#include <cstring>
#include <vector>

#include "tun_offload.h"

using namespace ztna::tunnel::io;

namespace {
std::uint16_t be16(const std::uint8_t* p) { return std::uint16_t(p[0] << 8 | p[1]); }
std::uint32_t be32(const std::uint8_t* p) { return std::uint32_t(be16(p)) << 16 | be16(p + 2); }

// A TCP/IPv4 packet with `payload` bytes of a counting pattern starting at seq.
std::vector<std::uint8_t> tcp4(std::size_t payload, std::uint32_t seq, std::uint8_t flags = 0x10,
                               std::uint8_t fill_from = 0) {
    std::vector<std::uint8_t> p(40 + payload);
    p[0] = 0x45;
    p[2] = std::uint8_t(p.size() >> 8);
    p[3] = std::uint8_t(p.size());
    p[6] = 0x40;  // DF
    p[8] = 64;
    p[9] = 6;
    const std::uint8_t src[] = {10, 0, 0, 1}, dst[] = {10, 0, 0, 2};
    std::memcpy(&p[12], src, 4);
    std::memcpy(&p[16], dst, 4);
    p[20] = 0x1f;  // port 8080 -> 443
    p[21] = 0x90;
    p[22] = 0x01;
    p[23] = 0xbb;
    for (int i = 0; i < 4; ++i) p[24 + i] = std::uint8_t(seq >> (24 - 8 * i));
    p[28 + 3] = 7;  // ack
    p[32] = 0x50;   // data offset 5
    p[33] = flags;
    p[34] = 0xff;  // window
    for (std::size_t i = 0; i < payload; ++i) p[40 + i] = std::uint8_t(fill_from + i);
    // Valid IPv4 and TCP checksums, as a real sender's.
    const std::uint16_t ipc = std::uint16_t(~checksum_fold(checksum_add(p.data(), 20)));
    p[10] = std::uint8_t(ipc >> 8);
    p[11] = std::uint8_t(ipc);
    std::uint32_t s = checksum_add(&p[12], 8) + 6 + std::uint32_t(p.size() - 20);
    const std::uint16_t tc = std::uint16_t(~checksum_fold(checksum_add(&p[20], p.size() - 20, s)));
    p[36] = std::uint8_t(tc >> 8);
    p[37] = std::uint8_t(tc);
    return p;
}

// Independent checksum verification: the sum over header / pseudo header must fold to 0xffff.
bool ipv4_header_ok(const std::uint8_t* p) { return checksum_fold(checksum_add(p, 20)) == 0xffff; }
bool tcp4_checksum_ok(const std::uint8_t* p, std::size_t n) {
    std::uint32_t s = checksum_add(p + 12, 8);
    s += 6 + std::uint32_t(n - 20);
    return checksum_fold(checksum_add(p + 20, n - 20, s)) == 0xffff;
}
}  // namespace

TEST_CASE("checksum of a known IPv4 header") {
    // Example header from RFC 1071 discussions: 4500 0073 0000 4000 4011 b861 c0a8 0001 c0a8 00c7
    const std::uint8_t h[] = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
                              0xb8, 0x61, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};
    CHECK(checksum_fold(checksum_add(h, sizeof h)) == 0xffff);
    std::uint8_t z[20];
    std::memcpy(z, h, 20);
    z[10] = z[11] = 0;
    CHECK(std::uint16_t(~checksum_fold(checksum_add(z, 20))) == 0xb861);
}

TEST_CASE("a TSO super-packet is cut into MSS segments with correct headers and checksums") {
    const std::size_t mss = 1000, payload = 3500;
    auto big = tcp4(payload, 1'000'000, 0x18 /* ACK|PSH */);
    VnetHdr h;
    h.flags = VnetHdr::kNeedsCsum;
    h.gso_type = VnetHdr::kGsoTcpV4;
    h.hdr_len = 40;
    h.gso_size = mss;
    h.csum_start = 20;
    h.csum_offset = 16;
    std::vector<std::vector<std::uint8_t>> segs;
    std::vector<std::uint8_t> buf(2000);
    const int n = split_gso(
        big.data(), big.size(), h, [&](std::size_t) { return buf.data(); },
        [&](std::size_t len) { segs.emplace_back(buf.begin(), buf.begin() + long(len)); });
    REQUIRE(n == 4);
    REQUIRE(segs.size() == 4);
    std::size_t off = 0;
    for (std::size_t i = 0; i < segs.size(); ++i) {
        const auto& s = segs[i];
        const std::size_t len = std::min(mss, payload - off);
        CAPTURE(i);
        CHECK(s.size() == 40 + len);
        CHECK(be16(&s[2]) == 40 + len);
        CHECK(be16(&s[4]) == i);  // IP id increments
        CHECK(ipv4_header_ok(s.data()));
        CHECK(tcp4_checksum_ok(s.data(), s.size()));
        CHECK(be32(&s[24]) == 1'000'000 + off);
        CHECK((s[33] & 0x08) == (i == 3 ? 0x08 : 0));  // PSH only on the last
        CHECK(std::memcmp(&s[40], &big[40 + off], len) == 0);
        off += len;
    }
}

TEST_CASE("malformed GSO requests are refused, not trusted") {
    auto big = tcp4(3000, 1);
    VnetHdr h;
    h.gso_type = VnetHdr::kGsoTcpV4;
    h.gso_size = 1000;
    h.csum_start = 24;  // does not match the IPv4 header length
    std::vector<std::uint8_t> buf(2000);
    auto out = [&](std::size_t) { return buf.data(); };
    auto done = [](std::size_t) {};
    CHECK(split_gso(big.data(), big.size(), h, out, done) == -1);
    h.csum_start = 20;
    h.gso_size = 0;
    CHECK(split_gso(big.data(), big.size(), h, out, done) == -1);
    h.gso_size = 1000;
    CHECK(split_gso(big.data(), 30, h, out, done) == -1);  // truncated TCP header
    h.gso_type = VnetHdr::kGsoTcpV6;                       // IPv4 packet claimed as IPv6
    CHECK(split_gso(big.data(), big.size(), h, out, done) == -1);
}

TEST_CASE("a partial checksum is completed") {
    auto p = tcp4(100, 5);
    // Put the pseudo-header sum in the field, as the kernel does for CHECKSUM_PARTIAL.
    std::uint32_t s = checksum_add(&p[12], 8) + 6 + std::uint32_t(p.size() - 20);
    const std::uint16_t partial = checksum_fold(s);
    p[36] = std::uint8_t(partial >> 8);
    p[37] = std::uint8_t(partial);
    VnetHdr h;
    h.flags = VnetHdr::kNeedsCsum;
    h.csum_start = 20;
    h.csum_offset = 16;
    REQUIRE(complete_checksum(p.data(), p.size(), h));
    CHECK(tcp4_checksum_ok(p.data(), p.size()));
    h.csum_start = 200;
    CHECK_FALSE(complete_checksum(p.data(), p.size(), h));
}

TEST_CASE("consecutive segments of one flow are merged into one GSO packet; others pass through in order") {
    TcpCoalescer gro;
    std::vector<std::vector<std::uint8_t>> written;
    const TcpCoalescer::Writer w = [&](const std::uint8_t* p, std::size_t n) { written.emplace_back(p, p + n); };
    auto add = [&](std::vector<std::uint8_t> pkt) {
        std::vector<std::uint8_t> room(VnetHdr::kSize);
        room.insert(room.end(), pkt.begin(), pkt.end());
        gro.add(room.data() + VnetHdr::kSize, pkt.size(), w);
    };
    add(tcp4(1000, 100, 0x10, 0));
    add(tcp4(1000, 1100, 0x10, 232));
    add(tcp4(500, 2100, 0x18, 208));  // short and PSH: ends the run
    CHECK(written.empty());
    add(tcp4(1000, 2600, 0x10));  // continues but after a short segment: new run
    gro.flush(w);
    REQUIRE(written.size() == 2);
    const auto& m = written[0];
    const VnetHdr h = VnetHdr::load(m.data());
    CHECK(h.gso_type == VnetHdr::kGsoTcpV4);
    CHECK(h.gso_size == 1000);
    CHECK(h.csum_start == 20);
    CHECK(h.csum_offset == 16);
    CHECK(h.hdr_len == 40);
    const std::uint8_t* ip = m.data() + VnetHdr::kSize;
    CHECK(be16(ip + 2) == 40 + 2500);
    CHECK(ipv4_header_ok(ip));
    CHECK((ip[33] & 0x08) == 0x08);  // PSH carried over
    for (std::size_t i = 0; i < 2500; ++i) REQUIRE(ip[40 + i] == std::uint8_t(i));
    // The split of the merged packet gives back valid segments (what the kernel would do).
    std::vector<std::uint8_t> copy(ip, ip + 2540);
    // Finish the checksum as the kernel's GSO would: segments computed from scratch.
    std::vector<std::uint8_t> buf(2000);
    int ok = 0;
    split_gso(
        copy.data(), copy.size(), h, [&](std::size_t) { return buf.data(); },
        [&](std::size_t len) { ok += tcp4_checksum_ok(buf.data(), len) ? 1 : 0; });
    CHECK(ok == 3);
    CHECK(VnetHdr::load(written[1].data()).gso_type == VnetHdr::kGsoNone);
}

TEST_CASE("packets that cannot be merged are written at once with an empty header") {
    TcpCoalescer gro;
    std::vector<std::vector<std::uint8_t>> written;
    const TcpCoalescer::Writer w = [&](const std::uint8_t* p, std::size_t n) { written.emplace_back(p, p + n); };
    std::vector<std::uint8_t> room(VnetHdr::kSize + 60, 0xee);
    auto udp = tcp4(20, 1);
    udp[9] = 17;
    std::memcpy(room.data() + VnetHdr::kSize, udp.data(), udp.size());
    gro.add(room.data() + VnetHdr::kSize, udp.size(), w);
    REQUIRE(written.size() == 1);
    CHECK(written[0].size() == VnetHdr::kSize + udp.size());
    for (std::size_t i = 0; i < VnetHdr::kSize; ++i) CHECK(written[0][i] == 0);
}

namespace {
struct Collector {
    TcpCoalescer gro;
    std::vector<std::vector<std::uint8_t>> written;
    TcpCoalescer::Writer w = [this](const std::uint8_t* p, std::size_t n) { written.emplace_back(p, p + n); };
    void add(const std::vector<std::uint8_t>& pkt) {
        std::vector<std::uint8_t> room(VnetHdr::kSize);
        room.insert(room.end(), pkt.begin(), pkt.end());
        gro.add(room.data() + VnetHdr::kSize, pkt.size(), w);
    }
    std::uint32_t seq_of(std::size_t i) const { return be32(written[i].data() + VnetHdr::kSize + 24); }
};
}  // namespace

TEST_CASE("a segment with a bad TCP checksum is never merged (the kernel must see and drop it)") {
    Collector c;
    c.add(tcp4(1000, 100));
    auto bad = tcp4(1000, 1100);
    bad[45] ^= 0xff;  // payload corrupted after the checksum was computed
    c.add(bad);
    c.gro.flush(c.w);
    REQUIRE(c.written.size() == 2);
    CHECK(VnetHdr::load(c.written[0].data()).gso_type == VnetHdr::kGsoNone);
    CHECK(VnetHdr::load(c.written[1].data()).gso_type == VnetHdr::kGsoNone);
    CHECK_FALSE(tcp4_checksum_ok(c.written[1].data() + VnetHdr::kSize, bad.size()));  // left as it came
}

TEST_CASE("segments with different ECN marks are not merged (the congestion signal survives)") {
    Collector c;
    c.add(tcp4(1000, 100));
    auto ce = tcp4(1000, 1100);
    ce[1] = 0x03;  // CE
    const std::uint16_t ipc = std::uint16_t(~checksum_fold(checksum_add(ce.data(), 10) + checksum_add(ce.data() + 12, 8)));
    ce[10] = std::uint8_t(ipc >> 8);
    ce[11] = std::uint8_t(ipc);
    c.add(ce);
    c.gro.flush(c.w);
    REQUIRE(c.written.size() == 2);
    CHECK(c.written[1][VnetHdr::kSize + 1] == 0x03);
}

TEST_CASE("a segment of the same flow with other TCP options does not overtake the held ones") {
    Collector c;
    c.add(tcp4(1000, 100));
    c.add(tcp4(1000, 1100));
    // Fill the other flow slots so a new flow would take slot 0 if matched wrongly.
    auto opt = tcp4(1000, 2100);
    opt.insert(opt.begin() + 40, {1, 1, 1, 1});  // 4 bytes of NOP options: header 24 bytes
    opt[32] = 0x60;
    opt[2] = std::uint8_t(opt.size() >> 8);
    opt[3] = std::uint8_t(opt.size());
    opt[10] = opt[11] = 0;
    const std::uint16_t ipc = std::uint16_t(~checksum_fold(checksum_add(opt.data(), 20)));
    opt[10] = std::uint8_t(ipc >> 8);
    opt[11] = std::uint8_t(ipc);
    opt[36] = opt[37] = 0;
    std::uint32_t s = checksum_add(&opt[12], 8) + 6 + std::uint32_t(opt.size() - 20);
    const std::uint16_t tc = std::uint16_t(~checksum_fold(checksum_add(&opt[20], opt.size() - 20, s)));
    opt[36] = std::uint8_t(tc >> 8);
    opt[37] = std::uint8_t(tc);
    c.add(opt);
    c.gro.flush(c.w);
    REQUIRE(c.written.size() == 2);
    CHECK(c.seq_of(0) == 100);   // the merged pair first
    CHECK(c.seq_of(1) == 2100);  // then the segment with options
}
