// agent/dns: the codec (known-answer vectors, every refusal) and the UDP stub
// on 127.0.0.1 (round trips with a lookup table, malformed input, stop).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <doctest/doctest.h>

#include "dns_message.h"
#include "dns_stub.h"

using namespace ztna::agent::dns;
using Bytes = std::vector<std::uint8_t>;

namespace {

void put16(Bytes& b, std::uint16_t v) {
    b.push_back(static_cast<std::uint8_t>(v >> 8));
    b.push_back(static_cast<std::uint8_t>(v & 0xff));
}

// A header with the given counts (NSCOUNT and ANCOUNT 0 unless set after).
Bytes header(std::uint16_t id, std::uint16_t flags, std::uint16_t qdcount, std::uint16_t arcount = 0) {
    Bytes b;
    put16(b, id);
    put16(b, flags);
    put16(b, qdcount);
    put16(b, 0);
    put16(b, 0);
    put16(b, arcount);
    return b;
}

// Appends a name's labels as written (no checks: tests write bad ones too).
void put_name(Bytes& b, std::string_view dotted) {
    while (!dotted.empty()) {
        const auto dot = dotted.find('.');
        const auto label = dotted.substr(0, dot);
        b.push_back(static_cast<std::uint8_t>(label.size()));
        b.insert(b.end(), label.begin(), label.end());
        if (dot == std::string_view::npos) break;
        dotted.remove_prefix(dot + 1);
    }
    b.push_back(0);
}

Bytes query(std::uint16_t id, std::string_view name, std::uint16_t qtype, std::uint16_t flags = kFlagRD,
            std::uint16_t qclass = kClassIN) {
    Bytes b = header(id, flags, 1);
    put_name(b, name);
    put16(b, qtype);
    put16(b, qclass);
    return b;
}

std::uint16_t at16(const Bytes& b, std::size_t i) { return static_cast<std::uint16_t>((b[i] << 8) | b[i + 1]); }

// The refusal's message, after checking it is one and has `code`.
std::string refusal(const Bytes& packet, const char* code) {
    auto r = parse_query(packet);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == code);
    return r.error().message;
}

