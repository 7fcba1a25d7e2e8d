// A server-sent event stream over HTTPS (the controller's /v1/events and
// /v1/gateway/events), for the agent and the gateway alike: the CA pinned, a
// Bearer credential, events parsed as JSON, 40 s of silence taken as a lost
// controller (it sends a keep-alive every 15 s), and interrupt() from another
// thread to end a stream at once.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include "ztna/json.h"
#include "ztna/result.h"

namespace ztna {

class SseClient {
public:
    SseClient(std::string host, int port, std::string ca_file);
    // GET path until the stream ends, fails, or stop is set. A refusal (non-200)
    // carries the server's error code and "what: message (remediation)"; a
    // transport failure has code "unreachable".
    Result<void> run(const std::string& path, const std::string& bearer,
                     const std::function<void(const std::string& type, const json::Value& data)>& on_event,
                     const std::atomic<bool>& stop);
    void interrupt();

private:
    struct Active;
    std::shared_ptr<Active> active_;
    std::string host_, ca_;
    int port_;
};

}  // namespace ztna
