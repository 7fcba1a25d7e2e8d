// A layer-3 TUN device. One implementation file per OS (tun_linux.cpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include <ztna/result.h>

namespace ztna::tunnel::io {

class Tun {
public:
    // Creates the device (not persistent: it disappears when closed) with the
    // given MTU. With offload, asks for virtio-net headers and TCP segmentation
    // offload, and falls back to plain packets where the kernel refuses.
    static Result<std::unique_ptr<Tun>> create(const std::string& name, int mtu, bool offload = true);
    // A test double: any file descriptor that reads and writes whole IP
    // packets (a SOCK_SEQPACKET socketpair), with no virtio-net headers.
    static std::unique_ptr<Tun> adopt(int fd, std::string name);
    ~Tun();
    Tun(const Tun&) = delete;
    Tun& operator=(const Tun&) = delete;

    int fd() const { return fd_; }
    const std::string& name() const { return name_; }
    // Current MTU as the kernel reports it (an admin may change it), or -1.
    int mtu() const;
    // Every read and write carries a virtio-net header (VnetHdr) first.
    bool vnet() const { return vnet_; }
    // The kernel may hand over TCP super-packets and accepts them (TSO/GRO).
    bool offload() const { return offload_; }

private:
    Tun(int fd, std::string name) : fd_(fd), name_(std::move(name)) {}
    int fd_;
    std::string name_;
    bool vnet_ = false;
    bool offload_ = false;
};

}  // namespace ztna::tunnel::io
