// The agent's DNS stub: a UDP server that answers the names of the apps the
// user is granted and refuses the others (split DNS for the company's app
// domains). The wire format is in dns_message.h; this is only the socket and
// the policy. Linux: one thread, poll() on the socket and a wake eventfd.
//
// What it answers, per name (lowercased, no trailing dot) as `lookup` says:
//   Granted -> NOERROR with its addresses of the asked family (A: IPv4,
//              AAAA: IPv6, ANY: both); none of that family -> NOERROR, no
//              answers (NODATA), so the client does not give up on the name.
//   Blocked -> REFUSED.
//   Unknown -> REFUSED as well. The stub serves only the company's app names:
//              the system resolver must send it only the queries of the apps'
//              domains (systemd-resolved: `resolvectl dns <link> <stub>` and
//              `resolvectl domain <link> ~apps.example.com`, a routing-only
//              domain), never all of the host's queries.
// Queries of a class other than IN or ANY -> REFUSED without a lookup. A
// packet parse_query refuses -> FORMERR (NOTIMP for another opcode) with its
// id, or nothing for a packet under 12 bytes or a response. UDP only; answers
// fit in 512 bytes (addresses beyond that are left out, TC stays 0). Replies
// echo the question in the client's own letter case (for resolvers that
// randomize it, "DNS 0x20"). No EDNS OPT record in replies: queries' OPT
// records are ignored, and the client sees a server without EDNS.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include <ztna/result.h>

namespace ztna::agent::dns {

struct Answer {
    enum class Kind { Granted, Blocked, Unknown } kind = Kind::Unknown;
    std::vector<std::string> addresses;  // textual IPv4/IPv6 host addresses; ones that do not parse are skipped
};

// Called from the stub's thread with the lowercased name, once per query:
// must be fast and thread-safe against whoever updates its table. An
// exception it throws is answered SERVFAIL.
using Lookup = std::function<Answer(const std::string& name)>;

class DnsStub {
public:
    // Every figure counts datagrams; each is bumped before the reply is sent.
    struct Counters {
        std::atomic<std::uint64_t> queries{0};    // datagrams received
        std::atomic<std::uint64_t> answered{0};   // NOERROR sent (granted names)
        std::atomic<std::uint64_t> refused{0};    // REFUSED sent (blocked, unknown, other class)
        std::atomic<std::uint64_t> malformed{0};  // refused by parse_query (answered FORMERR/NOTIMP or dropped)
        std::atomic<std::uint64_t> failed{0};     // SERVFAIL (lookup threw) or a reply the socket would not send
    };

    // Binds `address` (IPv4 or IPv6 literal) and `port` (0: any free port) and
    // starts the thread. `ttl` is the TTL of the answers, in seconds.
    static Result<std::unique_ptr<DnsStub>> start(const std::string& address, std::uint16_t port, Lookup lookup,
                                                  std::uint32_t ttl = 30);
    DnsStub(const DnsStub&) = delete;
    DnsStub& operator=(const DnsStub&) = delete;
    ~DnsStub();

    std::uint16_t port() const { return port_; }
    // Wakes the thread, joins it and closes the socket. Idempotent; call it
    // from the owner's thread, never from `lookup`.
    void stop();
    const Counters& counters() const { return counters_; }

private:
    DnsStub(int sock, int wake, std::uint16_t port, Lookup lookup, std::uint32_t ttl);
    void run();
    // The reply to one datagram, nullopt for none; counts it.
    std::optional<std::vector<std::uint8_t>> handle(std::span<const std::uint8_t> packet);

    int sock_;
    int wake_;
    std::uint16_t port_;
    Lookup lookup_;
    std::uint32_t ttl_;
    Counters counters_;
    std::thread thread_;
};

}  // namespace ztna::agent::dns
