// libFuzzer target: the C API. Two tunnels with a session between them; the
// input is cut into operations (write, read, tick, force handshake) with
// arbitrary payloads and buffer sizes.
#include <ztna_wireguard.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

namespace {
struct Fixture {
    wireguard_tunnel* a = nullptr;
    Fixture() {
        x25519_key ka = x25519_secret_key(), kb = x25519_secret_key();
        char* sa = x25519_key_to_base64(ka);
        char* pb = x25519_key_to_base64(x25519_public_key(kb));
        a = new_tunnel(sa, pb, nullptr, 0, 7, nullptr);
        x25519_key_to_str_free(sa);
        x25519_key_to_str_free(pb);
    }
};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* in, std::size_t n) {
    static Fixture fx;
    if (!fx.a) __builtin_trap();
    std::vector<std::uint8_t> dst(2048);
    std::size_t i = 0;
    while (i + 3 <= n) {
        const std::uint8_t op = in[i] % 5;
        const std::uint32_t dst_size = std::uint32_t(in[i + 1]) * 8;  // 0..2040
        const std::size_t len = std::min<std::size_t>(in[i + 2], n - i - 3);
        const std::uint8_t* payload = in + i + 3;
        i += 3 + len;
        wireguard_result r{};
        switch (op) {
            case 0: r = wireguard_write(fx.a, payload, std::uint32_t(len), dst.data(), dst_size); break;
            case 1: r = wireguard_read(fx.a, payload, std::uint32_t(len), dst.data(), dst_size); break;
            case 2: r = wireguard_tick(fx.a, dst.data(), dst_size); break;
            case 3: r = wireguard_read_from(fx.a, payload, std::uint32_t(std::min<std::size_t>(len, 18)), payload,
                                            std::uint32_t(len), dst.data(), dst_size);
                break;
            default: r = wireguard_force_handshake(fx.a, dst.data(), dst_size); break;
        }
        if (r.size > dst_size) __builtin_trap();  // never claims more than the buffer
        (void)wireguard_error_string(r.error);
    }
    (void)wireguard_stats(fx.a);
    return 0;
}
