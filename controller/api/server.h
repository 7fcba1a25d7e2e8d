// The controller's HTTPS server: routes requests to the API handlers, checks
// the admin credential, caps request sizes and answers every failure with the
// JSON error shape. TLS 1.2 at least.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include <atomic>

#include "control_plane.h"
#include "controller_config.h"
#include "store.h"
#include "ztna/result.h"

namespace httplib {
class SSLServer;
}

namespace ztna::controller {

class ControllerServer {
public:
    ControllerServer(ControllerConfig config, Store& store, ControlPlane& control);
    ~ControllerServer();

    // Binds (port 0 picks a free one) and serves on a background thread; a
    // second thread ends expired grants and reloads the policy every second
    // (housekeeping_interval).
    Result<void> start();
    int port() const { return port_; }
    void stop();

    static constexpr std::size_t kMaxBodyBytes = 64 * 1024;
    static constexpr int kWorkerThreads = 64;  // each open event stream holds one
    std::chrono::milliseconds housekeeping_interval{1000};
    std::chrono::milliseconds keepalive_interval{15000};

private:
    void routes();

    void housekeeping();

    ControllerConfig config_;
    Store& store_;
    ControlPlane& control_;
    std::unique_ptr<httplib::SSLServer> http_;
    std::thread thread_, housekeeper_;
    std::atomic<bool> stopping_{false};
    int port_ = 0;
};

}  // namespace ztna::controller
