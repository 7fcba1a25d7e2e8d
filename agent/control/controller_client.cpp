#include "controller_client.h"

#include <algorithm>
#include <httplib.h>

#include "ztna/https_url.h"

namespace ztna::agent {

namespace {

std::unique_ptr<httplib::SSLClient> make_client(const std::string& host, int port, const std::string& ca, int read_timeout_s) {
    auto c = std::make_unique<httplib::SSLClient>(host, port);
    c->set_ca_cert_path(ca.c_str());
    c->enable_server_certificate_verification(true);
    c->set_connection_timeout(std::min(3, read_timeout_s), 0);
    c->set_read_timeout(read_timeout_s, 0);
    c->set_write_timeout(std::min(5, read_timeout_s), 0);
    return c;
}

std::string transport_error(httplib::Error e) {
    switch (e) {
        case httplib::Error::Connection: return "no connection (refused, or no route to it)";
        case httplib::Error::ConnectionTimeout: return "the connection timed out";
        case httplib::Error::Read: return "the connection broke while reading the answer";
        case httplib::Error::Write: return "the connection broke while sending";
        case httplib::Error::SSLConnection: return "the TLS handshake failed";
        case httplib::Error::SSLServerVerification: return "its certificate is not signed by the pinned controller CA";
        default: return httplib::to_string(e);
    }
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
    c.url_ = url;
    c.host_ = u->host;
    c.port_ = u->port;
    c.ca_ = ca_file;
    c.events_ = std::make_shared<SseClient>(c.host_, c.port_, c.ca_);
    return c;
}

Result<Reply> ControllerClient::post(const std::string& path, const json::Value& body, const std::string& bearer, int timeout_s) const {
    auto c = make_client(host_, port_, ca_, timeout_s);
    httplib::Headers h;
    if (!bearer.empty()) h.emplace("Authorization", "Bearer " + bearer);
    auto r = c->Post(path, h, json::dump(body), "application/json");
    if (!r) {
        std::string why = transport_error(r.error());
        if (r.error() == httplib::Error::SSLServerVerification) why += " (" + ca_ + ")";
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

void ControllerClient::interrupt() { events_->interrupt(); }

Result<void> ControllerClient::stream_events(const std::string& session_token,
                                             const std::function<void(const std::string&, const json::Value&)>& on_event,
                                             const std::atomic<bool>& stop) {
    return events_->run("/v1/events", session_token, on_event, stop);
}

}  // namespace ztna::agent