bool contains(const std::string& s, std::string_view part) { return s.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("parse_query: a standard A query") {
    const Bytes q = query(0x1234, "app.corp.example", kTypeA);
    auto r = parse_query(q);
    REQUIRE(r.has_value());
    CHECK(r->id == 0x1234);
    CHECK(r->flags == 0x0100);
    CHECK(r->name == "app.corp.example");
    CHECK(r->qtype == kTypeA);
    CHECK(r->qclass == kClassIN);
}

TEST_CASE("parse_query: names are lowercased, '_' and '-' and digits allowed, the root is empty") {
    auto r = parse_query(query(1, "WwW.ExAmPlE.CoM", kTypeA));
    REQUIRE(r.has_value());
    CHECK(r->name == "www.example.com");
    r = parse_query(query(2, "_LDAP._tcp.Dc-01.corp", 33));
    REQUIRE(r.has_value());
    CHECK(r->name == "_ldap._tcp.dc-01.corp");
    CHECK(r->qtype == 33);
    r = parse_query(query(3, "", 2));
    REQUIRE(r.has_value());
    CHECK(r->name == "");
}

TEST_CASE("parse_query: an EDNS OPT record in the additional section is accepted") {
    Bytes q = header(0xbeef, kFlagRD, 1, /*arcount=*/1);
    put_name(q, "app.corp.example");
    put16(q, kTypeAAAA);
    put16(q, kClassIN);
    // OPT: root name, TYPE 41, CLASS = UDP payload size 4096, TTL = ext-rcode/version/DO, RDLENGTH 0.
    const Bytes opt = {0x00, 0x00, 0x29, 0x10, 0x00, 0x00, 0x00, 0x80, 0x00, 0x00, 0x00};
    q.insert(q.end(), opt.begin(), opt.end());
    auto r = parse_query(q);
    REQUIRE(r.has_value());
    CHECK(r->name == "app.corp.example");
    CHECK(r->qtype == kTypeAAAA);
}

TEST_CASE("parse_query: refusals say what and where") {
    SUBCASE("shorter than a header") {
        const Bytes q = {0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00};
        const auto m = refusal(q, kErrShort);
        CHECK(contains(m, "11 bytes"));
        CHECK(contains(m, "12-byte header"));
        CHECK(contains(refusal({}, kErrShort), "0 bytes"));
    }
    SUBCASE("a response") {
        CHECK(contains(refusal(query(1, "a.b", kTypeA, kFlagQR | kFlagRD), kErrResponse), "response (QR=1)"));
    }
    SUBCASE("another opcode") {
        CHECK(contains(refusal(query(1, "a.b", kTypeA, 5 << 11), kErrOpcode), "opcode 5 is not supported"));
        CHECK(contains(refusal(query(1, "a.b", kTypeA, 2 << 11), kErrOpcode), "opcode 2"));
    }
    SUBCASE("QDCOUNT other than 1") {
        Bytes q = header(1, 0, 0);
        CHECK(contains(refusal(q, kErrFormat), "QDCOUNT is 0"));
        q = query(1, "a.b", kTypeA);
        q[5] = 2;
        CHECK(contains(refusal(q, kErrFormat), "QDCOUNT is 2"));
    }
    SUBCASE("a compression pointer to itself (a loop) at the start of the name") {
        Bytes q = header(1, 0, 1);
        q.insert(q.end(), {0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01});
        const auto m = refusal(q, kErrFormat);
        CHECK(contains(m, "compression pointer (0xc0) at offset 12"));
    }
    SUBCASE("a compression pointer after a label, pointing back at it") {
        Bytes q = header(1, 0, 1);
        q.insert(q.end(), {0x03, 'a', 'p', 'p', 0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01});
        CHECK(contains(refusal(q, kErrFormat), "compression pointer (0xc0) at offset 16"));
    }
    SUBCASE("a label over 63 bytes") {
        const auto m = refusal(query(1, std::string(64, 'a') + ".corp", kTypeA), kErrFormat);
        CHECK(contains(m, "label at offset 12 has length byte 0x40"));
        CHECK(contains(m, "at most 63"));
        CHECK(parse_query(query(1, std::string(63, 'a') + ".corp", kTypeA)).has_value());
    }
    SUBCASE("a name over 255 bytes") {
        const std::string l63(63, 'a');
        // 3 * 64 + 1 + 61 + final zero = 255: the longest name.
        auto ok = parse_query(query(1, l63 + "." + l63 + "." + l63 + "." + std::string(61, 'b'), kTypeA));
        REQUIRE(ok.has_value());
        CHECK(ok->name.size() == 253);
        const auto m = refusal(query(1, l63 + "." + l63 + "." + l63 + "." + std::string(62, 'b'), kTypeA), kErrFormat);
        CHECK(contains(m, "longer than 255 bytes"));
    }
    SUBCASE("a truncated question") {
        const Bytes full = query(1, "app.corp", kTypeA);
        // Cut inside the first label, before the final zero, and inside QTYPE/QCLASS.
        CHECK(contains(refusal(Bytes(full.begin(), full.begin() + 14), kErrFormat),
                       "label at offset 12 needs 3 bytes, the packet ends after 1"));
        CHECK(contains(refusal(Bytes(full.begin(), full.begin() + 21), kErrFormat), "name runs past the end"));
        CHECK(contains(refusal(Bytes(full.begin(), full.begin() + 12), kErrFormat), "name runs past the end"));
        CHECK(contains(refusal(Bytes(full.begin(), full.end() - 1), kErrFormat), "need 4 bytes after the name, 3 left"));
        CHECK(contains(refusal(Bytes(full.begin(), full.end() - 4), kErrFormat), "0 left"));
    }
    SUBCASE("bytes that are not letters, digits, '-' or '_'") {
        CHECK(contains(refusal(query(1, "a*b.corp", kTypeA), kErrFormat),
                       "byte 0x2a ('*') at offset 14 of the name is not a letter, digit, '-' or '_'"));
        CHECK(contains(refusal(query(1, "ab c.corp", kTypeA), kErrFormat), "byte 0x20 at offset 15"));
        Bytes q = query(1, "abc.corp", kTypeA);
        q[14] = 0x00;
        CHECK(contains(refusal(q, kErrFormat), "byte 0x00 at offset 14"));
        q[14] = 0xe9;  // a Latin-1 e-acute: IDNs arrive as xn-- labels, never raw
        CHECK(contains(refusal(q, kErrFormat), "byte 0xe9 at offset 14"));
        q[14] = '.';  // a dot inside a label
        CHECK(contains(refusal(q, kErrFormat), "byte 0x2e ('.') at offset 14"));
    }
}

TEST_CASE("build_response: known-answer bytes") {
    // "App.Corp.Example" A, id 0x1234, RD set: as a client would send it.
    const Bytes q_bytes = {
        0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,                   // header
        0x03, 'A', 'p', 'p', 0x04, 'C', 'o', 'r', 'p', 0x07, 'E', 'x', 'a', 'm', 'p', 'l', 'e', 0x00,  // name
        0x00, 0x01, 0x00, 0x01};                                                                   // A, IN
    auto q = parse_query(q_bytes);
    REQUIRE(q.has_value());
    const Bytes question = {0x03, 'a', 'p', 'p', 0x04, 'c', 'o', 'r', 'p', 0x07, 'e', 'x', 'a',
                            'm',  'p', 'l', 'e', 0x00, 0x00, 0x01, 0x00, 0x01};

    SUBCASE("A") {
        Bytes want = {0x12, 0x34, 0x85, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00};  // QR AA RD, 1 answer
        want.insert(want.end(), question.begin(), question.end());
        want.insert(want.end(), {0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x1e, 0x00, 0x04, 10, 1, 2, 3});
        CHECK(build_response(*q, Rcode::NoError, {{10, 1, 2, 3}}, {{0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}}, 30) ==
              want);
    }
    SUBCASE("AAAA, two addresses, TTL 300") {
        Query q6 = *q;
        q6.qtype = kTypeAAAA;
        q6.flags = 0;  // RD clear: clear in the response too
        Bytes want = {0x12, 0x34, 0x84, 0x00, 0x00, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00};
        want.insert(want.end(), question.begin(), question.end() - 4);
        want.insert(want.end(), {0x00, 0x1c, 0x00, 0x01});
        for (std::uint8_t last : {1, 2}) {
            want.insert(want.end(), {0xc0, 0x0c, 0x00, 0x1c, 0x00, 0x01, 0x00, 0x00, 0x01, 0x2c, 0x00, 0x10});
            want.insert(want.end(), {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, last});
        }
        CHECK(build_response(q6, Rcode::NoError, {{10, 1, 2, 3}},
                             {{0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2}},
                             300) == want);
    }
    SUBCASE("ANY: A then AAAA") {
        Query qa = *q;
        qa.qtype = kTypeANY;
        const Bytes r = build_response(qa, Rcode::NoError, {{10, 1, 2, 3}}, {{0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}}, 30);
        CHECK(at16(r, 6) == 2);
        CHECK(r.size() == 12 + question.size() + 16 + 28);
        CHECK(at16(r, 12 + question.size() + 2) == kTypeA);
        CHECK(at16(r, 12 + question.size() + 16 + 2) == kTypeAAAA);
    }
    SUBCASE("another type: NODATA") {
        Query qm = *q;
        qm.qtype = 15;  // MX
        const Bytes r = build_response(qm, Rcode::NoError, {{10, 1, 2, 3}}, {}, 30);
        CHECK(r.size() == 12 + question.size());
        CHECK(at16(r, 2) == 0x8500);
        CHECK(at16(r, 6) == 0);
    }
    SUBCASE("REFUSED: the question, no answers") {
        Bytes want = {0x12, 0x34, 0x85, 0x05, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
        want.insert(want.end(), question.begin(), question.end());
        CHECK(build_response(*q, Rcode::Refused, {{10, 1, 2, 3}}, {}, 30) == want);
    }
    SUBCASE("a class other than IN or ANY gets no IN answers") {
        Query qc = *q;
        qc.qclass = 3;  // CHAOS
        CHECK(at16(build_response(qc, Rcode::NoError, {{10, 1, 2, 3}}, {}, 30), 6) == 0);
    }
    SUBCASE("a response is refused by parse_query; with QR cleared it parses to the same question") {
        Bytes r = build_response(*q, Rcode::NoError, {{10, 1, 2, 3}}, {}, 30);
        CHECK(parse_query(r).error().code == kErrResponse);
        r[2] &= 0x7f;
        auto again = parse_query(r);
        REQUIRE(again.has_value());
        CHECK(again->id == 0x1234);
        CHECK(again->name == "app.corp.example");
        CHECK(again->qtype == kTypeA);
    }
}

TEST_CASE("build_response: answers are capped to 512 bytes") {
    const std::string l63(63, 'a');
    auto q = parse_query(query(7, l63 + "." + l63 + "." + l63 + "." + std::string(61, 'b'), kTypeANY));  // longest name
    REQUIRE(q.has_value());
    std::vector<std::array<std::uint8_t, 4>> a(40, {10, 0, 0, 1});
    std::vector<std::array<std::uint8_t, 16>> aaaa(40, {0xfd});
    const Bytes r = build_response(*q, Rcode::NoError, a, aaaa, 30);
    CHECK(r.size() <= kMaxUdpMessage);
    // 512 - 12 - (255 + 4) = 241 bytes left: 15 A records of 16 bytes, no room for an AAAA one.
    CHECK(at16(r, 6) == 15);
    CHECK(r.size() == 12 + 259 + 15 * 16);
    CHECK((at16(r, 2) & kFlagTC) == 0);

    auto q6 = parse_query(query(8, "x.corp", kTypeAAAA));
    REQUIRE(q6.has_value());
    const Bytes r6 = build_response(*q6, Rcode::NoError, {}, aaaa, 30);
    CHECK(r6.size() <= kMaxUdpMessage);
    CHECK(at16(r6, 6) == (512 - 12 - 12) / 28);
}

TEST_CASE("build_response: a name parse_query would not produce gets a header-only SERVFAIL") {
    for (const std::string& bad : {std::string("a..b"), std::string(".a"), std::string("a."), std::string(64, 'x'),
                                   std::string(260, 'x')}) {
        Query q{0x4242, kFlagRD, bad, kTypeA, kClassIN};
        const Bytes r = build_response(q, Rcode::NoError, {{1, 2, 3, 4}}, {}, 30);
        CHECK(r == Bytes{0x42, 0x42, 0x85, 0x02, 0, 0, 0, 0, 0, 0, 0, 0});
    }
}

TEST_CASE("build_error: a header-only answer to what parse_query refused") {
    Bytes q = query(0xabcd, "a*b.corp", kTypeA);
    REQUIRE_FALSE(parse_query(q).has_value());
    auto e = build_error(q, Rcode::FormErr);
    REQUIRE(e.has_value());
    CHECK(*e == Bytes{0xab, 0xcd, 0x81, 0x01, 0, 0, 0, 0, 0, 0, 0, 0});  // QR RD FORMERR, no question
    CHECK(parse_query(*e).error().code == kErrResponse);

    const Bytes notify = query(0x0102, "a.b", 6, 4 << 11);  // NOTIFY, RD clear: opcode echoed
    e = build_error(notify, Rcode::NotImp);
    REQUIRE(e.has_value());
    CHECK(*e == Bytes{0x01, 0x02, 0xa0, 0x04, 0, 0, 0, 0, 0, 0, 0, 0});

    CHECK_FALSE(build_error(Bytes(11, 0), Rcode::FormErr).has_value());
    CHECK_FALSE(build_error(Bytes{}, Rcode::FormErr).has_value());
    CHECK_FALSE(build_error(query(1, "a.b", kTypeA, kFlagQR), Rcode::FormErr).has_value());  // never answer a response
    CHECK(build_error(Bytes(12, 0), Rcode::FormErr).has_value());
}

// ---- The UDP stub on 127.0.0.1 ----

namespace {

class Client {
public:
    explicit Client(std::uint16_t port) : fd_(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) {
        REQUIRE(fd_ >= 0);
        to_.sin_family = AF_INET;
        to_.sin_port = htons(port);
        to_.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    }
    ~Client() { ::close(fd_); }
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;

    void send(const Bytes& b) {
        REQUIRE(::sendto(fd_, b.data(), b.size(), 0, reinterpret_cast<const sockaddr*>(&to_), sizeof to_) ==
                static_cast<ssize_t>(b.size()));
    }
    // The next datagram, or nullopt after `timeout_ms` without one.
    std::optional<Bytes> receive(int timeout_ms = 5000) {
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, timeout_ms) <= 0) return std::nullopt;
        Bytes b(2048);
        const ssize_t n = ::recv(fd_, b.data(), b.size(), 0);
        if (n < 0) return std::nullopt;
        b.resize(static_cast<std::size_t>(n));
        return b;
    }
    Bytes ask(const Bytes& q) {
        send(q);
        auto r = receive();
        REQUIRE(r.has_value());
        return *r;
    }

private:
    int fd_;
    sockaddr_in to_{};
};

std::unique_ptr<DnsStub> start_stub() {
    static const std::map<std::string, Answer> table = {
        {"app.corp.example", {Answer::Kind::Granted, {"10.1.2.3", "fd00::1", "not-an-address"}}},
        {"v4only.corp.example", {Answer::Kind::Granted, {"10.0.0.9"}}},
        {"blocked.corp.example", {Answer::Kind::Blocked, {"10.9.9.9"}}},
    };
    auto stub = DnsStub::start("127.0.0.1", 0, [](const std::string& name) {
        if (name == "throws.corp.example") throw std::runtime_error("lookup bug");
        const auto it = table.find(name);
        return it == table.end() ? Answer{} : it->second;
    });
    REQUIRE_MESSAGE(stub.has_value(), (stub.has_value() ? "" : stub.error().message));
    CHECK(stub.value()->port() != 0);
    return std::move(stub.value());
}

// The rcode and answer count of a response to `id`, checking the header.
void check_header(const Bytes& r, std::uint16_t id, Rcode rcode, std::uint16_t answers) {
    REQUIRE(r.size() >= 12);
    CHECK(at16(r, 0) == id);
    CHECK((at16(r, 2) & kFlagQR) != 0);
    CHECK((at16(r, 2) & kRcodeMask) == static_cast<std::uint16_t>(rcode));
    CHECK(at16(r, 6) == answers);
}

}  // namespace

