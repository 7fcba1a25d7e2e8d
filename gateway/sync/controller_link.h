// The gateway's connection to the controller: the full grant list, the event
// stream (server-sent events), and session reports; HTTPS with the controller
// CA pinned and the gateway's credential as a Bearer token.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "gateway_config.h"
#include "grant_set.h"
#include "ztna/json.h"
#include "ztna/sse_client.h"
#include "ztna/result.h"

namespace ztna::gateway {

class ControllerLink {
public:
    static Result<ControllerLink> create(const GatewayConfig& c);

    // GET /v1/gateway/grants. Grants that cannot be enforced exactly are
    // left out and described in *skipped.
    Result<std::vector<GatewayGrant>> fetch_grants(std::vector<std::string>* skipped);
    // GET /v1/gateway/events until the stream ends, an error, or stop.
    Result<void> stream_events(const std::function<void(const std::string& type, const json::Value& data)>& on_event,
                               const std::atomic<bool>& stop);
    Result<void> report_sessions(const json::Array& sessions);
    // Ends a stream_events in progress at once (shutdown).
    void interrupt();

private:
    std::shared_ptr<SseClient> events_;
    std::string host_;
    int port_ = 443;
    std::string ca_;
    std::string token_;
};

}  // namespace ztna::gateway
