// The DNS codec of the agent's stub resolver (RFC 1035 section 4): parses one
// query and builds its response. Sans-I/O: bytes in, bytes out, no sockets and
// no clock, so it can be fuzzed on its own (tests/fuzz/fuzz_dns.cpp). The UDP
// server around it is dns_stub.h.
//
// Only what a stub for the company's app names needs: one question per query,
// names of letters, digits, '-' and '_' (no compression pointers in the
// question), A and AAAA answers of class IN, UDP answers of at most 512 bytes.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <ztna/result.h>

namespace ztna::agent::dns {

// Constants of the specification (RFC 1035, RFC 3596 for AAAA, RFC 6891 for OPT).
inline constexpr std::size_t kHeaderSize = 12;
inline constexpr std::size_t kMaxLabelLength = 63;     // RFC 1035 2.3.4
inline constexpr std::size_t kMaxNameLength = 255;     // wire form, length bytes and final zero included
inline constexpr std::size_t kMaxUdpMessage = 512;     // RFC 1035 4.2.1, without EDNS
inline constexpr std::uint16_t kTypeA = 1;
inline constexpr std::uint16_t kTypeAAAA = 28;
inline constexpr std::uint16_t kTypeOPT = 41;
inline constexpr std::uint16_t kTypeANY = 255;
inline constexpr std::uint16_t kClassIN = 1;
inline constexpr std::uint16_t kClassANY = 255;

// Header flag bits (the 16-bit word after the id).
inline constexpr std::uint16_t kFlagQR = 0x8000;
inline constexpr std::uint16_t kOpcodeMask = 0x7800;
inline constexpr std::uint16_t kFlagAA = 0x0400;
inline constexpr std::uint16_t kFlagTC = 0x0200;
inline constexpr std::uint16_t kFlagRD = 0x0100;
inline constexpr std::uint16_t kFlagRA = 0x0080;
inline constexpr std::uint16_t kRcodeMask = 0x000f;

struct Query {
    std::uint16_t id;
    std::uint16_t flags;  // the query's whole flags word
    std::string name;     // lowercased, no trailing dot; "" for the root
    std::uint16_t qtype;
    std::uint16_t qclass;
};

// Error::code of a refusal of parse_query, for callers that answer differently:
inline constexpr char kErrShort[] = "short";              // under 12 bytes: no id to answer
inline constexpr char kErrResponse[] = "response";        // QR=1: never answered
inline constexpr char kErrOpcode[] = "opcode";            // answer NOTIMP
inline constexpr char kErrFormat[] = "format";            // anything else: answer FORMERR

// Accepts a standard query: QR=0, OPCODE=0, QDCOUNT=1. The answer, authority
// and additional counts and whatever follows the question (an EDNS OPT record,
// for instance) are ignored. Refuses, saying why and where: a packet shorter
// than a header, a response, another opcode, QDCOUNT other than 1, a
// compression pointer or reserved label type in the question, a label over 63
// bytes, a name over 255 bytes, a question cut short, a name byte that is not
// a letter, digit, '-' or '_'. Never reads outside `packet`.
Result<Query> parse_query(std::span<const std::uint8_t> packet);

enum class Rcode : std::uint8_t { NoError = 0, FormErr = 1, ServFail = 2, NxDomain = 3, NotImp = 4, Refused = 5 };

// The response to `q`: same id, QR=1, AA=1, RD copied, RA=0, TC=0, the
// question echoed (its name as in `q`, so lowercased). With NoError and a
// query of class IN or ANY, the answers are the records of the asked type:
// A -> `a`, AAAA -> `aaaa`, ANY -> both (A first); any other type gets none
// (NODATA). Another rcode carries no answers. Answer names are a compression
// pointer to the question. Answers are capped to what fits in 512 bytes (TC
// stays 0: the client gets fewer addresses, not a retry over TCP). A name
// parse_query would not have produced (an empty label, a label over 63 bytes,
// over 255 bytes in all) gets a header-only SERVFAIL.
std::vector<std::uint8_t> build_response(const Query& q, Rcode rcode, const std::vector<std::array<std::uint8_t, 4>>& a,
                                         const std::vector<std::array<std::uint8_t, 16>>& aaaa, std::uint32_t ttl);

// For a packet parse_query refused: a header-only response (no question) with
// the packet's id, opcode and RD, so the client gets FORMERR or NOTIMP instead
// of a timeout. nullopt for a packet under 12 bytes or one that is itself a
// response (responses are never answered: no reflection loops).
std::optional<std::vector<std::uint8_t>> build_error(std::span<const std::uint8_t> packet, Rcode rcode);

}  // namespace ztna::agent::dns
