// tunnel_bench: the data path of the WireGuard core against its ceiling.
//
// For 64-, 512- and 1420-byte IP packets, in one run:
//   raw seal / raw open   ChaCha20-Poly1305 straight from libsodium
//                         (crypto_aead_chacha20poly1305_ietf_*_detached) and from
//                         OpenSSL 3 EVP (key set once, nonce per packet);
//   encapsulate           Peer::encapsulate with each AeadBackend, after a real
//                         handshake between two in-memory peers;
//   decapsulate           receive_datagram (parse, lookup by index, Peer::decapsulate,
//                         replay window, inner packet check), as a device would call it.
// Heap allocations in the timed loops are counted (global operator new/delete
// replaced below, and OpenSSL's allocator hooked): the target is 0 per packet.
//
// Usage: tunnel_bench [--quick] [--markdown | --json] [--duration SECONDS] [--rounds N]
//                     [--sizes N,N,...] [--check-allocs]
// See bench/README.md for what each column means.

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <sodium.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "crypto.h"
#include "dispatch.h"
#include "keys.h"

// ---------------------------------------------------------------------------
// Allocation counter: every global operator new (all forms) and every
// allocation OpenSSL makes through CRYPTO_malloc/CRYPTO_realloc.

namespace {
std::atomic<std::uint64_t> g_allocs{0};

void* counted_alloc(std::size_t n) noexcept {
    g_allocs.fetch_add(1, std::memory_order_relaxed);
    return std::malloc(n ? n : 1);
}
void* counted_aligned_alloc(std::size_t n, std::align_val_t al) noexcept {
    g_allocs.fetch_add(1, std::memory_order_relaxed);
    const std::size_t a = std::max(std::size_t(al), sizeof(void*));
    const std::size_t rounded = ((n ? n : 1) + a - 1) / a * a;
    return std::aligned_alloc(a, rounded);
}
}  // namespace

// Out of line, like the deletes below, so that GCC does not pair malloc() with
// operator delete and warn (-Wmismatched-new-delete).
[[gnu::noinline]] void* operator new(std::size_t n) {
    if (void* p = counted_alloc(n)) return p;
    throw std::bad_alloc();
}
[[gnu::noinline]] void* operator new[](std::size_t n) {
    if (void* p = counted_alloc(n)) return p;
    throw std::bad_alloc();
}
[[gnu::noinline]] void* operator new(std::size_t n, const std::nothrow_t&) noexcept { return counted_alloc(n); }
[[gnu::noinline]] void* operator new[](std::size_t n, const std::nothrow_t&) noexcept { return counted_alloc(n); }
[[gnu::noinline]] void* operator new(std::size_t n, std::align_val_t al) {
    if (void* p = counted_aligned_alloc(n, al)) return p;
    throw std::bad_alloc();
}
[[gnu::noinline]] void* operator new[](std::size_t n, std::align_val_t al) {
    if (void* p = counted_aligned_alloc(n, al)) return p;
    throw std::bad_alloc();
}
[[gnu::noinline]] void* operator new(std::size_t n, std::align_val_t al, const std::nothrow_t&) noexcept {
    return counted_aligned_alloc(n, al);
}
[[gnu::noinline]] void* operator new[](std::size_t n, std::align_val_t al, const std::nothrow_t&) noexcept {
    return counted_aligned_alloc(n, al);
}
[[gnu::noinline]] void operator delete(void* p) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete[](void* p) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete(void* p, std::size_t) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }

