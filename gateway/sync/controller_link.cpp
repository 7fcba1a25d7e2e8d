#include "controller_link.h"

#include <httplib.h>

#include "ztna/https_url.h"

#include <fstream>
#include <sstream>

namespace ztna::gateway {

void ControllerLink::interrupt() { events_->interrupt(); }

Result<ControllerLink> ControllerLink::create(const GatewayConfig& c) {
    ControllerLink l;
    auto u = parse_https_url(c.controller_url);
    if (!u) return fail("controller_url: " + u.error().message);
    l.host_ = u->host;
    l.port_ = u->port;
    l.ca_ = c.controller_ca;
    std::ifstream in(c.token_file, std::ios::binary);
    if (!in) return fail("cannot read the gateway credential " + c.token_file + " (made by `ztna-admin init --gateway ID`)");
    std::ostringstream ss;
    ss << in.rdbuf();
    l.token_ = ss.str();
    while (!l.token_.empty() && (l.token_.back() == '\n' || l.token_.back() == '\r')) l.token_.pop_back();
    if (l.token_.empty()) return fail("the gateway credential " + c.token_file + " is empty");
    l.events_ = std::make_shared<SseClient>(l.host_, l.port_, l.ca_);
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
    return events_->run("/v1/gateway/events", token_, on_event, stop);
}

Result<void> ControllerLink::report_sessions(const json::Array& sessions) {
    auto c = client(host_, port_, ca_, 10);
    auto r = c->Post("/v1/gateway/sessions", {{"Authorization", "Bearer " + token_}},
                     json::dump(json::Value(json::Object{{"sessions", json::Value(sessions)}})), "application/json");
    if (!r || r->status != 200) return fail("cannot report sessions to the controller: " + describe(r));
    return {};
}

}  // namespace ztna::gateway
