// Serves the UAPI of one device on /var/run/wireguard/IFNAME.sock, so the
// stock wg(8) tool configures and reads it. The text protocol itself is in
// uapi_codec.h; this is only the socket. One implementation per OS.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include <ztna/result.h>

namespace ztna::tunnel::io {

class UapiServer {
public:
    using Handler = std::function<std::string(std::string_view request)>;
    static constexpr std::size_t kMaxRequestBytes = 8u << 20;  // a few thousand peers
    static constexpr int kMaxConnections = 8;
    static constexpr int kReadTimeoutSeconds = 5;
    static constexpr int kConnectionSeconds = 30;  // a slow client cannot hold a slot longer

    static std::string socket_path(const std::string& ifname);
    static Result<std::unique_ptr<UapiServer>> listen(const std::string& ifname, Handler handler);
    ~UapiServer();
    void start();
    void stop();  // closes and removes the socket
    const std::string& path() const { return path_; }

private:
    UapiServer(int fd, std::string path, Handler h) : fd_(fd), path_(std::move(path)), handler_(std::move(h)) {}
    void accept_loop();
    void serve(int conn);

    int fd_;
    std::string path_;
    Handler handler_;
    std::atomic<bool> running_{false};
    std::atomic<int> connections_{0};
    std::thread thread_;
};

}  // namespace ztna::tunnel::io