namespace {

void* ossl_malloc(std::size_t n, const char*, int) { return counted_alloc(n); }
void* ossl_realloc(void* p, std::size_t n, const char*, int) {
    g_allocs.fetch_add(1, std::memory_order_relaxed);
    return std::realloc(p, n);
}
void ossl_free(void* p, const char*, int) { std::free(p); }

using namespace ztna::tunnel;
using Clock = std::chrono::steady_clock;

// ---------------------------------------------------------------------------
// Options

struct Options {
    bool quick = false;
    bool markdown = false;
    bool json = false;
    bool check_allocs = false;
    double duration = 0.5;  // seconds per measurement, split over `rounds`
    int rounds = 10;
    std::vector<std::size_t> sizes{64, 512, 1420};  // IP packet sizes
};

void usage(std::FILE* f) {
    std::fprintf(f,
                 "usage: tunnel_bench [--quick] [--markdown | --json] [--duration SECONDS] [--rounds N]\n"
                 "                    [--sizes N,N,...] [--check-allocs]\n"
                 "  --quick          ~20 ms per measurement (smoke run; figures are not stable)\n"
                 "  --markdown       print Markdown tables (for docs/performance.md)\n"
                 "  --json           print machine-readable JSON\n"
                 "  --duration S     seconds per measurement (default 0.5)\n"
                 "  --rounds N       split each measurement into N interleaved rounds; report the fastest (default 10)\n"
                 "  --sizes N,N,...  IP packet sizes in bytes, 20..65535 (default 64,512,1420)\n"
                 "  --check-allocs   exit 1 if encapsulate or decapsulate allocated on the heap\n");
}

// ---------------------------------------------------------------------------
// Measurements

constexpr std::size_t kBatch = 256;  // packets between two clock reads
constexpr AeadBackend kBackends[] = {AeadBackend::Libsodium, AeadBackend::OpenSsl};

enum class Operation { RawSeal, Encapsulate, RawOpen, Decapsulate };
const char* name_of(Operation o) {
    switch (o) {
        case Operation::RawSeal: return "raw seal";
        case Operation::Encapsulate: return "encapsulate";
        case Operation::RawOpen: return "raw open";
        case Operation::Decapsulate: return "decapsulate";
    }
    return "?";
}
bool is_raw(Operation o) { return o == Operation::RawSeal || o == Operation::RawOpen; }
Operation raw_of(Operation o) { return o == Operation::Encapsulate ? Operation::RawSeal : Operation::RawOpen; }

// What one timed stretch did.
struct Sample {
    std::uint64_t packets = 0;
    double seconds = 0;
    std::uint64_t allocs = 0;
    std::uint64_t failures = 0;  // a seal/encapsulate that did not produce a datagram, an open that did not verify
};

// Times batches of `timed` until `budget` seconds are spent in them; `prepare`
// (untimed, not counted) runs before each batch.
template <class Prepare, class Timed>
Sample run_batches(double budget, Prepare&& prepare, Timed&& timed) {
    Sample s;
    while (s.seconds < budget) {
        prepare();
        const std::uint64_t a0 = g_allocs.load(std::memory_order_relaxed);
        const auto t0 = Clock::now();
        s.failures += timed();
        const auto t1 = Clock::now();
        s.allocs += g_allocs.load(std::memory_order_relaxed) - a0;
        s.seconds += std::chrono::duration<double>(t1 - t0).count();
        s.packets += kBatch;
    }
    return s;
}

void wg_nonce(std::uint8_t n[12], std::uint64_t counter) {
    std::memset(n, 0, 4);
    for (int i = 0; i < 8; ++i) n[4 + i] = std::uint8_t(counter >> (8 * i));
}

// The ceiling: ChaCha20-Poly1305 with no protocol around it, nonce per packet.
class RawAead {
public:
    virtual ~RawAead() = default;
    virtual void seal(std::uint8_t* out, std::uint64_t counter, const std::uint8_t* pt, std::size_t n) = 0;
    virtual bool open(std::uint8_t* out, std::uint64_t counter, const std::uint8_t* ct, std::size_t n) = 0;
};

class RawSodium final : public RawAead {
public:
    explicit RawSodium(const std::uint8_t* key) { std::memcpy(key_, key, 32); }
    void seal(std::uint8_t* out, std::uint64_t counter, const std::uint8_t* pt, std::size_t n) override {
        std::uint8_t nonce[12];
        wg_nonce(nonce, counter);
        crypto_aead_chacha20poly1305_ietf_encrypt_detached(out, out + n, nullptr, pt, n, nullptr, 0, nullptr, nonce,
                                                           key_);
    }
    bool open(std::uint8_t* out, std::uint64_t counter, const std::uint8_t* ct, std::size_t n) override {
        std::uint8_t nonce[12];
        wg_nonce(nonce, counter);
        return crypto_aead_chacha20poly1305_ietf_decrypt_detached(out, nullptr, ct, n - 16, ct + n - 16, nullptr, 0,
                                                                  nonce, key_) == 0;
    }

private:
    std::uint8_t key_[32];
};

class RawOpenSsl final : public RawAead {
public:
    explicit RawOpenSsl(const std::uint8_t* key) : enc_(EVP_CIPHER_CTX_new()), dec_(EVP_CIPHER_CTX_new()) {
        if (!enc_ || !dec_ || EVP_EncryptInit_ex(enc_, EVP_chacha20_poly1305(), nullptr, key, nullptr) != 1 ||
            EVP_DecryptInit_ex(dec_, EVP_chacha20_poly1305(), nullptr, key, nullptr) != 1) {
            std::fprintf(stderr, "tunnel_bench: OpenSSL ChaCha20-Poly1305 is not available\n");
            std::exit(2);
        }
    }
    ~RawOpenSsl() override {
        EVP_CIPHER_CTX_free(enc_);
        EVP_CIPHER_CTX_free(dec_);
    }
    void seal(std::uint8_t* out, std::uint64_t counter, const std::uint8_t* pt, std::size_t n) override {
        std::uint8_t nonce[12];
        wg_nonce(nonce, counter);
        int len = 0;
        EVP_EncryptInit_ex(enc_, nullptr, nullptr, nullptr, nonce);
        EVP_EncryptUpdate(enc_, out, &len, pt, int(n));
        EVP_EncryptFinal_ex(enc_, out + len, &len);
        EVP_CIPHER_CTX_ctrl(enc_, EVP_CTRL_AEAD_GET_TAG, 16, out + n);
    }
    bool open(std::uint8_t* out, std::uint64_t counter, const std::uint8_t* ct, std::size_t n) override {
        std::uint8_t nonce[12];
        wg_nonce(nonce, counter);
        int len = 0;
        if (EVP_DecryptInit_ex(dec_, nullptr, nullptr, nullptr, nonce) != 1) return false;
        if (EVP_CIPHER_CTX_ctrl(dec_, EVP_CTRL_AEAD_SET_TAG, 16, const_cast<std::uint8_t*>(ct + n - 16)) != 1)
            return false;
        if (EVP_DecryptUpdate(dec_, out, &len, ct, int(n - 16)) != 1) return false;
        return EVP_DecryptFinal_ex(dec_, out + len, &len) == 1;
    }

private:
    EVP_CIPHER_CTX* enc_;
    EVP_CIPHER_CTX* dec_;
};

std::unique_ptr<RawAead> make_raw(AeadBackend b, const std::uint8_t* key) {
    if (b == AeadBackend::OpenSsl) return std::make_unique<RawOpenSsl>(key);
    return std::make_unique<RawSodium>(key);
}

[[noreturn]] void fail(const char* what) {
    std::fprintf(stderr, "tunnel_bench: %s\n", what);
    std::exit(2);
}

// A simple valid IPv4 packet of n bytes (n >= 20).
std::vector<std::uint8_t> ipv4_packet(std::size_t n) {
    std::vector<std::uint8_t> p(n, 0xab);
    p[0] = 0x45;
    p[1] = 0;
    p[2] = std::uint8_t(n >> 8);
    p[3] = std::uint8_t(n);
    return p;
}

// One device with one peer (the other side), as receive_datagram sees it.
struct Side final : PeerLookup {
    std::shared_ptr<const StaticIdentity> id;
    std::unique_ptr<Responder> responder;
    std::unique_ptr<Peer> peer;
    std::uint32_t base = 0;

