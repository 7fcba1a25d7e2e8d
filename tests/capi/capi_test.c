/* The C API (ztna_wireguard.h) used from C99: two tunnels handshake through
 * wireguard_write / wireguard_read and the drain loop, then send an IPv4
 * packet each way. Exits non-zero on any failure. */
#include <ztna_wireguard.h>

#include <stdio.h>
#include <string.h>

static int failures = 0;

#define CHECK(cond)                                                              \
    do {                                                                         \
        if (!(cond)) {                                                           \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
            ++failures;                                                          \
        }                                                                        \
    } while (0)

#define REQUIRE(cond)                                                              \
    do {                                                                           \
        if (!(cond)) {                                                             \
            fprintf(stderr, "%s:%d: REQUIRE failed: %s\n", __FILE__, __LINE__, #cond); \
            return 1;                                                              \
        }                                                                          \
    } while (0)

#define BUF 2048

/* A valid IPv4 packet of n bytes. */
static void ipv4_packet(uint8_t* p, size_t n, uint8_t fill) {
    memset(p, fill, n);
    p[0] = 0x45;
    p[1] = 0;
    p[2] = (uint8_t)(n >> 8);
    p[3] = (uint8_t)n;
}

/* Drains t (wireguard_read with an empty datagram) into peer until DONE; counts
 * what the peer received on its tunnel side. */
static int drain(struct wireguard_tunnel* t, struct wireguard_tunnel* peer, int* delivered) {
    uint8_t out[BUF], in[BUF];
    int rounds = 0;
    for (;;) {
        struct wireguard_result r = wireguard_read(t, NULL, 0, out, sizeof out);
        if (r.op == WIREGUARD_DONE) return 0;
        if (r.op != WIREGUARD_WRITE_TO_NETWORK || ++rounds > 100) return -1;
        struct wireguard_result got = wireguard_read(peer, out, (uint32_t)r.size, in, sizeof in);
        if (got.op == WIREGUARD_WRITE_TO_TUNNEL_IPV4) ++*delivered;
    }
}

static int run(void) {
    /* Keys. */
    struct x25519_key sk_a = x25519_secret_key();
    struct x25519_key sk_b = x25519_secret_key();
    struct x25519_key pk_a = x25519_public_key(sk_a);
    struct x25519_key pk_b = x25519_public_key(sk_b);
    CHECK(memcmp(sk_a.key, sk_b.key, 32) != 0);
    CHECK(memcmp(pk_a.key, pk_b.key, 32) != 0);
    CHECK(memcmp(pk_a.key, sk_a.key, 32) != 0);

    char* sa = x25519_key_to_base64(sk_a);
    char* sb = x25519_key_to_base64(sk_b);
    char* pa = x25519_key_to_base64(pk_a);
    char* pb = x25519_key_to_base64(pk_b);
    char* hex = x25519_key_to_hex(pk_a);
    REQUIRE(sa && sb && pa && pb && hex);
    CHECK(strlen(sa) == 44);
    CHECK(strlen(pa) == 44);
    CHECK(strlen(hex) == 64);
    CHECK(check_base64_encoded_x25519_key(sa) == 1);
    CHECK(check_base64_encoded_x25519_key(pb) == 1);
    CHECK(check_base64_encoded_x25519_key("not a key") == 0);
    CHECK(check_base64_encoded_x25519_key(hex) == 0);
    CHECK(check_base64_encoded_x25519_key(NULL) == 0);

    /* Two tunnels, each the other's peer. */
    const char* err = "unset";
    struct wireguard_tunnel* a = new_tunnel(sa, pb, NULL, 0, 1, &err);
    REQUIRE(a != NULL);
    CHECK(err == NULL);
    struct wireguard_tunnel* b = new_tunnel(sb, pa, NULL, 0, 2, &err);
    REQUIRE(b != NULL);

    /* A bad key is refused with a reason. */
    err = NULL;
    CHECK(new_tunnel("not a key", pb, NULL, 0, 3, &err) == NULL);
    CHECK(err != NULL && strlen(err) > 0);
    err = NULL;
    CHECK(new_tunnel(sa, hex, NULL, 0, 3, &err) == NULL);
    CHECK(err != NULL && strlen(err) > 0);
    err = NULL;
    CHECK(new_tunnel(sa, pb, "bad psk", 0, 3, &err) == NULL);
    CHECK(err != NULL && strlen(err) > 0);
    err = NULL;
    CHECK(new_tunnel(sa, pb, NULL, 0, 0x1000000u, &err) == NULL);
    CHECK(err != NULL && strlen(err) > 0);
    CHECK(new_tunnel(NULL, pb, NULL, 0, 3, NULL) == NULL);

    uint8_t pkt[100], net[BUF], out[BUF];
    struct wireguard_result r, resp, got;
    int delivered = 0;

    /* a has no session: the packet is queued behind an initiation. */
    ipv4_packet(pkt, 100, 0xab);
    r = wireguard_write(a, pkt, 100, net, sizeof net);
    REQUIRE(r.op == WIREGUARD_WRITE_TO_NETWORK);
    CHECK(r.size == 148);

    /* b answers with a response; nothing queued on b. The source address is named
     * (wireguard_read_from), as an embedder that knows it should. */
    {
        const uint8_t src_a[6] = {192, 0, 2, 1, 0xca, 0x6c};
        resp = wireguard_read_from(b, src_a, sizeof src_a, net, (uint32_t)r.size, out, sizeof out);
    }
    REQUIRE(resp.op == WIREGUARD_WRITE_TO_NETWORK);
    CHECK(resp.size == 92);
    REQUIRE(drain(b, a, &delivered) == 0);

    /* a consumes the response and sends the queued packet. */
    memcpy(net, out, resp.size);
    r = wireguard_read(a, net, (uint32_t)resp.size, out, sizeof out);
    REQUIRE(r.op == WIREGUARD_WRITE_TO_NETWORK);
    memcpy(net, out, r.size);
    got = wireguard_read(b, net, (uint32_t)r.size, out, sizeof out);
    REQUIRE(got.op == WIREGUARD_WRITE_TO_TUNNEL_IPV4);
    CHECK(got.size == 100);
    CHECK(memcmp(out, pkt, 100) == 0);
    REQUIRE(drain(a, b, &delivered) == 0);
    CHECK(delivered == 0); /* there was only the one packet */

    /* a -> b on the session. */
    ipv4_packet(pkt, 60, 0x11);
    r = wireguard_write(a, pkt, 60, net, sizeof net);
    REQUIRE(r.op == WIREGUARD_WRITE_TO_NETWORK);
    got = wireguard_read(b, net, (uint32_t)r.size, out, sizeof out);
    REQUIRE(got.op == WIREGUARD_WRITE_TO_TUNNEL_IPV4);
    CHECK(got.size == 60);
    CHECK(memcmp(out, pkt, 60) == 0);

    /* b -> a. */
    ipv4_packet(pkt, 80, 0x22);
    r = wireguard_write(b, pkt, 80, net, sizeof net);
    REQUIRE(r.op == WIREGUARD_WRITE_TO_NETWORK);
    got = wireguard_read(a, net, (uint32_t)r.size, out, sizeof out);
    REQUIRE(got.op == WIREGUARD_WRITE_TO_TUNNEL_IPV4);
    CHECK(got.size == 80);
    CHECK(memcmp(out, pkt, 80) == 0);

    /* The same datagram again is a replay, with a reason. */
    got = wireguard_read(a, net, (uint32_t)r.size, out, sizeof out);
    CHECK(got.op == WIREGUARD_ERROR);
    CHECK(strcmp(wireguard_error_string(got.error), "replayed") == 0);

    /* Garbage is refused with a reason. */
    {
        uint8_t junk[3] = {9, 9, 9};
        got = wireguard_read(a, junk, sizeof junk, out, sizeof out);
        CHECK(got.op == WIREGUARD_ERROR);
        CHECK(strcmp(wireguard_error_string(got.error), "malformed") == 0);
    }
    CHECK(strcmp(wireguard_error_string(0xffffffffu), "unknown") == 0);

    /* Timers: nothing is due right after the handshake. */
    r = wireguard_tick(a, out, sizeof out);
    CHECK(r.op == WIREGUARD_DONE);

    /* Statistics. */
    {
        struct wireguard_stats st = wireguard_stats(a);
        CHECK(st.time_since_last_handshake >= 0 && st.time_since_last_handshake < 60);
        CHECK(st.tx_bytes >= 148);
        CHECK(st.rx_bytes >= 92);
        CHECK(st.dropped == 2);
        struct wireguard_stats sbs = wireguard_stats(b);
        CHECK(sbs.time_since_last_handshake >= 0 && sbs.time_since_last_handshake < 60);
        CHECK(sbs.tx_bytes >= 92);
        CHECK(sbs.rx_bytes >= 148);
        CHECK(sbs.dropped == 0);
        struct wireguard_stats none = wireguard_stats(NULL);
        CHECK(none.time_since_last_handshake == -1);
    }

    /* A forced handshake produces an initiation. */
    r = wireguard_force_handshake(a, out, sizeof out);
    CHECK(r.op == WIREGUARD_WRITE_TO_NETWORK);
    CHECK(r.size == 148);

    /* Bad arguments are errors, not crashes. */
    r = wireguard_write(NULL, pkt, 60, net, sizeof net);
    CHECK(r.op == WIREGUARD_ERROR);
    r = wireguard_read(a, NULL, 10, out, sizeof out);
    CHECK(r.op == WIREGUARD_ERROR);
    r = wireguard_write(a, pkt, 60, net, 10); /* output too small */
    CHECK(r.op == WIREGUARD_ERROR);

    tunnel_free(a);
    tunnel_free(b);
    x25519_key_to_str_free(sa);
    x25519_key_to_str_free(sb);
    x25519_key_to_str_free(pa);
    x25519_key_to_str_free(pb);
    x25519_key_to_str_free(hex);
    return 0;
}

int main(void) {
    if (run() != 0 || failures != 0) {
        fprintf(stderr, "capi_test: %d check(s) failed\n", failures);
        return 1;
    }
    printf("capi_test: ok\n");
    return 0;
}
