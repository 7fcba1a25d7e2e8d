#include "server.h"

#include <httplib.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <atomic>
#include <chrono>
#include <cstdio>

#include "admin_api.h"
#include "enrollment.h"
#include "tokens.h"

namespace ztna::controller {

std::int64_t system_clock_seconds() {
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

namespace {

void send(httplib::Response& res, const ApiResponse& a) {
    res.status = a.status;
    res.set_header("Cache-Control", "no-store");
    res.set_content(json::dump(a.body) + "\n", "application/json");
}

// The body as a JSON value, or the error to answer.
std::optional<json::Value> parse_body(const httplib::Request& req, httplib::Response& res) {
    auto v = json::parse(req.body, {.max_bytes = ControllerServer::kMaxBodyBytes, .max_depth = 16});
    if (!v) {
        send(res, api_error(400, "bad_json", "the request body is not valid JSON: " + v.error().message,
                            "Send one JSON object (Content-Type: application/json)."));
        return std::nullopt;
    }
    return std::move(*v);
}

}  // namespace

ControllerServer::ControllerServer(ControllerConfig config, Store& store, Clock clock)
    : config_(std::move(config)), store_(store), clock_(std::move(clock)) {}

ControllerServer::~ControllerServer() { stop(); }

Result<void> ControllerServer::start() {
    std::string tls_error;
    const std::string cert = config_.tls_certificate, key = config_.tls_key;
    http_ = std::make_unique<httplib::SSLServer>([&](SSL_CTX& ctx) {
        SSL_CTX_set_min_proto_version(&ctx, TLS1_2_VERSION);
        if (SSL_CTX_use_certificate_chain_file(&ctx, cert.c_str()) != 1) {
            tls_error = "cannot load the TLS certificate " + cert;
        } else if (SSL_CTX_use_PrivateKey_file(&ctx, key.c_str(), SSL_FILETYPE_PEM) != 1) {
            tls_error = "cannot load the TLS private key " + key;
        } else if (SSL_CTX_check_private_key(&ctx) != 1) {
            tls_error = "the TLS private key " + key + " does not match the certificate " + cert;
        }
        if (!tls_error.empty()) {
            char buf[256];
            ERR_error_string_n(ERR_get_error(), buf, sizeof buf);
            ERR_clear_error();
            tls_error += std::string(" (") + buf + ")";
            return false;
        }
        return true;
    });
    if (!http_->is_valid())
        return fail("controller TLS: " + (tls_error.empty() ? std::string("cannot set up TLS") : tls_error) +
                    ". Check the paths in controller.json (made by `ztna-admin init`).");
    http_->set_payload_max_length(kMaxBodyBytes);
    http_->set_read_timeout(10, 0);
    http_->set_write_timeout(10, 0);
    http_->set_keep_alive_max_count(100);
    routes();
    port_ = config_.listen_port == 0 ? http_->bind_to_any_port(config_.listen_address)
                                     : (http_->bind_to_port(config_.listen_address, config_.listen_port)
                                            ? config_.listen_port
                                            : -1);
    if (port_ <= 0)
        return fail("the controller cannot listen on " + config_.listen_address + ":" + std::to_string(config_.listen_port) +
                    ": the address is in use or not on this host. Change listen_address/listen_port in controller.json.");
    auto ended = std::make_shared<std::atomic<bool>>(false);
    thread_ = std::thread([this, ended] {
        http_->listen_after_bind();
        *ended = true;
    });
    // stop() only stops a server that runs: wait until it does (or gave up).
    while (!http_->is_running() && !*ended) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    if (*ended) return fail("the controller's HTTPS server stopped at once after binding port " + std::to_string(port_));
    return {};
}

void ControllerServer::stop() {
    if (http_) http_->stop();
    if (thread_.joinable()) thread_.join();
}

void ControllerServer::routes() {
    auto& s = *http_;
    s.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
        send(res, api_error(500, "internal_error", "the controller failed while handling this request",
                            "Try again; if it persists, report it with the controller's log."));
    });
    s.set_error_handler([](const httplib::Request&, httplib::Response& res) {
        if (!res.body.empty()) return;  // a handler already wrote the JSON error
        if (res.status == 404)
            send(res, api_error(404, "not_found", "no such endpoint", "See docs/protocol.md for the endpoints of version 1."));
        else if (res.status == 413)
            send(res, api_error(413, "too_large", "the request body is larger than 64 KiB", "Send a smaller request."));
        else if (res.status == 405)
            send(res, api_error(405, "method_not_allowed", "this endpoint does not take that method", "See docs/protocol.md."));
        else if (res.status >= 400 && res.status < 500)
            send(res, api_error(res.status, "bad_request", "the request is not valid HTTP/1.1", "Send a well-formed request."));
    });