    Peer* by_public_key(const PublicKey& k) override {
        return peer && std::memcmp(k.data(), peer->remote_public().data(), 32) == 0 ? peer.get() : nullptr;
    }
    Peer* by_index(std::uint32_t idx) override { return peer && Peer::index_base_of(idx) == base ? peer.get() : nullptr; }
};

// Two in-memory peers with a fake clock (the same set-up as tests/tunnel/pair_harness.h).
// The clock never moves: every measurement runs at the instant of the
// handshake, far from Rekey-After-Time (120 s) and Reject-After-Time.
struct Pair {
    Duration now{std::chrono::seconds(1000)};
    std::chrono::nanoseconds wall{std::chrono::seconds(1'700'000'000)};
    SystemRng rng;
    Side a, b;

    Env env() { return Env{now, wall, rng, false}; }

    TunnResult deliver(Side& to, std::span<const std::uint8_t> datagram, std::span<std::uint8_t> out) {
        Env e = env();
        return receive_datagram(*to.responder, to, datagram, {}, out, e).result;
    }
};

// a initiates, b answers, a's first data packet confirms the session on b.
std::unique_ptr<Pair> established_pair(AeadBackend backend) {
    auto p = std::make_unique<Pair>();
    Key psk;  // all zero: no preshared key
    p->a.id = std::make_shared<const StaticIdentity>(StaticIdentity::from_private(generate_private_key(p->rng)));
    p->b.id = std::make_shared<const StaticIdentity>(StaticIdentity::from_private(generate_private_key(p->rng)));
    p->a.responder = std::make_unique<Responder>(p->a.id);
    p->b.responder = std::make_unique<Responder>(p->b.id);
    p->a.base = 1;
    p->b.base = 2;
    p->a.peer = std::make_unique<Peer>(p->a.id, p->b.id->public_key, psk, p->a.base, backend);
    p->b.peer = std::make_unique<Peer>(p->b.id, p->a.id->public_key, psk, p->b.base, backend);

    std::vector<std::uint8_t> x(2048), y(2048);
    auto pkt = ipv4_packet(100);
    Env e = p->env();
    TunnResult r = p->a.peer->encapsulate(pkt, x, e);
    if (r.op != Op::WriteToNetwork || r.size != spec::kInitiationSize) fail("handshake: no initiation");
    TunnResult resp = p->deliver(p->b, {x.data(), r.size}, y);
    if (resp.op != Op::WriteToNetwork || resp.size != spec::kResponseSize) fail("handshake: no response");
    TunnResult first = p->deliver(p->a, {y.data(), resp.size}, x);
    if (first.op != Op::WriteToNetwork) fail("handshake: response not accepted");
    TunnResult in = p->deliver(p->b, {x.data(), first.size}, y);
    if (in.op != Op::WriteToTunnelV4 || in.size != pkt.size() || std::memcmp(y.data(), pkt.data(), pkt.size()) != 0)
        fail("handshake: first data packet not delivered");
    if (!p->a.peer->has_session(p->now) || !p->b.peer->has_session(p->now)) fail("handshake: no session");
    return p;
}

struct Case {
    std::size_t size = 0;
    AeadBackend backend{};
    Operation op{};
    std::function<Sample(double)> run;
    // Results.
    std::vector<double> rates;  // packets/s of each round
    Sample total;
    double pps = 0;  // fastest round
    double ratio = 0;  // pps / pps of the raw AEAD of the same direction, backend and size (0 for raw rows)
    double allocs_per_packet() const { return total.packets ? double(total.allocs) / double(total.packets) : 0; }
    double mbps() const { return pps * double(size) / 1e6; }
};

// Every buffer and peer a case touches is allocated here, before any timing.
Case make_case(std::size_t size, AeadBackend backend, Operation op) {
    Case c{size, backend, op, {}, {}, {}, 0, 0};
    const std::size_t wire = size + 16 + 16 + 16;  // header, padding to 16 (at most 15), tag: a stride for any case
    auto packet = std::make_shared<std::vector<std::uint8_t>>(ipv4_packet(size));

    if (is_raw(op)) {
        std::uint8_t key[32];
        randombytes_buf(key, sizeof key);
        std::shared_ptr<RawAead> aead = make_raw(backend, key);
        sodium_memzero(key, sizeof key);
        auto out = std::make_shared<std::vector<std::uint8_t>>(kBatch * wire);
        auto ct = std::make_shared<std::vector<std::uint8_t>>(kBatch * wire);
        auto counter = std::make_shared<std::uint64_t>(0);
        if (op == Operation::RawSeal) {
            c.run = [=](double budget) {
                return run_batches(
                    budget, [] {},
                    [&]() -> std::uint64_t {
                        std::uint8_t* o = out->data();
                        for (std::size_t i = 0; i < kBatch; ++i) aead->seal(o, (*counter)++, packet->data(), size);
                        return 0;
                    });
            };
        } else {
            auto first = std::make_shared<std::uint64_t>(0);
            c.run = [=](double budget) {
                return run_batches(
                    budget,
                    [&] {
                        *first = *counter;
                        for (std::size_t i = 0; i < kBatch; ++i)
                            aead->seal(ct->data() + i * wire, (*counter)++, packet->data(), size);
                    },
                    [&]() -> std::uint64_t {
                        std::uint64_t bad = 0;
                        std::uint8_t* o = out->data();
                        for (std::size_t i = 0; i < kBatch; ++i)
                            bad += !aead->open(o, *first + i, ct->data() + i * wire, size + 16);
                        return bad;
                    });
            };
        }
        return c;
    }

    std::shared_ptr<Pair> pair = established_pair(backend);
    auto out = std::make_shared<std::vector<std::uint8_t>>(wire);
    if (op == Operation::Encapsulate) {
        c.run = [=](double budget) {
            Env e = pair->env();
            Peer& a = *pair->a.peer;
            return run_batches(
                budget, [] {},
                [&]() -> std::uint64_t {
                    std::uint64_t bad = 0;
                    for (std::size_t i = 0; i < kBatch; ++i) {
                        TunnResult r = a.encapsulate(*packet, *out, e);
                        bad += r.op != Op::WriteToNetwork;
                    }
                    return bad;
                });
        };
    } else {
        auto batch = std::make_shared<std::vector<std::uint8_t>>(kBatch * wire);
        auto lens = std::make_shared<std::vector<std::size_t>>(kBatch);
        c.run = [=](double budget) {
            Env e = pair->env();
            Peer& a = *pair->a.peer;
            Side& b = pair->b;
            std::uint64_t prep_failures = 0;
            Sample s = run_batches(
                budget,
                [&] {
                    for (std::size_t i = 0; i < kBatch; ++i) {
                        TunnResult r = a.encapsulate(*packet, {batch->data() + i * wire, wire}, e);
                        prep_failures += r.op != Op::WriteToNetwork;
                        (*lens)[i] = r.size;
                    }
                },
                [&]() -> std::uint64_t {
                    std::uint64_t bad = 0;
                    for (std::size_t i = 0; i < kBatch; ++i) {
                        Received r = receive_datagram(*b.responder, b, {batch->data() + i * wire, (*lens)[i]}, {},
                                                      *out, e);
                        bad += r.result.op != Op::WriteToTunnelV4 || r.result.size != size;
                    }
                    return bad;
                });
            s.failures += prep_failures;
            return s;
        };
    }
    return c;
}

std::string cpu_model() {
    std::ifstream f("/proc/cpuinfo");
    std::string line;
    while (std::getline(f, line)) {
        if (line.rfind("model name", 0) == 0) {
            auto colon = line.find(':');
            if (colon != std::string::npos) {
                auto v = line.substr(colon + 1);
                v.erase(0, v.find_first_not_of(" \t"));
                return v;
            }
        }
    }
    return "unknown";
}

std::string with_commas(double v) {
    std::string digits = std::to_string(std::llround(v));
    std::string out;
    int n = 0;
    for (auto it = digits.rbegin(); it != digits.rend(); ++it) {
        if (n && n % 3 == 0) out.insert(out.begin(), ',');
        out.insert(out.begin(), *it);
        ++n;
    }
    return out;
}

std::string json_escape(const std::string& s) {
    std::string o;
    for (char ch : s) {
        if (ch == '"' || ch == '\\') {
            o += '\\';
            o += ch;
        } else if (static_cast<unsigned char>(ch) < 0x20) {
            char b[8];
            std::snprintf(b, sizeof b, "\\u%04x", ch);
            o += b;
        } else {
            o += ch;
        }
    }
    return o;
}

// Backend comparison for one size and direction (encapsulate or decapsulate).
struct Comparison {
    std::size_t size;
    Operation op;
    double sodium_pps, openssl_pps;
    double openssl_over_sodium() const { return openssl_pps / sodium_pps; }
};

constexpr double kTie = 0.03;  // backends closer than 3%: within run-to-run noise

// Which backend carries a packet of one size through the tunnel faster:
// the CPU time of encapsulate + decapsulate, one packet each way.
struct SizeVerdict {
    std::size_t size;
    double sodium_ns, openssl_ns;
    double speedup() const { return std::max(sodium_ns, openssl_ns) / std::min(sodium_ns, openssl_ns); }
    const char* winner() const {
        if (speedup() < 1 + kTie) return "tie";
        return openssl_ns < sodium_ns ? "openssl" : "libsodium";
    }
};

bool parse_sizes(const char* text, std::vector<std::size_t>& out) {
    out.clear();
    std::string t = text;
    std::size_t pos = 0;
    while (pos <= t.size()) {
        std::size_t comma = t.find(',', pos);
        if (comma == std::string::npos) comma = t.size();
        const std::string item = t.substr(pos, comma - pos);
        char* end = nullptr;
        const unsigned long v = std::strtoul(item.c_str(), &end, 10);
        if (item.empty() || *end || v < 20 || v > limits::kMaxPacketSize) return false;
        out.push_back(v);
        pos = comma + 1;
    }
    return !out.empty();
}

}  // namespace

int main(int argc, char** argv) {
    // Before OpenSSL allocates anything: route its allocations through the counter.
    if (CRYPTO_set_mem_functions(ossl_malloc, ossl_realloc, ossl_free) != 1)
        std::fprintf(stderr, "tunnel_bench: warning: OpenSSL's allocations are not counted\n");
    if (!ztna::tunnel::crypto::init()) fail("libsodium failed to initialize");

    Options opt;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--quick") {
            opt.quick = true;
        } else if (a == "--markdown") {
            opt.markdown = true;
        } else if (a == "--json") {
            opt.json = true;
        } else if (a == "--check-allocs") {
            opt.check_allocs = true;
        } else if ((a == "--duration" || a == "--rounds") && i + 1 < argc) {
            char* end = nullptr;
            const double v = std::strtod(argv[++i], &end);
            if (!end || *end || !(v > 0)) {
                usage(stderr);
                return 64;
            }
            if (a == "--duration")
                opt.duration = v;
            else
                opt.rounds = std::max(1, int(v));
        } else if (a == "--sizes" && i + 1 < argc) {
            if (!parse_sizes(argv[++i], opt.sizes)) {
                usage(stderr);
                return 64;
            }
        } else if (a == "-h" || a == "--help") {
            usage(stdout);
            return 0;
        } else {
            std::fprintf(stderr, "tunnel_bench: unknown argument '%s'\n", a.c_str());
            usage(stderr);
            return 64;
        }
    }
    if (opt.markdown && opt.json) {
        std::fprintf(stderr, "tunnel_bench: choose one of --markdown and --json\n");
        return 64;
    }
    if (opt.quick) opt.duration = 0.02;

