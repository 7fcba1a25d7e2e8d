#include "server.h"

#include <httplib.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <cstdio>

#include "admin_api.h"
#include "enrollment.h"
#include "tokens.h"

namespace ztna::controller {

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

ControllerServer::ControllerServer(ControllerConfig config, Store& store, ControlPlane& control)
    : config_(std::move(config)), store_(store), control_(control) {}

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
    http_->new_task_queue = [] { return new httplib::ThreadPool(kWorkerThreads); };
    // SO_REUSEADDR only: cpp-httplib also sets SO_REUSEPORT by default, which
    // would let a second controller bind the same port and take half the connections.
    http_->set_socket_options([](int sock) {
        int yes = 1;
        setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    });
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
                    ": the port is in use (is another ztna-controller running?) or the address is not on this host. "
                    "Stop the other process, or change listen_address/listen_port in controller.json.");
    auto ended = std::make_shared<std::atomic<bool>>(false);
    thread_ = std::thread([this, ended] {
        http_->listen_after_bind();
        *ended = true;
    });
    // stop() only stops a server that runs: wait until it does (or gave up).
    while (!http_->is_running() && !*ended) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    if (*ended) return fail("the controller's HTTPS server stopped at once after binding port " + std::to_string(port_));
    housekeeper_ = std::thread([this] { housekeeping(); });
    return {};
}

