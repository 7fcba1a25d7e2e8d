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

Result<std::unique_ptr<Tun>> Tun::create(const std::string& name, int mtu, bool offload) {
    if (name.empty() || name.size() >= IFNAMSIZ)
        return fail("interface name '" + name + "' must be 1 to " + std::to_string(IFNAMSIZ - 1) + " characters");
    const int fd = ::open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return fail("cannot open /dev/net/tun: " + errstr() + " (load the tun module and run as root or with CAP_NET_ADMIN)");
    ifreq ifr{};
    ifr.ifr_flags = IFF_TUN | IFF_NO_PI | (offload ? IFF_VNET_HDR : 0);
    std::strncpy(ifr.ifr_name, name.c_str(), IFNAMSIZ - 1);
    if (::ioctl(fd, TUNSETIFF, &ifr) < 0) {
        const std::string e = errstr();
        ::close(fd);
        return fail("cannot create TUN device '" + name + "': " + e + " (is the name taken by another kind of interface?)");
    }
    const int flags = ::fcntl(fd, F_GETFL);
    ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
    std::unique_ptr<Tun> tun(new Tun(fd, ifr.ifr_name));
    if (offload) {
        int hdr = 10;  // sizeof(struct virtio_net_hdr)
        tun->vnet_ = ::ioctl(fd, TUNSETVNETHDRSZ, &hdr) == 0;
        if (!tun->vnet_) {
            return fail("TUN device '" + name + "' refused virtio-net headers: " + errstr());
        }
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