    // One case per size x backend x operation, each with its own keys, peers and buffers.
    std::vector<Case> cases;
    for (std::size_t size : opt.sizes)
        for (Operation op : {Operation::RawSeal, Operation::Encapsulate, Operation::RawOpen, Operation::Decapsulate})
            for (AeadBackend b : kBackends) cases.push_back(make_case(size, b, op));
    // The default data path picks the library per packet size (packet_cipher.h).
    for (std::size_t size : opt.sizes)
        for (Operation op : {Operation::Encapsulate, Operation::Decapsulate})
            cases.push_back(make_case(size, AeadBackend::BySize, op));
    // Shows that the counter sees allocations at all (keys, peers, buffers: many).
    const std::uint64_t setup_allocs = g_allocs.load(std::memory_order_relaxed);

    // Warm up (caches, CPU frequency, lazy initialization in the libraries), then
    // run the rounds interleaved so that noise from the rest of the machine
    // lands on every case alike. Each case reports its fastest round: other
    // processes can only slow a round down, so the fastest is the least disturbed.
    const double chunk = opt.duration / opt.rounds;
    for (Case& c : cases) (void)c.run(std::max(0.002, chunk / 4));
    for (Case& c : cases) c.total = {};
    for (int r = 0; r < opt.rounds; ++r) {
        for (Case& c : cases) {
            Sample s = c.run(chunk);
            c.rates.push_back(double(s.packets) / s.seconds);
            c.total.packets += s.packets;
            c.total.seconds += s.seconds;
            c.total.allocs += s.allocs;
            c.total.failures += s.failures;
        }
    }
    for (Case& c : cases) c.pps = *std::max_element(c.rates.begin(), c.rates.end());
    auto find = [&](std::size_t size, AeadBackend b, Operation op) -> const Case& {
        for (const Case& c : cases)
            if (c.size == size && c.backend == b && c.op == op) return c;
        fail("internal: missing case");
    };
    for (Case& c : cases)
        if (!is_raw(c.op)) {
            // By-size is measured against the raw library it picks for this size.
            const AeadBackend raw = c.backend != AeadBackend::BySize ? c.backend
                                    : c.size < kBySizeOpenSslFrom    ? AeadBackend::Libsodium
                                                                     : AeadBackend::OpenSsl;
            c.ratio = c.pps / find(c.size, raw, raw_of(c.op)).pps;
        }