void ControllerServer::housekeeping() {
    while (!stopping_) {
        control_.tick();
        if (auto r = control_.reload_policy_if_changed(); !r)
            std::fprintf(stderr, "ztna-controller: the policy was not reloaded, the previous one stays in force: %s\n",
                         r.error().message.c_str());
        else if (*r)
            std::fprintf(stderr, "ztna-controller: policy reloaded from %s: %zu apps, %zu rules\n", config_.policy.c_str(),
                         control_.policy().apps.size(), control_.policy().rules.size());
        for (auto waited = std::chrono::milliseconds(0); waited < housekeeping_interval && !stopping_;
             waited += std::chrono::milliseconds(50))
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
}

void ControllerServer::stop() {
    stopping_ = true;
    control_.hub().close_all();  // ends the event streams, which hold workers
    if (http_) http_->stop();
    if (thread_.joinable()) thread_.join();
    if (housekeeper_.joinable()) housekeeper_.join();
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
        send(res, handle_enroll(store_, *body, control_.now()));
    });
    s.Post("/v1/challenge", [this](const httplib::Request& req, httplib::Response& res) {
        auto body = parse_body(req, res);
        if (body) send(res, control_.challenge(*body));
    });
    s.Post("/v1/sessions", [this](const httplib::Request& req, httplib::Response& res) {
        auto body = parse_body(req, res);
        if (body) send(res, control_.sign_in(*body));
    });

    // An event stream (server-sent events) for one topic; ends when the
    // client leaves, the subscription falls behind, or the server stops.
    const auto stream = [this](httplib::Response& res, const std::string& topic, json::Value hello) {
        // Each stream holds a worker thread: at most 2 per session or gateway,
        // and never more than half the workers, so requests always get served.
        auto sub = control_.hub().subscribe(topic, 2, kWorkerThreads / 2);
        if (!sub) {
            send(res, api_error(503, "busy", "too many event streams are open (at most 2 per session or gateway)",
                                "Close the other stream of this session, or retry in a minute."));
            return;
        }
        auto first = std::make_shared<std::string>(sse_frame(Event{0, "hello", std::move(hello)}));
        const auto keepalive = keepalive_interval;
        res.set_header("Cache-Control", "no-store");
        res.set_chunked_content_provider(
            "text/event-stream",
            [sub, first, keepalive](std::size_t, httplib::DataSink& sink) {
                if (!first->empty()) {
                    const std::string f = std::move(*first);
                    first->clear();
                    return sink.write(f.data(), f.size());
                }
                auto e = sub->next(keepalive);
                if (e) {
                    const std::string f = sse_frame(*e);
                    return sink.write(f.data(), f.size());
                }
                if (sub->closed()) {
                    sink.done();
                    return true;
                }
                static const std::string kKeepAlive = ": keep-alive\n\n";
                return sink.write(kKeepAlive.data(), kKeepAlive.size());
            },
            [this, sub, topic](bool) { control_.hub().unsubscribe(topic, sub); });
    };

    // Agent endpoints: the session token as a Bearer credential.
    const auto session = [this](auto handler) {
        return [this, handler](const httplib::Request& req, httplib::Response& res) {
            const std::string auth = req.get_header_value("Authorization");
            auto s = control_.authenticate(auth.rfind("Bearer ", 0) == 0 ? auth.substr(7) : std::string());
            if (!s) {
                if (s.error().code == "store_error")
                    send(res, api_error(500, "store_error", s.error().message, "Try again later."));
                else
                    send(res, api_error(401, "signed_out", s.error().message, "Sign in again (`ztnactl login`)."));
                return;
            }
            handler(*s, req, res);
        };
    };
    s.Post("/v1/sessions/logout", session([this](const Session& x, const httplib::Request&, httplib::Response& res) {
        send(res, control_.logout(x));
    }));
    s.Post("/v1/sessions/refresh", session([this](const Session& x, const httplib::Request& req, httplib::Response& res) {
        auto body = parse_body(req, res);
        if (!body) return;
        send(res, control_.refresh_session(x, *body));
    }));
    s.Post("/v1/access", session([this](const Session& x, const httplib::Request& req, httplib::Response& res) {
        auto body = parse_body(req, res);
        if (body) send(res, control_.access(x, *body));
    }));
    s.Post("/v1/grants", session([this](const Session& x, const httplib::Request& req, httplib::Response& res) {
        auto body = parse_body(req, res);
        if (body) send(res, control_.create_grant(x, *body));
    }));
    s.Post(R"(/v1/grants/([a-z0-9_]{1,64})/renew)", session([this](const Session& x, const httplib::Request& req, httplib::Response& res) {
        send(res, control_.renew_grant(x, req.matches[1]));
    }));
    s.Post(R"(/v1/grants/([a-z0-9_]{1,64})/release)", session([this](const Session& x, const httplib::Request& req, httplib::Response& res) {
        send(res, control_.release_grant(x, req.matches[1]));
    }));
    s.Get("/v1/events", session([this, stream](const Session& x, const httplib::Request&, httplib::Response& res) {
        stream(res, ControlPlane::session_topic(x.id), json::Object{{"session_id", x.id}, {"expires_at", x.expires_at}});
    }));

    // Gateway endpoints: the gateway's credential (gateway-ID.token) as a Bearer credential.
    const auto gateway = [this](auto handler) {
        return [this, handler](const httplib::Request& req, httplib::Response& res) {
            const std::string auth = req.get_header_value("Authorization");
            auto id = control_.authenticate_gateway(auth.rfind("Bearer ", 0) == 0 ? auth.substr(7) : std::string());
            if (!id) {
                send(res, api_error(401, "gateway_unauthorized", "this endpoint needs a gateway credential, and none was given or the one given is not valid",
                                    "Pass the gateway's token (gateway-ID.token from `ztna-admin init --gateway ID`)."));
                return;
            }
            handler(*id, req, res);
        };
    };
    s.Get("/v1/gateway/grants", gateway([this](const std::string& id, const httplib::Request&, httplib::Response& res) {
        send(res, control_.gateway_grants(id));
    }));
    s.Post("/v1/gateway/sessions", gateway([this](const std::string& id, const httplib::Request& req, httplib::Response& res) {
        auto body = parse_body(req, res);
        if (body) send(res, control_.gateway_report(id, *body));
    }));
    s.Get("/v1/gateway/events", gateway([stream](const std::string& id, const httplib::Request&, httplib::Response& res) {
        stream(res, ControlPlane::gateway_topic(id), json::Object{{"gateway", id}});
    }));

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
            AdminContext c{store_, control_.now(), config_.enrollment_token_max_ttl_s};
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
           admin([this](AdminContext& c, const httplib::Request& req, httplib::Response& res) {
               const ApiResponse r = admin_revoke_device(c, req.matches[1]);
               if (r.status == 200 && !control_.reevaluate_all("device_revoked"))
                   send(res, api_error(500, "store_error", "the device is revoked, but ending its grants failed; the controller retries every second",
                                       "See the controller's log."));
               else
                   send(res, r);
           }));
    s.Get("/v1/admin/users", admin([](AdminContext& c, const httplib::Request&, httplib::Response& res) {
        send(res, admin_list_users(c));
    }));
    s.Post(R"(/v1/admin/users/(.{1,512})/(disable|enable))",
           admin([this](AdminContext& c, const httplib::Request& req, httplib::Response& res) {
               const ApiResponse r = admin_set_user_disabled(c, req.matches[1], req.matches[2] == "disable");
               if (r.status == 200 && !control_.reevaluate_all(req.matches[2] == "disable" ? "user_disabled" : "user_enabled"))
                   send(res, api_error(500, "store_error", "the user's state changed, but re-deciding their grants failed; the controller retries every second",
                                       "See the controller's log."));
               else
                   send(res, r);
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
