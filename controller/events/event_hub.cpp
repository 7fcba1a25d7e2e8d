#include "event_hub.h"

#include <algorithm>

namespace ztna::controller {

std::string sse_frame(const Event& e) {
    return "id: " + std::to_string(e.seq) + "\nevent: " + e.type + "\ndata: " + json::dump(e.data) + "\n\n";
}

std::optional<Event> EventHub::Subscription::next(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, timeout, [this] { return closed_ || !queue_.empty(); });
    if (queue_.empty()) return std::nullopt;
    Event e = std::move(queue_.front());
    queue_.pop_front();
    return e;
}

bool EventHub::Subscription::closed() const {
    std::lock_guard lock(mu_);
    return closed_ && queue_.empty();
}

std::shared_ptr<EventHub::Subscription> EventHub::subscribe(const std::string& topic, std::size_t max_per_topic,
                                                            std::size_t max_total) {
    auto s = std::make_shared<Subscription>();
    std::lock_guard lock(mu_);
    if (closing_) {
        s->closed_ = true;
        return s;
    }
    auto& subs = topics_[topic];
    if (subs.size() >= max_per_topic || total_ >= max_total) {
        if (subs.empty()) topics_.erase(topic);
        return nullptr;
    }
    subs.push_back(s);
    ++total_;
    return s;
}

void EventHub::unsubscribe(const std::string& topic, const std::shared_ptr<Subscription>& s) {
    std::lock_guard lock(mu_);
    auto it = topics_.find(topic);
    if (it == topics_.end()) return;
    auto& v = it->second;
    const auto before = v.size();
    v.erase(std::remove(v.begin(), v.end(), s), v.end());
    total_ -= before - v.size();
    if (v.empty()) topics_.erase(it);
}

void EventHub::publish(const std::string& topic, const std::string& type, json::Value data) {
    std::lock_guard lock(mu_);
    auto it = topics_.find(topic);
    const std::int64_t seq = ++seq_;
    if (it == topics_.end()) return;
    for (const auto& s : it->second) {
        std::lock_guard sl(s->mu_);
        if (s->closed_) continue;
        if (s->queue_.size() >= kMaxQueued) {
            s->closed_ = true;  // too far behind: the client reconnects and resyncs
        } else {
            s->queue_.push_back(Event{seq, type, data});
        }
        s->cv_.notify_all();
    }
}

void EventHub::close_topic(const std::string& topic) {
    std::lock_guard lock(mu_);
    auto it = topics_.find(topic);
    if (it == topics_.end()) return;
    for (const auto& s : it->second) {
        std::lock_guard sl(s->mu_);
        s->closed_ = true;
        s->cv_.notify_all();
    }
    total_ -= it->second.size();
    topics_.erase(it);
}

void EventHub::close_all() {
    std::lock_guard lock(mu_);
    closing_ = true;
    for (auto& [topic, subs] : topics_)
        for (const auto& s : subs) {
            std::lock_guard sl(s->mu_);
            s->closed_ = true;
            s->cv_.notify_all();
        }
    topics_.clear();
    total_ = 0;
}

std::size_t EventHub::subscribers(const std::string& topic) {
    std::lock_guard lock(mu_);
    auto it = topics_.find(topic);
    return it == topics_.end() ? 0 : it->second.size();
}

}  // namespace ztna::controller
