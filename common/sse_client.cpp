#include "ztna/sse_client.h"

#include <httplib.h>

#include <mutex>

#include "ztna/sse.h"

namespace ztna {

struct SseClient::Active {
    std::mutex mu;
    httplib::SSLClient* client = nullptr;  // the stream's, while it runs
};

SseClient::SseClient(std::string host, int port, std::string ca_file)
    : active_(std::make_shared<Active>()), host_(std::move(host)), ca_(std::move(ca_file)), port_(port) {}

void SseClient::interrupt() {
    std::lock_guard lock(active_->mu);
    if (active_->client) active_->client->stop();
}

Result<void> SseClient::run(const std::string& path, const std::string& bearer,
                            const std::function<void(const std::string&, const json::Value&)>& on_event,
                            const std::atomic<bool>& stop) {
    httplib::SSLClient c(host_, port_);
    c.set_ca_cert_path(ca_.c_str());
    c.enable_server_certificate_verification(true);
    c.set_connection_timeout(3, 0);
    c.set_read_timeout(40, 0);  // keep-alives come every 15 s
    {
        std::lock_guard lock(active_->mu);
        active_->client = &c;
    }
    struct Clear {
        Active& a;
        ~Clear() {
            std::lock_guard lock(a.mu);
            a.client = nullptr;
        }
    } clear{*active_};
    if (stop) return {};
    SseParser sse;
    bool too_big = false;
    int status = 0;
    std::string refusal;
    auto r = c.Get(
        path, {{"Authorization", "Bearer " + bearer}},
        [&](const httplib::Response& resp) {
            status = resp.status;
            return true;
        },
        [&](const char* d, std::size_t n) {
            if (status != 200) {
                if (refusal.size() < 65536) refusal.append(d, n);
                return true;
            }
            too_big = !sse.feed(std::string_view(d, n), [&](const SseEvent& e) {
                auto v = json::parse(e.data, {.max_bytes = 1u << 20, .max_depth = 16});
                on_event(e.type, v ? *v : json::Value());
            });
            return !too_big && !stop.load();
        });
    if (too_big) return fail("too_large", "an event from the controller was larger than 1 MiB");
    if (stop) return {};
    if (!r) return fail("unreachable", "the event stream ended: " + httplib::to_string(r.error()));
    if (r->status != 200) {
        auto v = json::parse(refusal, {.max_bytes = 1u << 20, .max_depth = 16});
        const json::Value* e = v ? v->find("error") : nullptr;
        const std::string* code = e ? e->string_at("code") : nullptr;
        const std::string* msg = e ? e->string_at("message") : nullptr;
        const std::string* rem = e ? e->string_at("remediation") : nullptr;
        return fail(code ? *code : "http_" + std::to_string(r->status),
                    "the controller refused the event stream: " + (msg ? *msg : "HTTP " + std::to_string(r->status)) +
                        (rem && !rem->empty() ? " (" + *rem + ")" : ""));
    }
    return fail("unreachable", "the controller closed the event stream");
}

}  // namespace ztna
