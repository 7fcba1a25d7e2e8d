#include "admin_init.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <tuple>

#include "controller_config.h"
#include "pki.h"
#include "tokens.h"

namespace ztna::controller {

namespace {

// Writes a new file (never over an existing one) with the given mode, fsynced.
Result<void> write_new_file(const std::string& path, const std::string& data, mode_t mode) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0) return fail("cannot create " + path + ": " + std::strerror(errno));
    std::size_t off = 0;
    while (off < data.size()) {
        const ssize_t n = ::write(fd, data.data() + off, data.size() - off);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            const int e = errno;
            ::close(fd);
            return fail("cannot write " + path + ": " + std::strerror(e));
        }
        off += std::size_t(n);
    }
    ::fchmod(fd, mode);  // whatever the umask
    const bool ok = ::fsync(fd) == 0;
    ::close(fd);
    if (!ok) return fail("cannot flush " + path + " to disk");
    return {};
}

}  // namespace

Result<InitResult> init_controller_dir(const InitOptions& o) {
    if (o.dir.empty()) return fail("init: --dir is empty");
    if (o.names.empty()) return fail("init: give at least one --name (the host name or address agents use)");
    if (o.port < 1 || o.port > 65535) return fail("init: --port must be from 1 to 65535");
    if (::mkdir(o.dir.c_str(), 0700) != 0 && errno != EEXIST)
        return fail("cannot create the directory " + o.dir + ": " + std::strerror(errno));
    InitResult r;
    r.config_path = o.dir + "/controller.json";
    struct stat st{};
    if (::stat(r.config_path.c_str(), &st) == 0)
        return fail(r.config_path + " already exists: this directory holds a controller already. "
                    "Use another --dir, or move the old one away first (it holds the CA and the database).");

    auto ca = pki::make_ca("ZTNA controller CA", 3650);
    if (!ca) return Unexpected<Error>{ca.error()};
    auto server = pki::issue_server_certificate(*ca, o.names.front(), o.names, 825);
    if (!server) return Unexpected<Error>{server.error()};
    const SecretString admin = new_secret("ztna-admin-");

    ControllerConfig c;
    c.listen_address = o.listen_address;
    c.listen_port = o.port;
    const std::string& host = o.names.front();
    const bool v6 = host.find(':') != std::string::npos;
    c.public_url = "https://" + (v6 ? "[" + host + "]" : host) + ":" + std::to_string(o.port);
    c.database = "controller.db";
    c.tls_certificate = "controller.pem";
    c.tls_key = "controller.key";
    c.ca_certificate = "ca.pem";
    c.admin_token_sha256 = sha256_hex(admin.reveal());
    c.policy = "policy.json";
    std::vector<std::pair<std::string, SecretString>> gateway_secrets;
    for (const auto& id : o.gateways) {
        if (id.empty() || id.size() > 63 || id.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") != std::string::npos)
            return fail("init: --gateway \"" + id + "\" must be 1 to 63 letters, digits, '-', '_' or '.'");
        gateway_secrets.emplace_back(id, new_secret("ztna-gateway-"));
        c.gateway_tokens_sha256[id] = sha256_hex(gateway_secrets.back().second.reveal());
    }

    r.ca_path = o.dir + "/ca.pem";
    r.admin_token_path = o.dir + "/admin.token";
    r.public_url = c.public_url;
    for (const auto& [path, data, mode] :
         {std::tuple<std::string, const std::string*, mode_t>{o.dir + "/ca.key", &ca->key_pem.reveal(), 0600},
          {r.ca_path, &ca->cert_pem, 0644},
          {o.dir + "/controller.key", &server->key_pem.reveal(), 0600},
          {o.dir + "/controller.pem", &server->cert_pem, 0644},
          {r.admin_token_path, &admin.reveal(), 0600}}) {
        if (auto w = write_new_file(path, *data + (path == r.admin_token_path ? "\n" : ""), mode); !w)
            return Unexpected<Error>{w.error()};
    }
    for (const auto& [id, secret] : gateway_secrets) {
        const std::string path = o.dir + "/gateway-" + id + ".token";
        if (auto w = write_new_file(path, secret.reveal() + "\n", 0600); !w) return Unexpected<Error>{w.error()};
        r.gateway_token_paths.push_back(path);
    }
    r.policy_path = o.dir + "/policy.json";
    // A starting policy: valid, and granting nothing until apps and rules are added.
    if (auto w = write_new_file(r.policy_path, "{\n  \"version\": 1,\n  \"gateways\": [],\n  \"apps\": [],\n  \"rules\": []\n}\n", 0644); !w)
        return Unexpected<Error>{w.error()};
    if (auto w = write_new_file(r.config_path, json::dump_pretty(controller_config_to_json(c)) + "\n", 0644); !w)
        return Unexpected<Error>{w.error()};
    return r;
}

}  // namespace ztna::controller
