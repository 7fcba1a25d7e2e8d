// ztna-agentd's end of the local IPC (docs/ipc.md): a unix stream socket that
// everyone may connect to, with every call authorized from the caller's peer
// credentials (SO_PEERCRED), default deny.
//
// One thread polls the listening socket, the clients and a wake-up eventfd.
// Handlers run on that thread, so they must be short. Hostile local clients
// cannot crash or stall it: frames are capped, garbage, idle connections,
// floods and clients that do not read are cut off (see Options).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "ipc_protocol.h"
#include "ztna/json.h"
#include "ztna/result.h"

namespace ztna::ipc {

class IpcServer {
public:
    struct Caller {
        uid_t uid;
        gid_t gid;
        pid_t pid;
        bool may_control;  // may_control(uid), evaluated for this call
    };
    enum class Access { Status, Control };
    struct Method {
        Access access;
        std::function<Result<json::Value>(const json::Value& params, const Caller&)> handle;
    };

    // The server's own limits; the defaults are the documented ones.
    struct Options {
        std::size_t max_clients = 32;                        // more get "busy" and are closed
        std::size_t max_clients_per_uid = 8;                 // any one uid but root: one user cannot fill the daemon
        std::size_t root_reserve = 4;                        // extra connections only root may use
        std::chrono::milliseconds idle_timeout{10'000};      // nothing complete for this long: closed
        std::size_t max_output = 1u << 20;                   // unsent bytes for one client: closed
        int max_bad_frames = 8;                              // bad_request answers before closing
        int max_requests_per_second = 64;                    // per client, token bucket; more get "busy"
        std::chrono::milliseconds max_wait{1'000};           // longest poll() sleep while deadlines run
        std::function<std::chrono::steady_clock::time_point()> clock = {};  // default steady_clock::now
        std::function<void(const std::string&)> log = {};   // one line per notable event; default none
    };

    // Binds `path` (creating its parent directory 0755 when missing), makes it
    // mode 0666 and starts the server thread. A stale socket file is replaced;
    // a live one (another daemon answers) is refused with code already_running.
    // The method "subscribe" is built in: it subscribes the caller to
    // broadcast() events (if `methods` has "subscribe" too, that Method is
    // authorized and called, and the caller is subscribed when it succeeds).
    static Result<std::unique_ptr<IpcServer>> listen(const std::string& path, std::map<std::string, Method> methods,
                                                     std::function<bool(uid_t)> may_control,
                                                     std::string daemon_version);
    static Result<std::unique_ptr<IpcServer>> listen(const std::string& path, std::map<std::string, Method> methods,
                                                     std::function<bool(uid_t)> may_control,
                                                     std::string daemon_version, Options options);

    // Sends {"event":event,"data":data} to every subscribed client. Thread-safe;
    // returns at once (the server thread writes). Dropped after stop().
    void broadcast(const std::string& event, const json::Value& data);

    // Closes every connection and the socket, and removes the socket file (if
    // it is still the one this server bound). Idempotent; from a handler, the
    // server stops once that handler returns.
    void stop();

    ~IpcServer();
    IpcServer(const IpcServer&) = delete;
    IpcServer& operator=(const IpcServer&) = delete;

    struct State;  // defined in ipc_server.cpp

private:
    explicit IpcServer(std::unique_ptr<State> state);
    std::unique_ptr<State> s_;
};

}  // namespace ztna::ipc
