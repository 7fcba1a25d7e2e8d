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
    // Creates the device (not persistent: it disappears when closed) with the given MTU.
    static Result<std::unique_ptr<Tun>> create(const std::string& name, int mtu);
    ~Tun();
    Tun(const Tun&) = delete;
    Tun& operator=(const Tun&) = delete;

    int fd() const { return fd_; }
    const std::string& name() const { return name_; }
    // Current MTU as the kernel reports it (an admin may change it), or -1.
    int mtu() const;

private:
    Tun(int fd, std::string name) : fd_(fd), name_(std::move(name)) {}
    int fd_;
    std::string name_;
};

}  // namespace ztna::tunnel::io
