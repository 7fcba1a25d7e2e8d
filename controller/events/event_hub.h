// The push channel's hub: events published on a topic ("session:ses_...",
// "gateway:gw1") reach every subscription of that topic at once. Each
// subscription has a bounded queue; one that falls behind is closed, and its
// client reconnects and resynchronizes (the full state is always one GET away).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "ztna/json.h"

namespace ztna::controller {

struct Event {
    std::int64_t seq = 0;
    std::string type;  // grant_added, grant_removed, access_changed, session_ended, posture_requested
    json::Value data;
};

// Server-sent events wire form: "id: N\nevent: TYPE\ndata: JSON\n\n".
std::string sse_frame(const Event& e);

class EventHub {
public:
    class Subscription {
    public:
        // The next event, or nothing after timeout (send a keep-alive) or
        // once closed (end the stream).
        std::optional<Event> next(std::chrono::milliseconds timeout);
        bool closed() const;

    private:
        friend class EventHub;
        mutable std::mutex mu_;
        std::condition_variable cv_;
        std::deque<Event> queue_;
        bool closed_ = false;
    };

    static constexpr std::size_t kMaxQueued = 1000;

    // Nothing (the caller answers 503) when the topic already has
    // max_per_topic streams or the hub has max_total.
    std::shared_ptr<Subscription> subscribe(const std::string& topic, std::size_t max_per_topic = 2, std::size_t max_total = 1000);
    void unsubscribe(const std::string& topic, const std::shared_ptr<Subscription>& s);
    void publish(const std::string& topic, const std::string& type, json::Value data);
    // Ends the subscriptions of one topic (a session that ended).
    void close_topic(const std::string& topic);
    // Ends every subscription (the server is stopping).
    void close_all();
    std::size_t subscribers(const std::string& topic);

private:
    std::mutex mu_;
    std::map<std::string, std::vector<std::shared_ptr<Subscription>>> topics_;
    std::int64_t seq_ = 0;
    std::size_t total_ = 0;
    bool closing_ = false;
};

}  // namespace ztna::controller
