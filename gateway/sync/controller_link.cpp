#include "controller_link.h"

#include <httplib.h>

#include <charconv>
#include <fstream>
#include <sstream>

namespace ztna::gateway {

struct ControllerLink::Active {
    std::mutex mu;
    httplib::SSLClient* client = nullptr;  // the event stream's, while it runs
};

void ControllerLink::interrupt() {
    std::lock_guard lock(active_->mu);
    if (active_->client) active_->client->stop();
}

Result<ControllerLink> ControllerLink::create(const GatewayConfig& c) {
    ControllerLink l;
    l.active_ = std::make_shared<Active>();
    const std::string& url = c.controller_url;
    if (url.rfind("https://", 0) != 0) return fail("controller_url \"" + url + "\" must start with https://");
    std::string rest = url.substr(8);
    if (!rest.empty() && rest.back() == '/') rest.pop_back();
    std::string port;
    if (!rest.empty() && rest[0] == '[') {
        const auto close = rest.find(']');
        if (close == std::string::npos) return fail("controller_url \"" + url + "\" has an unclosed [");
        l.host_ = rest.substr(1, close - 1);
        if (close + 1 < rest.size() && rest[close + 1] == ':') port = rest.substr(close + 2);
    } else if (const auto colon = rest.rfind(':'); colon != std::string::npos) {
        l.host_ = rest.substr(0, colon);
        port = rest.substr(colon + 1);
    } else {
        l.host_ = rest;
    }
    if (!port.empty()) {
        auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), l.port_);
        if (ec != std::errc() || p != port.data() + port.size() || l.port_ < 1 || l.port_ > 65535)
            return fail("controller_url \"" + url + "\" has a bad port");
    }
    if (l.host_.empty() || l.host_.find('/') != std::string::npos) return fail("controller_url \"" + url + "\" has no host");
    l.ca_ = c.controller_ca;
    std::ifstream in(c.token_file, std::ios::binary);
    if (!in) return fail("cannot read the gateway credential " + c.token_file + " (made by `ztna-admin init --gateway ID`)");
    std::ostringstream ss;
    ss << in.rdbuf();
    l.token_ = ss.str();
    while (!l.token_.empty() && (l.token_.back() == '\n' || l.token_.back() == '\r')) l.token_.pop_back();
    if (l.token_.empty()) return fail("the gateway credential " + c.token_file + " is empty");
    return l;
}

namespace {

std::unique_ptr<httplib::SSLClient> client(const std::string& host, int port, const std::string& ca, int read_timeout_s) {
    auto c = std::make_unique<httplib::SSLClient>(host, port);
    c->set_ca_cert_path(ca.c_str());
    c->enable_server_certificate_verification(true);
    c->set_connection_timeout(3, 0);
    c->set_read_timeout(read_timeout_s, 0);
    return c;
}

std::string describe(const httplib::Result& r) {
    if (!r) return httplib::to_string(r.error());
    auto v = json::parse(r->body);
    const json::Value* e = v ? v->find("error") : nullptr;
    const std::string* m = e ? e->string_at("message") : nullptr;
    return "HTTP " + std::to_string(r->status) + (m ? ": " + *m : "");
}

}  // namespace

Result<std::vector<GatewayGrant>> ControllerLink::fetch_grants(std::vector<std::string>* skipped) {
    auto c = client(host_, port_, ca_, 10);
    auto r = c->Get("/v1/gateway/grants", {{"Authorization", "Bearer " + token_}});
    if (!r || r->status != 200) return fail("cannot fetch the grant list from the controller: " + describe(r));
    auto v = json::parse(r->body, {.max_bytes = 64u << 20, .max_depth = 16});
    const json::Array* list = v ? v->array_at("grants") : nullptr;
    if (!list) return fail("the controller's grant list is not the expected JSON");
    std::vector<GatewayGrant> out;
    for (const auto& g : *list) {
        auto p = parse_grant(g);
        if (p) out.push_back(std::move(*p));
        else if (skipped) skipped->push_back(p.error().message);
    }
    return out;
}

Result<void> ControllerLink::stream_events(const std::function<void(const std::string&, const json::Value&)>& on_event,
                                           const std::atomic<bool>& stop) {
    // The controller sends a keep-alive every 15 s: 40 s of silence means it is gone.
    auto c = client(host_, port_, ca_, 40);
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
    std::string buf;
    bool too_big = false;
    auto r = c->Get("/v1/gateway/events", {{"Authorization", "Bearer " + token_}}, [&](const char* d, std::size_t n) {
        buf.append(d, n);
        if (buf.size() > (1u << 20)) {
            too_big = true;
            return false;
        }
        for (auto end = buf.find("\n\n"); end != std::string::npos; end = buf.find("\n\n")) {
            const std::string frame = buf.substr(0, end);
            buf.erase(0, end + 2);
            std::string type, data;
            std::size_t pos = 0;
            while (pos < frame.size()) {
                const auto nl = frame.find('\n', pos);
                const std::string line = frame.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
                if (line.rfind("event: ", 0) == 0) type = line.substr(7);
                else if (line.rfind("data: ", 0) == 0) data = line.substr(6);
                pos = nl == std::string::npos ? frame.size() : nl + 1;
            }
            if (type.empty()) continue;
            auto v = json::parse(data, {.max_bytes = 1u << 20, .max_depth = 16});
            on_event(type, v ? *v : json::Value());
        }
        return !stop.load();
    });
    if (too_big) return fail("an event from the controller was larger than 1 MiB");
    if (stop) return {};
    if (!r) return fail("the event stream ended: " + httplib::to_string(r.error()));
    if (r->status != 200) return fail("the controller refused the event stream: " + describe(r));
    return fail("the controller closed the event stream");
}

Result<void> ControllerLink::report_sessions(const json::Array& sessions) {
    auto c = client(host_, port_, ca_, 10);
    auto r = c->Post("/v1/gateway/sessions", {{"Authorization", "Bearer " + token_}},
                     json::dump(json::Value(json::Object{{"sessions", json::Value(sessions)}})), "application/json");
    if (!r || r->status != 200) return fail("cannot report sessions to the controller: " + describe(r));
    return {};
}

}  // namespace ztna::gateway
