#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "uapi_server.h"

#include <sodium.h>

#include <chrono>

#include "uapi_codec.h"

namespace ztna::tunnel::io {

namespace {
constexpr char kDir[] = "/var/run/wireguard";

// Overwrites the first n bytes (all by default) of a string that held key material.
void wipe(std::string& s, std::size_t n = std::string::npos) {
    if (!s.empty()) sodium_memzero(s.data(), std::min(n, s.size()));
}

bool write_all(int fd, const std::string& s) {
    std::size_t off = 0;
    while (off < s.size()) {
        const ssize_t n = ::send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        off += std::size_t(n);
    }
    return true;
}
}  // namespace

std::string UapiServer::socket_path(const std::string& ifname) { return std::string(kDir) + "/" + ifname + ".sock"; }

Result<std::unique_ptr<UapiServer>> UapiServer::listen(const std::string& ifname, Handler handler) {
    if (::mkdir(kDir, 0755) < 0 && errno != EEXIST)
        return fail(std::string("cannot create ") + kDir + ": " + std::strerror(errno));
    const std::string path = socket_path(ifname);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.size() >= sizeof addr.sun_path) return fail("UAPI socket path too long: " + path);
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);

    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return fail(std::string("cannot create a unix socket: ") + std::strerror(errno));
    // A live socket means another process serves this interface; a dead one is stale.
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
        ::close(fd);
        return fail("UAPI socket " + path + " is in use by another process; stop it or pick another interface name");
    }
    ::unlink(path.c_str());
    const mode_t old = ::umask(0077);  // the socket is 0600: configuration is root's
    const int b = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    ::umask(old);
    if (b < 0 || ::listen(fd, 16) < 0) {
        const std::string e = std::strerror(errno);
        ::close(fd);
        return fail("cannot listen on " + path + ": " + e);
    }
    return std::unique_ptr<UapiServer>(new UapiServer(fd, path, std::move(handler)));
}

UapiServer::~UapiServer() { stop(); }

void UapiServer::start() {
    if (running_.exchange(true)) return;
    thread_ = std::thread([this] { accept_loop(); });
}

void UapiServer::stop() {
    running_ = false;
    if (thread_.joinable()) thread_.join();
    if (fd_ >= 0) {
        ::close(fd_);
        ::unlink(path_.c_str());
        fd_ = -1;
    }
    while (connections_.load() > 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
}

void UapiServer::accept_loop() {
    while (running_.load()) {
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, 200) <= 0) continue;
        const int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (c < 0) continue;
        if (connections_.load() >= kMaxConnections) {  // a flood gets closed, not queued
            ::close(c);
            continue;
        }
        ++connections_;
        std::thread([this, c] {
            serve(c);
            ::close(c);
            --connections_;
        }).detach();
    }
}

void UapiServer::serve(int c) {
    timeval tv{kReadTimeoutSeconds, 0};
    ::setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    // Requests and answers carry private and preshared keys (hex): wiped when done.
    std::string buf;
    buf.reserve(1 << 16);  // fewer reallocations, so fewer stale copies of keys on the heap
    char chunk[16384];
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(kConnectionSeconds);
    std::size_t scanned = 0;
    while (running_.load() && std::chrono::steady_clock::now() < deadline) {
        const auto end = buf.find("\n\n", scanned > 0 ? scanned - 1 : 0);
        if (end != std::string::npos) {
            std::string answer = handler_(std::string_view(buf).substr(0, end));
            const bool sent = write_all(c, answer);
            wipe(answer);
            wipe(buf, end + 2);
            buf.erase(0, end + 2);
            scanned = 0;
            if (!sent) break;
            continue;
        }
        scanned = buf.size();
        if (buf.size() > kMaxRequestBytes) {
            write_all(c, format_errno(uapi_errno::kProtocol));  // request too large
            break;
        }
        const ssize_t n = ::recv(c, chunk, sizeof chunk, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;  // closed, error or timeout
        buf.append(chunk, std::size_t(n));
    }
    sodium_memzero(chunk, sizeof chunk);
    wipe(buf);
}

}  // namespace ztna::tunnel::io
