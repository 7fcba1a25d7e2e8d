#include "controller_client.h"

#include <httplib.h>

#include "ztna/https_url.h"
#include "ztna/sse.h"

namespace ztna::agent {

struct ControllerClient::Active {
    std::mutex mu;
    httplib::SSLClient* client = nullptr;  // the event stream's, while it runs
};

namespace {

std::unique_ptr<httplib::SSLClient> make_client(const std::string& host, int port, const std::string& ca, int read_timeout_s) {
    auto c = std::make_unique<httplib::SSLClient>(host, port);
    c->set_ca_cert_path(ca.c_str());
    c->enable_server_certificate_verification(true);
    c->set_connection_timeout(3, 0);
    c->set_read_timeout(read_timeout_s, 0);
    c->set_write_timeout(5, 0);
    return c;
}

}  // namespace

std::string describe_refusal(const Reply& r) {
    const json::Value* e = r.body.find("error");
    const std::string* m = e ? e->string_at("message") : nullptr;
    const std::string* rem = e ? e->string_at("remediation") : nullptr;
    std::string s = m ? *m : "HTTP " + std::to_string(r.status);
    if (rem && !rem->empty()) s += " (" + *rem + ")";
    return s;
}

Result<ControllerClient> ControllerClient::create(const std::string& url, const std::string& ca_file) {
    auto u = parse_https_url(url);
    if (!u) return fail("controller_url: " + u.error().message);
    ControllerClient c;
    c.active_ = std::make_shared<Active>();
    c.url_ = url;
    c.host_ = u->host;
    c.port_ = u->port;
    c.ca_ = ca_file;
    return c;
}

Result<Reply> ControllerClient::post(const std::string& path, const json::Value& body, const std::string& bearer) const {
    auto c = make_client(host_, port_, ca_, 10);
    httplib::Headers h;
    if (!bearer.empty()) h.emplace("Authorization", "Bearer " + bearer);
    auto r = c->Post(path, h, json::dump(body), "application/json");
    if (!r) {
        std::string why = httplib::to_string(r.error());
        if (r.error() == httplib::Error::SSLServerVerification)
            why += ": its certificate is not signed by the pinned controller CA " + ca_;
        return fail("unreachable", "cannot reach the controller at " + url_ + ": " + why);
    }
    Reply out;
    out.status = r->status;
    auto v = json::parse(r->body, {.max_bytes = 4u << 20, .max_depth = 32});
    if (v) out.body = std::move(*v);
    else if (r->status < 300)
        return fail("bad_answer", "the controller's answer to " + path + " is not JSON: " + v.error().message);
    return out;
}

Result<json::Value> ControllerClient::post_ok(const std::string& what, const std::string& path, const json::Value& body,
                                              const std::string& bearer) const {
    auto r = post(path, body, bearer);
    if (!r) return Unexpected<Error>{r.error()};
    if (r->status >= 200 && r->status < 300) return std::move(r->body);
    const json::Value* e = r->body.find("error");
    const std::string* code = e ? e->string_at("code") : nullptr;
    return fail(code ? *code : "http_" + std::to_string(r->status), what + ": " + describe_refusal(*r));
}

void ControllerClient::interrupt() {
    std::lock_guard lock(active_->mu);
    if (active_->client) active_->client->stop();
}

Result<void> ControllerClient::stream_events(const std::string& session_token,
                                             const std::function<void(const std::string&, const json::Value&)>& on_event,
                                             const std::atomic<bool>& stop) {
    // The controller sends a keep-alive every 15 s: 40 s of silence means it is gone.
    auto c = make_client(host_, port_, ca_, 40);
    {
        std::lock_guard lock(active_->mu);
        active_->client = c.get();
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
    auto r = c->Get(
        "/v1/events", {{"Authorization", "Bearer " + session_token}},
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
    if (too_big) return fail("an event from the controller was larger than 1 MiB");
    if (stop) return {};
    if (!r) return fail("unreachable", "the event stream ended: " + httplib::to_string(r.error()));
    if (r->status != 200) {
        Reply rep{r->status, {}};
        if (auto v = json::parse(refusal)) rep.body = *v;
        const json::Value* e = rep.body.find("error");
        const std::string* code = e ? e->string_at("code") : nullptr;
        return fail(code ? *code : "http_" + std::to_string(r->status), "the controller refused the event stream: " + describe_refusal(rep));
    }
    return fail("unreachable", "the controller closed the event stream");
}

}  // namespace ztna::agent
