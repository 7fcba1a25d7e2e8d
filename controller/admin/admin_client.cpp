#include "admin_client.h"

#include <httplib.h>

#include <fstream>
#include <sstream>

#include "controller_config.h"
#include "ztna/https_url.h"

namespace ztna::controller {

Result<ControllerEndpoint> parse_controller_url(const std::string& url) {
    auto u = parse_https_url(url);
    if (!u) return fail("the controller " + u.error().message);
    ControllerEndpoint ep;
    ep.url = url;
    ep.host = u->host;
    ep.port = u->port;
    return ep;
}

Result<ControllerEndpoint> endpoint_from_dir(const std::string& dir) {
    auto config = load_controller_config(dir + "/controller.json");
    if (!config) return Unexpected<Error>{config.error()};
    auto ep = parse_controller_url(config->public_url);
    if (!ep) return ep;
    ep->ca_path = config->ca_certificate;
    const std::string token_path = dir + "/admin.token";
    std::ifstream in(token_path, std::ios::binary);
    if (!in)
        return fail("cannot read the admin credential " + token_path +
                    ": run ztna-admin as root (the file is 0600), or point --dir at the directory `ztna-admin init` made");
    std::ostringstream ss;
    ss << in.rdbuf();
    std::string token = ss.str();
    while (!token.empty() && (token.back() == '\n' || token.back() == '\r' || token.back() == ' ')) token.pop_back();
    if (token.empty()) return fail("the admin credential " + token_path + " is empty; restore it from your backup");
    ep->admin_token = SecretString(std::move(token));
    return ep;
}

Result<json::Value> admin_request(const ControllerEndpoint& ep, const std::string& method, const std::string& path,
                                  const json::Value* body) {
    httplib::SSLClient cli(ep.host, ep.port);
    cli.set_ca_cert_path(ep.ca_path.c_str());
    cli.enable_server_certificate_verification(true);
    cli.set_connection_timeout(5, 0);
    cli.set_read_timeout(15, 0);
    httplib::Headers headers{{"Authorization", "Bearer " + ep.admin_token.reveal()}};
    httplib::Result r{nullptr, httplib::Error::Unknown};
    if (method == "GET") r = cli.Get(path, headers);
    else if (method == "POST") r = cli.Post(path, headers, body ? json::dump(*body) : std::string("{}"), "application/json");
    else return fail("admin_request: unsupported method " + method);
    if (!r) {
        const auto err = r.error();
        std::string why = httplib::to_string(err);
        if (err == httplib::Error::SSLServerVerification)
            why = "the controller's certificate is not signed by the CA " + ep.ca_path + " or does not name " + ep.host;
        else if (err == httplib::Error::Connection)
            why = "nothing answers there; is ztna-controller running, and is the URL right?";
        return fail("cannot reach the controller at " + ep.url + ": " + why);
    }
    auto v = json::parse(r->body, {.max_bytes = 64u << 20, .max_depth = 32});
    if (r->status >= 200 && r->status < 300) {
        if (!v) return fail("the controller at " + ep.url + " answered " + path + " with something that is not JSON");
        return std::move(*v);
    }
    if (v) {
        if (const auto* e = v->find("error")) {
            const std::string* code = e->string_at("code");
            const std::string* msg = e->string_at("message");
            const std::string* fix = e->string_at("remediation");
            return fail(code ? *code : "", (msg ? *msg : std::string("error")) + (fix && !fix->empty() ? ". " + *fix : "") +
                                               " (HTTP " + std::to_string(r->status) + ")");
        }
    }
    return fail("the controller answered " + method + " " + path + " with HTTP " + std::to_string(r->status));
}

}  // namespace ztna::controller
