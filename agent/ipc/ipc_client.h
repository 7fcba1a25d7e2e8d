// The client end of the local IPC (docs/ipc.md), for ztnactl and the tray.
// Every operation has a deadline; errors carry a stable code
// (daemon_not_running, permission_denied, timeout, disconnected, the server's
// own codes...) and a message that says what to do.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <string>
#include <utility>

#include "ipc_protocol.h"
#include "ztna/json.h"
#include "ztna/result.h"

namespace ztna::ipc {

class IpcClient {
public:
    // Connects and does the version handshake, within `timeout`. The same
    // timeout then bounds each call().
    static Result<IpcClient> connect(const std::string& path, std::chrono::milliseconds timeout);

    // Sends one request and waits for its answer. A server error comes back as
    // Error{code = the server's code, message = its message and remediation}.
    // If the daemon closed this connection for being idle (unsubscribed),
    // call() reconnects once and sends again: the daemon had not read the
    // request, so nothing runs twice.
    Result<json::Value> call(const std::string& method, const json::Value& params = json::Object{});

    // The next event pushed by the daemon (after call("subscribe")), queued
    // ones first; Error code "timeout" when none comes within `timeout`.
    Result<std::pair<std::string, json::Value>> next_event(std::chrono::milliseconds timeout);

    // The deadline of each later call (the connect timeout until then).
    void set_timeout(std::chrono::milliseconds timeout) { timeout_ = timeout; }
    const std::string& daemon_version() const { return daemon_version_; }

    IpcClient(IpcClient&&) = default;
    IpcClient& operator=(IpcClient&&) = default;
    ~IpcClient() = default;

private:
    // The socket; closed when the client is destroyed or reconnects.
    class Fd {
    public:
        Fd() = default;
        explicit Fd(int fd) : fd_(fd) {}
        Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
        Fd& operator=(Fd&& o) noexcept;
        ~Fd() { reset(); }
        int get() const { return fd_; }
        void reset();

    private:
        int fd_ = -1;
    };
    using Deadline = std::chrono::steady_clock::time_point;
    IpcClient(std::string path, std::chrono::milliseconds timeout) : path_(std::move(path)), timeout_(timeout) {}

    Result<void> open(Deadline deadline);
    Result<json::Value> call_once(const std::string& method, const json::Value& params, Deadline deadline);
    Result<ServerMessage> read_message(Deadline deadline, const std::string& timeout_message);
    Result<void> send_all(const std::string& bytes, Deadline deadline, const std::string& timeout_message);
    bool peer_closed();
    Unexpected<Error> send_failed(const Error& error, Deadline deadline);

    std::string path_;
    std::chrono::milliseconds timeout_;
    Fd fd_;
    std::string daemon_version_;
    FrameReader reader_;
    std::string pending_;  // received bytes not yet fed to reader_
    bool eof_ = false;
    bool subscribed_ = false;
    std::int64_t next_id_ = 1;
    std::deque<Event> events_;
};

}  // namespace ztna::ipc
