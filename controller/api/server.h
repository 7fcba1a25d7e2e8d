// The controller's HTTPS server: routes requests to the API handlers, checks
// the admin credential, caps request sizes and answers every failure with the
// JSON error shape. TLS 1.2 at least.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "controller_config.h"
#include "store.h"
#include "ztna/result.h"

namespace httplib {
class SSLServer;
}

namespace ztna::controller {

using Clock = std::function<std::int64_t()>;  // Unix seconds
std::int64_t system_clock_seconds();

class ControllerServer {
public:
    ControllerServer(ControllerConfig config, Store& store, Clock clock = system_clock_seconds);
    ~ControllerServer();

    // Binds (port 0 picks a free one) and serves on a background thread.
    Result<void> start();
    int port() const { return port_; }
    void stop();

    static constexpr std::size_t kMaxBodyBytes = 64 * 1024;

private:
    void routes();

    ControllerConfig config_;
    Store& store_;
    Clock clock_;
    std::unique_ptr<httplib::SSLServer> http_;
    std::thread thread_;
    int port_ = 0;
};

}  // namespace ztna::controller