TEST_CASE("DnsStub: round trips on 127.0.0.1") {
    auto stub = start_stub();
    Client c(stub->port());

    SUBCASE("granted A, the question echoed in the client's case") {
        const Bytes q = query(0x1111, "App.CORP.example", kTypeA);
        const Bytes r = c.ask(q);
        check_header(r, 0x1111, Rcode::NoError, 1);
        CHECK(Bytes(r.begin() + 12, r.begin() + static_cast<std::ptrdiff_t>(q.size())) == Bytes(q.begin() + 12, q.end()));
        CHECK(Bytes(r.end() - 4, r.end()) == Bytes{10, 1, 2, 3});
        CHECK(at16(r, r.size() - 6) == 4);  // RDLENGTH
    }
    SUBCASE("granted AAAA") {
        const Bytes r = c.ask(query(0x2222, "app.corp.example", kTypeAAAA));
        check_header(r, 0x2222, Rcode::NoError, 1);
        CHECK(Bytes(r.end() - 16, r.end()) == Bytes{0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1});
    }
    SUBCASE("granted without an address of the asked family: NOERROR, no answers") {
        check_header(c.ask(query(0x3333, "v4only.corp.example", kTypeAAAA)), 0x3333, Rcode::NoError, 0);
        check_header(c.ask(query(0x3334, "v4only.corp.example", kTypeA)), 0x3334, Rcode::NoError, 1);
    }
    SUBCASE("blocked and unknown: REFUSED (rcode 5)") {
        check_header(c.ask(query(0x4444, "blocked.corp.example", kTypeA)), 0x4444, Rcode::Refused, 0);
        check_header(c.ask(query(0x5555, "www.elsewhere.example", kTypeA)), 0x5555, Rcode::Refused, 0);
        check_header(c.ask(query(0x5556, "app.corp.example", kTypeA, kFlagRD, 3)), 0x5556, Rcode::Refused, 0);  // CHAOS
        CHECK(stub->counters().refused.load() == 3);
        CHECK(stub->counters().answered.load() == 0);
    }
    SUBCASE("malformed: FORMERR with the same id; another opcode: NOTIMP") {
        const Bytes r = c.ask(query(0x6666, "bad name.corp.example", kTypeA));
        CHECK(r == Bytes{0x66, 0x66, 0x81, 0x01, 0, 0, 0, 0, 0, 0, 0, 0});
        check_header(c.ask(query(0x6667, "app.corp.example", kTypeA, 5 << 11)), 0x6667, Rcode::NotImp, 0);
        CHECK(stub->counters().malformed.load() == 2);
    }
    SUBCASE("a 1-byte packet and a response get no answer; the next query does") {
        // Datagrams from one socket are served in order: had the stub answered
        // either of the first two, that answer would arrive first.
        c.send(Bytes{0x42});
        c.send(query(0x7777, "app.corp.example", kTypeA, kFlagQR));
        c.send(query(0x8888, "app.corp.example", kTypeA));
        auto r = c.receive();
        REQUIRE(r.has_value());
        check_header(*r, 0x8888, Rcode::NoError, 1);
        CHECK(stub->counters().queries.load() == 3);
        CHECK(stub->counters().malformed.load() == 2);
        CHECK(stub->counters().answered.load() == 1);
    }
    SUBCASE("a lookup that throws: SERVFAIL, and the stub keeps serving") {
        check_header(c.ask(query(0x9999, "throws.corp.example", kTypeA)), 0x9999, Rcode::ServFail, 0);
        check_header(c.ask(query(0x999a, "app.corp.example", kTypeA)), 0x999a, Rcode::NoError, 1);
        CHECK(stub->counters().failed.load() == 1);
    }
    stub->stop();
    stub->stop();  // idempotent
}

