// Server-sent events (text/event-stream) as the controller writes them:
// frames of "event: TYPE" and "data: ONE-LINE-JSON" lines ended by a blank
// line; comment lines (": keep-alive") and other fields are ignored. Shared by
// the gateway, the agent, the tests and the benchmarks that read the streams.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

namespace ztna {

struct SseEvent {
    std::string type;
    std::string data;
};

class SseParser {
public:
    // Feeds bytes as they arrive; calls on_event for every complete frame
    // that names an event. False when more than max_buffered bytes wait for
    // the end of a frame (a hostile or broken stream).
    bool feed(std::string_view bytes, const std::function<void(const SseEvent&)>& on_event,
              std::size_t max_buffered = 1u << 20);

private:
    std::string buf_;
};

}  // namespace ztna