    // Which backend is faster through the whole data path, size by size
    // (encapsulate + decapsulate), and for the largest packets, which set the
    // tunnel's throughput ceiling.
    std::vector<Comparison> cmp;
    std::vector<SizeVerdict> verdicts;
    for (std::size_t size : opt.sizes) {
        for (Operation op : {Operation::Encapsulate, Operation::Decapsulate})
            cmp.push_back({size, op, find(size, AeadBackend::Libsodium, op).pps, find(size, AeadBackend::OpenSsl, op).pps});
        auto ns = [&](AeadBackend b) {
            return 1e9 / find(size, b, Operation::Encapsulate).pps + 1e9 / find(size, b, Operation::Decapsulate).pps;
        };
        verdicts.push_back({size, ns(AeadBackend::Libsodium), ns(AeadBackend::OpenSsl)});
    }
    const SizeVerdict& bulk = *std::max_element(verdicts.begin(), verdicts.end(),
                                                [](const SizeVerdict& x, const SizeVerdict& y) { return x.size < y.size; });
    bool same_everywhere = true;
    for (const SizeVerdict& v : verdicts) same_everywhere &= std::strcmp(v.winner(), verdicts.front().winner()) == 0;

    bool ok = true;
    std::uint64_t path_allocs = 0;
    for (const Case& c : cases) {
        if (c.total.failures) {
            std::fprintf(stderr, "tunnel_bench: %zu-byte %s %s: %llu packets failed\n", c.size, std::string(to_string(c.backend)).c_str(),
                         name_of(c.op), static_cast<unsigned long long>(c.total.failures));
            ok = false;
        }
        if (!is_raw(c.op)) path_allocs += c.total.allocs;
    }
    if (opt.check_allocs && path_allocs) {
        std::fprintf(stderr, "tunnel_bench: %llu heap allocations in the timed encapsulate/decapsulate loops (want 0)\n",
                     static_cast<unsigned long long>(path_allocs));
        ok = false;
    }

