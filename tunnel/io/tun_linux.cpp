#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "tun.h"

namespace ztna::tunnel::io {

namespace {
std::string errstr() { return std::strerror(errno); }

struct Fd {
    int fd;
    ~Fd() {
        if (fd >= 0) ::close(fd);
    }
};
}  // namespace

namespace {
// Opens /dev/net/tun and attaches it to the interface `name`.
Result<int> open_tun(const std::string& name, short flags, std::string& actual_name) {
    const int fd = ::open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return fail("cannot open /dev/net/tun: " + errstr() + " (load the tun module and run as root or with CAP_NET_ADMIN)");
    ifreq ifr{};
    ifr.ifr_flags = flags;
    std::strncpy(ifr.ifr_name, name.c_str(), IFNAMSIZ - 1);
    if (::ioctl(fd, TUNSETIFF, &ifr) < 0) {
        const int e = errno;
        ::close(fd);
        const char* hint = e == EBUSY    ? " (another process, e.g. ztna-wg or wireguard-go, already serves it)"
                           : e == EINVAL ? " (not a valid interface name, or taken by an interface that is not a TUN device)"
                           : e == EPERM  ? " (run as root or with CAP_NET_ADMIN)"
                                         : "";
        return fail("cannot create TUN device '" + name + "': " + std::strerror(e) + hint);
    }
    actual_name = ifr.ifr_name;
    return fd;
}
}  // namespace

Result<std::unique_ptr<Tun>> Tun::create(const std::string& name, int mtu, bool offload) {
    if (name.empty() || name.size() >= IFNAMSIZ)
        return fail("interface name '" + name + "' must be 1 to " + std::to_string(IFNAMSIZ - 1) + " characters");
    std::string actual;
    bool vnet = false;
    int fd = -1;
    if (offload) {
        auto r = open_tun(name, IFF_TUN | IFF_NO_PI | IFF_VNET_HDR, actual);
        if (!r) return Unexpected<Error>{r.error()};
        fd = *r;
        int hdr = 10;  // sizeof(struct virtio_net_hdr)
        vnet = ::ioctl(fd, TUNSETVNETHDRSZ, &hdr) == 0;
        if (!vnet) {  // this kernel will not do virtio-net headers: plain packets
            ::close(fd);
            fd = -1;
        }
    }
    if (fd < 0) {
        auto r = open_tun(name, IFF_TUN | IFF_NO_PI, actual);
        if (!r) return Unexpected<Error>{r.error()};
        fd = *r;
    }
    const int flags = ::fcntl(fd, F_GETFL);
    ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
    std::unique_ptr<Tun> tun(new Tun(fd, actual));
    tun->vnet_ = vnet;
    if (vnet) {
        const unsigned features = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6;
        tun->offload_ = ::ioctl(fd, TUNSETOFFLOAD, features) == 0;
    }
    Fd s{::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)};
    if (s.fd >= 0) {
        ifreq m{};
        std::strncpy(m.ifr_name, tun->name_.c_str(), IFNAMSIZ - 1);
        m.ifr_mtu = mtu;
        if (::ioctl(s.fd, SIOCSIFMTU, &m) < 0)
            return fail("cannot set MTU " + std::to_string(mtu) + " on '" + name + "': " + errstr());
    }
    return tun;
}

std::unique_ptr<Tun> Tun::adopt(int fd, std::string name) {
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
    return std::unique_ptr<Tun>(new Tun(fd, std::move(name)));
}

Tun::~Tun() {
    if (fd_ >= 0) ::close(fd_);
}

int Tun::mtu() const {
    Fd s{::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)};
    if (s.fd < 0) return -1;
    ifreq m{};
    std::strncpy(m.ifr_name, name_.c_str(), IFNAMSIZ - 1);
    if (::ioctl(s.fd, SIOCGIFMTU, &m) < 0) return -1;
    return m.ifr_mtu;
}

}  // namespace ztna::tunnel::io
