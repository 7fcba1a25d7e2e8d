// The agent's side of docs/protocol.md: HTTPS to the controller, its CA
// pinned (managed setting controller_ca), JSON in and out. Every call has a
// timeout. A transport failure is error code "unreachable"; a refusal carries
// the controller's error code and message.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "ztna/json.h"
#include "ztna/sse_client.h"
#include "ztna/result.h"

namespace ztna::agent {

struct Reply {
    int status = 0;
    json::Value body;
};

class ControllerClient {
public:
    static Result<ControllerClient> create(const std::string& url, const std::string& ca_file);

    // POST path with a JSON body (bearer may be empty). Any HTTP status is a
    // Reply; only a failure to talk at all is an error ("unreachable").
    // timeout_s: longest wait for the answer; connecting and sending wait at most
    // 3 s and 5 s, or timeout_s when that is shorter.
    Result<Reply> post(const std::string& path, const json::Value& body, const std::string& bearer = {}, int timeout_s = 10) const;

    // The same, but a non-2xx answer becomes an error with the controller's
    // code and "what: message (remediation)".
    Result<json::Value> post_ok(const std::string& what, const std::string& path, const json::Value& body,
                                const std::string& bearer = {}) const;

    // GET /v1/events until the stream ends, fails, or stop is set.
    Result<void> stream_events(const std::string& session_token,
                               const std::function<void(const std::string& type, const json::Value& data)>& on_event,
                               const std::atomic<bool>& stop);
    void interrupt();  // ends a stream_events in progress

    const std::string& url() const { return url_; }

private:
    std::shared_ptr<SseClient> events_;  // shared by copies: one stream at a time
    std::string url_, host_, ca_;
    int port_ = 443;
};

// "message (remediation)" of an error answer, or the status when it has none.
std::string describe_refusal(const Reply& r);

}  // namespace ztna::agent