    const std::string cpu = cpu_model();
    const std::string ossl = OpenSSL_version(OPENSSL_VERSION);
    const std::string sodium = sodium_version_string();
    const std::string deflt(to_string(kDefaultAeadBackend));
#ifdef __OPTIMIZE__
    const bool optimized = true;
#else
    const bool optimized = false;
#endif

    if (opt.json) {
        std::printf("{\n  \"config\": {\"duration_s\": %.3f, \"rounds\": %d, \"quick\": %s, \"optimized\": %s, "
                    "\"cpu\": \"%s\", \"openssl\": \"%s\", \"libsodium\": \"%s\", \"default_backend\": \"%s\", "
                    "\"setup_allocations\": %llu},\n",
                    opt.duration, opt.rounds, opt.quick ? "true" : "false", optimized ? "true" : "false",
                    json_escape(cpu).c_str(), json_escape(ossl).c_str(), json_escape(sodium).c_str(), deflt.c_str(),
                    static_cast<unsigned long long>(setup_allocs));
        std::printf("  \"results\": [\n");
        for (std::size_t i = 0; i < cases.size(); ++i) {
            const Case& c = cases[i];
            std::printf("    {\"size\": %zu, \"backend\": \"%s\", \"operation\": \"%s\", \"packets_per_s\": %.0f, "
                        "\"mb_per_s\": %.1f, ",
                        c.size, std::string(to_string(c.backend)).c_str(), name_of(c.op), c.pps, c.mbps());
            if (is_raw(c.op))
                std::printf("\"ratio_vs_raw\": null, ");
            else
                std::printf("\"ratio_vs_raw\": %.3f, ", c.ratio);
            const auto [lo, hi] = std::minmax_element(c.rates.begin(), c.rates.end());
            std::printf("\"round_min_packets_per_s\": %.0f, \"round_max_packets_per_s\": %.0f, ", *lo, *hi);
            std::printf("\"allocs_per_packet\": %.4f, \"allocs\": %llu, \"packets\": %llu, \"seconds\": %.4f, "
                        "\"failures\": %llu}%s\n",
                        c.allocs_per_packet(), static_cast<unsigned long long>(c.total.allocs),
                        static_cast<unsigned long long>(c.total.packets), c.total.seconds,
                        static_cast<unsigned long long>(c.total.failures), i + 1 < cases.size() ? "," : "");
        }
        std::printf("  ],\n  \"comparison\": [\n");
        for (std::size_t i = 0; i < cmp.size(); ++i)
            std::printf("    {\"size\": %zu, \"operation\": \"%s\", \"libsodium_packets_per_s\": %.0f, "
                        "\"openssl_packets_per_s\": %.0f, \"openssl_over_libsodium\": %.3f}%s\n",
                        cmp[i].size, name_of(cmp[i].op), cmp[i].sodium_pps, cmp[i].openssl_pps,
                        cmp[i].openssl_over_sodium(), i + 1 < cmp.size() ? "," : "");
        std::printf("  ],\n  \"by_size\": [\n");
        for (std::size_t i = 0; i < verdicts.size(); ++i)
            std::printf("    {\"size\": %zu, \"libsodium_ns_per_packet\": %.1f, \"openssl_ns_per_packet\": %.1f, "
                        "\"faster\": \"%s\", \"speedup\": %.3f}%s\n",
                        verdicts[i].size, verdicts[i].sodium_ns, verdicts[i].openssl_ns, verdicts[i].winner(),
                        verdicts[i].speedup(), i + 1 < verdicts.size() ? "," : "");
        std::printf("  ],\n  \"faster_backend_at_largest_size\": \"%s\",\n  \"largest_size\": %zu,\n"
                    "  \"heap_allocations_on_data_path\": %llu,\n  \"ok\": %s\n}\n",
                    bulk.winner(), bulk.size, static_cast<unsigned long long>(path_allocs), ok ? "true" : "false");
        return ok ? 0 : 1;
    }

