/* C API of the ZTNA WireGuard tunnel, shaped like BoringTun's FFI
 * (boringtun/src/wireguard_ffi.h) so embedders in other languages can use it.
 * One tunnel = one peer. The caller owns every buffer and all I/O:
 *
 *   - wireguard_write: an IP packet from the TUN side; send the result to the peer.
 *   - wireguard_read: a datagram from the peer; write the result to TUN or the network.
 *     After a WIREGUARD_WRITE_TO_NETWORK from wireguard_read, call wireguard_read again
 *     with src_size 0 until it returns WIREGUARD_DONE: that drains packets that were
 *     queued behind the handshake.
 *   - wireguard_tick: call every 100-250 ms, repeatedly until WIREGUARD_DONE; it also sends
 *     packets still queued from before a session was confirmed.
 *
 * Unlike BoringTun, a dropped input says why: result.error is a wireguard_drop_reason,
 * and wireguard_error_string() names it. Functions are thread-safe per tunnel. */
#ifndef ZTNA_WIREGUARD_H
#define ZTNA_WIREGUARD_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum wireguard_result_type {
    WIREGUARD_DONE = 0,
    WIREGUARD_WRITE_TO_NETWORK = 1,
    WIREGUARD_ERROR = 2,
    WIREGUARD_WRITE_TO_TUNNEL_IPV4 = 4,
    WIREGUARD_WRITE_TO_TUNNEL_IPV6 = 6
};

struct wireguard_result {
    enum wireguard_result_type op;
    size_t size;    /* bytes written to dst */
    uint32_t error; /* with WIREGUARD_ERROR: why the input was dropped (wireguard_error_string) */
};

struct wireguard_stats {
    int64_t time_since_last_handshake; /* seconds; -1 if never */
    uint64_t tx_bytes;
    uint64_t rx_bytes;
    uint64_t dropped; /* inputs dropped, all reasons */
    uint8_t reserved[56]; /* room to grow without breaking the ABI */
};

struct x25519_key {
    uint8_t key[32];
};

struct wireguard_tunnel;

/* Keys. Strings returned by *_to_base64 are freed with x25519_key_to_str_free. */
struct x25519_key x25519_secret_key(void);
struct x25519_key x25519_public_key(struct x25519_key private_key);
char* x25519_key_to_base64(struct x25519_key key);
char* x25519_key_to_hex(struct x25519_key key);
void x25519_key_to_str_free(char* s);
/* 1 if s is the base64 of 32 bytes, else 0. */
int check_base64_encoded_x25519_key(const char* s);

/* Keys in base64; preshared_key may be NULL. keep_alive in seconds (0: off).
 * index: 24 bits that make this tunnel's session indices unique among tunnels
 * sharing a socket. On failure returns NULL and, if error is not NULL, sets
 * *error to a static string that says which argument was wrong. */
struct wireguard_tunnel* new_tunnel(const char* static_private, const char* server_static_public,
                                    const char* preshared_key, uint16_t keep_alive, uint32_t index,
                                    const char** error);
void tunnel_free(struct wireguard_tunnel* tunnel);

struct wireguard_result wireguard_write(struct wireguard_tunnel* tunnel, const uint8_t* src, uint32_t src_size,
                                        uint8_t* dst, uint32_t dst_size);
struct wireguard_result wireguard_read(struct wireguard_tunnel* tunnel, const uint8_t* src, uint32_t src_size,
                                       uint8_t* dst, uint32_t dst_size);
/* As wireguard_read, naming the datagram's source (address and port bytes, at most 18, in any
 * encoding the caller keeps using). Under load, cookies are bound to it, so a client cannot
 * reuse its cookie for initiations spoofed from other addresses; use this one whenever the
 * source is known. */
struct wireguard_result wireguard_read_from(struct wireguard_tunnel* tunnel, const uint8_t* src_addr,
                                            uint32_t src_addr_len, const uint8_t* src, uint32_t src_size,
                                            uint8_t* dst, uint32_t dst_size);
struct wireguard_result wireguard_tick(struct wireguard_tunnel* tunnel, uint8_t* dst, uint32_t dst_size);
struct wireguard_result wireguard_force_handshake(struct wireguard_tunnel* tunnel, uint8_t* dst, uint32_t dst_size);
struct wireguard_stats wireguard_stats(struct wireguard_tunnel* tunnel);

/* A short, stable name for result.error ("replayed", "decrypt_failed", ...). */
const char* wireguard_error_string(uint32_t error);

#ifdef __cplusplus
}
#endif

#endif /* ZTNA_WIREGUARD_H */