    s.Get("/v1/health", [](const httplib::Request&, httplib::Response& res) {
        send(res, api_ok(json::Object{{"status", "ok"}, {"protocol", 1}}));
    });

    s.Post("/v1/enroll", [this](const httplib::Request& req, httplib::Response& res) {
        auto body = parse_body(req, res);
        if (!body) return;
        send(res, handle_enroll(store_, *body, clock_()));
    });

    // Admin endpoints: the bearer credential made by `ztna-admin init`,
    // compared as SHA-256 in constant time.
    const auto admin = [this](auto handler) {
        return [this, handler](const httplib::Request& req, httplib::Response& res) {
            const std::string auth = req.get_header_value("Authorization");
            const std::string prefix = "Bearer ";
            if (auth.rfind(prefix, 0) != 0 ||
                !equal_constant_time(sha256_hex(auth.substr(prefix.size())), config_.admin_token_sha256)) {
                send(res, api_error(401, "admin_unauthorized", "this admin endpoint needs the admin credential",
                                    "Pass the admin token made by `ztna-admin init` (its file admin.token) as a Bearer token."));
                return;
            }
            AdminContext c{store_, clock_(), config_.enrollment_token_max_ttl_s};
            handler(c, req, res);
        };
    };
    s.Post("/v1/admin/enrollment-tokens", admin([](AdminContext& c, const httplib::Request& req, httplib::Response& res) {
        auto body = parse_body(req, res);
        if (body) send(res, admin_create_token(c, *body));
    }));
    s.Get("/v1/admin/enrollment-tokens", admin([](AdminContext& c, const httplib::Request&, httplib::Response& res) {
        send(res, admin_list_tokens(c));
    }));
    s.Post(R"(/v1/admin/enrollment-tokens/([a-z0-9_]{1,64})/revoke)",
           admin([](AdminContext& c, const httplib::Request& req, httplib::Response& res) {
               send(res, admin_revoke_token(c, req.matches[1]));
           }));
    s.Get("/v1/admin/devices", admin([](AdminContext& c, const httplib::Request&, httplib::Response& res) {
        send(res, admin_list_devices(c));
    }));
    s.Post(R"(/v1/admin/devices/([a-z0-9_]{1,64})/revoke)",
           admin([](AdminContext& c, const httplib::Request& req, httplib::Response& res) {
               send(res, admin_revoke_device(c, req.matches[1]));
           }));
    s.Get("/v1/admin/users", admin([](AdminContext& c, const httplib::Request&, httplib::Response& res) {
        send(res, admin_list_users(c));
    }));
    s.Post(R"(/v1/admin/users/([^/]{1,256})/(disable|enable))",
           admin([](AdminContext& c, const httplib::Request& req, httplib::Response& res) {
               send(res, admin_set_user_disabled(c, req.matches[1], req.matches[2] == "disable"));
           }));
    s.Get("/v1/admin/audit", admin([](AdminContext& c, const httplib::Request& req, httplib::Response& res) {
        std::map<std::string, std::string> params;
        for (const auto& [k, v] : req.params) {
            if (params.count(k)) {
                send(res, api_error(400, "bad_request", "the audit filter \"" + k.substr(0, 40) + "\" is given twice",
                                    "Give each filter once."));
                return;
            }
            params[k] = v;
        }
        send(res, admin_audit(c, params));
    }));
}

}  // namespace ztna::controller