    const bool md = opt.markdown;
    if (md) {
        std::printf("Measured with `tunnel_bench%s` (%.2f s per measurement, fastest of %d rounds).\n"
                    "CPU: %s; %s; libsodium %s; kDefaultAeadBackend = %s.\n\n",
                    opt.quick ? " --quick" : "", opt.duration, opt.rounds, cpu.c_str(), ossl.c_str(), sodium.c_str(),
                    deflt.c_str());
        std::printf("| IP packet | backend | operation | packets/s | MB/s | vs raw AEAD | allocs/packet |\n"
                    "|---:|---|---|---:|---:|---:|---:|\n");
    } else {
        std::printf("tunnel_bench: ChaCha20-Poly1305 data path, %.2f s per measurement (fastest of %d rounds)%s\n"
                    "CPU: %s | %s | libsodium %s | kDefaultAeadBackend = %s\n\n",
                    opt.duration, opt.rounds, opt.quick ? " [--quick: figures are not stable]" : "", cpu.c_str(),
                    ossl.c_str(), sodium.c_str(), deflt.c_str());
        std::printf("%6s  %-9s  %-11s  %13s  %9s  %11s  %13s\n", "size", "backend", "operation", "packets/s", "MB/s",
                    "vs raw AEAD", "allocs/packet");
    }
    std::size_t last_size = 0;
    for (const Case& c : cases) {
        char ratio[32] = "-";
        if (!is_raw(c.op)) std::snprintf(ratio, sizeof ratio, "%.2f", c.ratio);
        char allocs[32];
        std::snprintf(allocs, sizeof allocs, "%.2f", c.allocs_per_packet());
        const std::string backend(to_string(c.backend));
        if (md) {
            std::printf("| %zu | %s | %s | %s | %.1f | %s | %s |\n", c.size, backend.c_str(), name_of(c.op),
                        with_commas(c.pps).c_str(), c.mbps(), ratio, allocs);
        } else {
            if (last_size && c.size != last_size) std::printf("\n");
            std::printf("%6zu  %-9s  %-11s  %13s  %9.1f  %11s  %13s\n", c.size, backend.c_str(), name_of(c.op),
                        with_commas(c.pps).c_str(), c.mbps(), ratio, allocs);
        }
        last_size = c.size;
    }