TEST_CASE("DnsStub: stop() while idle returns promptly") {
    auto stub = start_stub();
    const auto t0 = std::chrono::steady_clock::now();
    stub->stop();
    CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::milliseconds(500));
}

TEST_CASE("DnsStub: start() errors say what and what to do") {
    const auto lookup = [](const std::string&) { return Answer{}; };
    SUBCASE("port in use") {
        const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        REQUIRE(fd >= 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
        socklen_t len = sizeof a;
        REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0);
        const std::uint16_t port = ntohs(a.sin_port);
        auto stub = DnsStub::start("127.0.0.1", port, lookup);
        ::close(fd);
        REQUIRE_FALSE(stub.has_value());
        const auto& m = stub.error().message;
        CHECK(contains(m, "127.0.0.1:" + std::to_string(port)));
        CHECK(contains(m, "port " + std::to_string(port) + " is in use by another resolver"));
    }
    SUBCASE("not an address") {
        auto stub = DnsStub::start("localhost", 0, lookup);
        REQUIRE_FALSE(stub.has_value());
        CHECK(contains(stub.error().message, "\"localhost\" is not an IPv4 or IPv6 address"));
    }
    SUBCASE("an address this host does not have") {
        auto stub = DnsStub::start("192.0.2.1", 0, lookup);  // TEST-NET-1
        REQUIRE_FALSE(stub.has_value());
        CHECK(contains(stub.error().message, "192.0.2.1:0: 192.0.2.1 is not an address of this host"));
    }
    SUBCASE("no lookup") {
        CHECK_FALSE(DnsStub::start("127.0.0.1", 0, nullptr).has_value());
    }
}

