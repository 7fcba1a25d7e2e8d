// TUN offloads, as pure functions on bytes (no file descriptors), so they are
// unit-tested without privileges:
//  - on read, the kernel may hand over one TCP "super-packet" of up to 64 KiB
//    (virtio-net header with GSO) or a packet whose checksum is left to us;
//    split_gso() cuts it into MTU-sized segments with correct headers and
//    checksums, complete_checksum() finishes a partial checksum;
//  - on write, TcpCoalescer merges consecutive segments of one TCP flow into
//    one super-packet the kernel accepts whole (GRO), so the receiving stack
//    and the TUN write path run once per 64 KiB instead of once per packet.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "buffer.h"

namespace ztna::tunnel::io {

// struct virtio_net_hdr (linux/virtio_net.h), host byte order on little-endian hosts.
struct VnetHdr {
    static constexpr std::size_t kSize = 10;
    static constexpr std::uint8_t kNeedsCsum = 1;
    static constexpr std::uint8_t kGsoNone = 0, kGsoTcpV4 = 1, kGsoTcpV6 = 4;
    std::uint8_t flags = 0;
    std::uint8_t gso_type = kGsoNone;
    std::uint16_t hdr_len = 0;
    std::uint16_t gso_size = 0;
    std::uint16_t csum_start = 0;
    std::uint16_t csum_offset = 0;

    static VnetHdr load(const std::uint8_t* p);
    void store(std::uint8_t* p) const;
};

// Internet checksum helpers.
std::uint32_t checksum_add(const std::uint8_t* data, std::size_t n, std::uint32_t sum = 0);
std::uint16_t checksum_fold(std::uint32_t sum);

// Finishes a CHECKSUM_PARTIAL packet in place. False if the offsets are out of bounds.
bool complete_checksum(std::uint8_t* pkt, std::size_t n, const VnetHdr& h);

// Cuts a TCP GSO packet into segments of at most h.gso_size payload bytes.
// For each segment, out(size) returns a buffer of at least `size` bytes to
// write it to (or nullptr to stop), and done(size) is called once it is
// written. Returns the number of segments, or -1 if the packet is not a
// well-formed TCP GSO packet.
using SegmentBuffer = std::function<std::uint8_t*(std::size_t)>;
using SegmentDone = std::function<void(std::size_t)>;
int split_gso(const std::uint8_t* pkt, std::size_t n, const VnetHdr& h, const SegmentBuffer& out,
              const SegmentDone& done);

// Merges TCP segments that continue each other (same flow, next sequence
// number, same ACK/window/options, plain ACK or PSH flags) into super-packets.
class TcpCoalescer {
public:
    using Writer = std::function<void(const std::uint8_t* with_vnet_hdr, std::size_t n)>;
    static constexpr std::size_t kMaxFlows = 8;
    static constexpr std::size_t kMaxSize = 65535;

    TcpCoalescer();
    // pkt has VnetHdr::kSize writable bytes in front of it (headroom), which
    // lets a packet that is not merged be written in place.
    void add(std::uint8_t* pkt, std::size_t n, const Writer& write);
    // Writes out everything held.
    void flush(const Writer& write);

private:
    struct Flow {
        Buffer buf{VnetHdr::kSize + kMaxSize};  // vnet header + merged packet
        std::size_t len = 0;            // bytes of packet (without vnet header)
        std::size_t hdr = 0;            // IP + TCP header bytes
        std::size_t ip_hdr = 0;
        std::uint16_t mss = 0;
        std::uint32_t next_seq = 0;
        int segments = 0;
        bool v6 = false;
        bool active = false;
        bool last_short = false;  // a segment shorter than mss ends the run
    };
    void emit(Flow& f, const Writer& write);
    std::vector<Flow> flows_;
};

}  // namespace ztna::tunnel::io