    if (md) {
        std::printf("\n| IP packet | operation | libsodium packets/s | openssl packets/s | openssl / libsodium |\n"
                    "|---:|---|---:|---:|---:|\n");
        for (const Comparison& k : cmp)
            std::printf("| %zu | %s | %s | %s | %.2f |\n", k.size, name_of(k.op), with_commas(k.sodium_pps).c_str(),
                        with_commas(k.openssl_pps).c_str(), k.openssl_over_sodium());
        std::printf("\n");
    } else {
        std::printf("\nBackends side by side (encapsulate / decapsulate):\n");
        std::printf("%6s  %-11s  %15s  %15s  %19s\n", "size", "operation", "libsodium pkt/s", "openssl pkt/s",
                    "openssl/libsodium");
        for (const Comparison& k : cmp)
            std::printf("%6zu  %-11s  %15s  %15s  %19.2f\n", k.size, name_of(k.op), with_commas(k.sodium_pps).c_str(),
                        with_commas(k.openssl_pps).c_str(), k.openssl_over_sodium());
        std::printf("\n");
    }
    // Verdict: per size (encapsulate + decapsulate time per packet), then the largest size.
    std::printf("Faster AEAD backend on this machine (encapsulate + decapsulate, per packet):\n");
    for (const SizeVerdict& v : verdicts) {
        if (std::strcmp(v.winner(), "tie") == 0)
            std::printf(md ? "- %zu bytes: neither (libsodium %.0f ns, openssl %.0f ns: within %.0f%%)\n"
                           : "  %5zu bytes: neither (libsodium %.0f ns, openssl %.0f ns: within %.0f%%)\n",
                        v.size, v.sodium_ns, v.openssl_ns, kTie * 100);
        else
            std::printf(md ? "- %zu bytes: %s, %.2fx (libsodium %.0f ns, openssl %.0f ns)\n"
                           : "  %5zu bytes: %s, %.2fx (libsodium %.0f ns, openssl %.0f ns)\n",
                        v.size, v.winner(), v.speedup(), v.sodium_ns, v.openssl_ns);
    }
    if (md) std::printf("\n");
    if (same_everywhere)
        std::printf("Verdict: %s at every size measured.\n", verdicts.front().winner());
    else
        std::printf("Verdict: it depends on packet size; at %zu bytes (full-size packets, the tunnel's throughput "
                    "ceiling): %s.\n",
                    bulk.size, bulk.winner());
    if (md) std::printf("\n");
    std::printf("Heap allocations in the timed encapsulate/decapsulate loops: %llu.\n",
                static_cast<unsigned long long>(path_allocs));
    if (!optimized) std::printf("Warning: built without optimization; configure with -DCMAKE_BUILD_TYPE=Release.\n");
    if (!ok) std::printf("FAILED: see stderr.\n");
    return ok ? 0 : 1;
}