// ---- split DNS, without systemd-resolved (split_dns_test.cpp has the real one) ----

#include "resolved_split_dns.h"

TEST_CASE("split DNS: resolvectl's server syntax for the stub's address and port") {
    CHECK(ResolvedSplitDns::server_text("127.0.0.153", 53) == "127.0.0.153");
    CHECK(ResolvedSplitDns::server_text("127.0.0.153", 5353) == "127.0.0.153:5353");
    CHECK(ResolvedSplitDns::server_text("::1", 5353) == "[::1]:5353");
    CHECK(ResolvedSplitDns::server_text("::1", 53) == "::1");
}

TEST_CASE("split DNS: with no systemd-resolved, route says what to do and status says manual") {
    ResolvedSplitDns split("ztna-none0", "127.0.0.153", 53, "/nonexistent/ztna-test/resolve");
    CHECK_FALSE(split.resolved_present());
    CHECK(split.route({}).has_value());  // no names: nothing to do
    auto r = split.route({"hr.corp.test"});
    REQUIRE_FALSE(r);
    CHECK(r.error().code == "resolved_absent");
    CHECK(r.error().message.find("127.0.0.153") != std::string::npos);
    CHECK(r.error().message.find("docs/agent.md") != std::string::npos);
    const auto d = split.describe();
    CHECK(*d.string_at("mode") == "manual");
    CHECK(*d.string_at("stub") == "127.0.0.153");
    CHECK(d.find("routed_names") == nullptr);
    CHECK(d.find("error") == nullptr);
}
