// ztna-agentd: the agent's system service (root). Reads the managed
// settings, keeps the device key and the local store under the state
// directory, serves ztnactl and the tray on a unix socket, answers DNS for the
// apps' names, and runs the agent (agent.h) until SIGTERM or SIGINT.
//   ztna-agentd [--managed FILE] [--local FILE] [--state-dir DIR] [--socket PATH]
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <ctime>
#include <memory>
#include <mutex>
#include <cstdio>
#include <cstring>
#include <thread>

#include "agent.h"
#include "agent_log.h"
#include "console_user.h"
#include "device_key.h"
#include "engine.h"
#include "ipc_server.h"
#include "live_view.h"
#include "requirements.h"
#include "resolved_split_dns.h"

using namespace ztna;
using namespace ztna::agent;

namespace {

constexpr const char* kUsage =
    "usage: ztna-agentd [--managed FILE] [--local FILE] [--state-dir DIR] [--socket PATH]\n"
    "  --managed FILE   managed settings pushed by your MDM (default /etc/ztna/managed.json)\n"
    "  --local FILE     local settings; managed ones win (default /etc/ztna/local.json)\n"
    "  --state-dir DIR  device key and local database, 0700 (default /var/lib/ztna)\n"
    "  --socket PATH    the IPC socket for ztnactl and the tray (default /run/ztna/agentd.sock)\n"
    "Runs in the foreground until SIGTERM or SIGINT; needs root (TUN device, routes, nftables).\n"
    "See docs/agent.md.\n";

int param_int(const json::Value& p, const char* key, int dflt) {
    const std::int64_t* v = p.is_object() ? p.int_at(key) : nullptr;
    return v ? int(*v) : dflt;
}

}  // namespace

int main(int argc, char** argv) {
    std::string managed = "/etc/ztna/managed.json", local = "/etc/ztna/local.json", state_dir = "/var/lib/ztna",
                socket_path = "/run/ztna/agentd.sock";
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        std::string* into = a == "--managed" ? &managed : a == "--local" ? &local : a == "--state-dir" ? &state_dir
                                                          : a == "--socket" ? &socket_path : nullptr;
        if (into && i + 1 < argc) *into = argv[++i];
        else {
            std::fputs(kUsage, a == "--help" || a == "-h" ? stdout : stderr);
            return a == "--help" || a == "-h" ? 0 : 2;
        }
    }
    if (geteuid() != 0) {
        std::fprintf(stderr, "ztna-agentd: must run as root (it creates a TUN device, routes and nftables rules); "
                             "start it with systemctl start ztna-agentd or sudo\n");
        return 1;
    }
    auto settings = load_settings(managed, local);
    if (!settings) {
        std::fprintf(stderr, "ztna-agentd: %s\n", settings.error().message.c_str());
        return 1;
    }
    ::umask(077);
    ::mkdir(state_dir.c_str(), 0700);
    ::chmod(state_dir.c_str(), 0700);
    // One agent per state directory: a second one must not touch the first one's
    // interface, routes or rules. The lock goes with the process.
    const std::string lock_path = state_dir + "/agentd.lock";
    const int lock_fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lock_fd < 0 || ::flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
        std::fprintf(stderr, "ztna-agentd: another ztna-agentd is running with the state directory %s (%s is locked); "
                             "stop it first (systemctl stop ztna-agentd)\n",
                     state_dir.c_str(), lock_path.c_str());
        return 1;
    }
    bool created = false;
    auto key = load_or_create_device_key(state_dir + "/device.key", &created);
    if (!key) {
        std::fprintf(stderr, "ztna-agentd: %s\n", key.error().message.c_str());
        return 1;
    }
    if (created) log_info("identity", "made the device key %s/device.key", state_dir.c_str());
    OpenReport report;
    auto store = AgentStore::open(state_dir + "/agent.db", &report);
    if (!store) {
        std::fprintf(stderr, "ztna-agentd: %s\n", store.error().message.c_str());
        return 1;
    }
    if (report.rebuilt) log_error("store", "%s; the agent goes on: it signs in again and asks the controller for its state",
                                  report.problem.c_str());
    auto controller = ControllerClient::create(settings->controller_url, settings->controller_ca);
    if (!controller) {
        std::fprintf(stderr, "ztna-agentd: %s\n", controller.error().message.c_str());
        return 1;
    }
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
    signal(SIGPIPE, SIG_IGN);

    auto tunnels = MicroTunnels::open(settings->interface);
    if (!tunnels) {
        std::fprintf(stderr, "ztna-agentd: %s\n", tunnels.error().message.c_str());
        return 1;
    }
    if (!(*tunnels)->uapi_problem.empty()) log_error("tunnels", "%s", (*tunnels)->uapi_problem.c_str());
    posture::Requirements req;
    if (!settings->posture_requirements.is_null())
        if (auto r = posture::requirements_from_json(settings->posture_requirements)) req = *r;
    AgentDeps deps;
    deps.now = [] { return std::int64_t(::time(nullptr)); };
    deps.collect_posture = [req] {
        posture::LiveView view;
        return posture::evaluate(view, req);
    };
    dns::ResolvedSplitDns split_dns(settings->interface, settings->dns_listen, std::uint16_t(settings->dns_port));
    deps.route_names = [&split_dns](const std::vector<std::string>& names) { return split_dns.route(names); };
    Agent agent(*settings, **store, std::move(*key), *controller, **tunnels, deps);
    agent.enrollment_file = state_dir + "/enrollment";
    if (report.rebuilt) agent.store_problem = report.problem;

    auto dns = dns::DnsStub::start(settings->dns_listen, std::uint16_t(settings->dns_port),
                                   [&agent](const std::string& name) { return agent.lookup(name); });
    if (!dns) log_error("dns", "%s; apps can still be reached by address", dns.error().message.c_str());
    else log_info("dns", "answering the apps' names on %s port %d", settings->dns_listen.c_str(), settings->dns_port);

    std::map<std::string, ipc::IpcServer::Method> methods;
    using Access = ipc::IpcServer::Access;
    using Caller = ipc::IpcServer::Caller;
    methods["status"] = {Access::Status, [&](const json::Value&, const Caller& c) -> Result<json::Value> {
                             json::Value s = agent.status(c.may_control);
                             s.as_object()["split_dns"] = split_dns.describe();
                             return s;
                         }};
    methods["apps"] = {Access::Status, [&](const json::Value&, const Caller&) -> Result<json::Value> { return agent.apps(); }};
    methods["posture"] = {Access::Status, [&](const json::Value& p, const Caller&) -> Result<json::Value> {
                              return agent.posture(param_int(p, "limit", 20));
                          }};
    methods["logs"] = {Access::Status, [&](const json::Value& p, const Caller&) -> Result<json::Value> {
                           return agent.logs(std::min(param_int(p, "limit", 100), 10000), param_int(p, "since", 0));
                       }};
    methods["login"] = {Access::Control, [&](const json::Value& p, const Caller& c) -> Result<json::Value> {
                            for (const char* k : {"device_flow", "cancel"})
                                if (const json::Value* v = p.find(k); v && !v->is_bool())
                                    return fail("bad_request", std::string("login: \"") + k + "\" must be true or false");
                            const bool* device = p.bool_at("device_flow");
                            const bool* cancel = p.bool_at("cancel");
                            log_info("ipc", "login requested by uid %u", unsigned(c.uid));
                            if (cancel && *cancel) {
                                agent.cancel_login();
                                return json::Value(json::Object{{"cancelled", true}});
                            }
                            return agent.start_login(device && *device);
                        }};
    methods["logout"] = {Access::Control, [&](const json::Value&, const Caller& c) -> Result<json::Value> {
                             log_info("ipc", "logout requested by uid %u", unsigned(c.uid));
                             return agent.logout(c.uid != 0);
                         }};
    auto may_control = [](uid_t uid) {
        if (uid == 0) return true;
        auto console = ipc::console_uid();
        return console && *console == uid;
    };
    // The IPC server's notable events (refused and misbehaving clients), at most 20
    // lines in 10 s: a flood of hostile clients must not flood the journal.
    ipc::IpcServer::Options ipc_options;
    struct LogBudget {
        std::mutex mu;
        std::int64_t window = 0;
        int lines = 0, left_out = 0;
    };
    auto budget = std::make_shared<LogBudget>();
    ipc_options.log = [budget](const std::string& line) {
        std::lock_guard lock(budget->mu);
        const std::int64_t window = std::int64_t(::time(nullptr)) / 10;
        if (window != budget->window) {
            if (budget->left_out) log_info("ipc", "%d more lines left out (over 20 in 10 s)", budget->left_out);
            budget->window = window;
            budget->lines = budget->left_out = 0;
        }
        if (++budget->lines <= 20) log_info("ipc", "%s", line.c_str());
        else ++budget->left_out;
    };
    auto ipc_server = ipc::IpcServer::listen(socket_path, std::move(methods), may_control, kAgentVersion, std::move(ipc_options));
    if (!ipc_server) {
        std::fprintf(stderr, "ztna-agentd: %s\n", ipc_server.error().message.c_str());
        return 1;
    }
    agent.notify = [&](const std::string& ev, const json::Value& data) { (*ipc_server)->broadcast(ev, data); };
    log_info("agentd", "up: interface %s, controller %s, IPC %s", settings->interface.c_str(), settings->controller_url.c_str(),
             socket_path.c_str());

    std::atomic<bool> stop{false};
    std::thread worker([&] { agent.run(stop); });
    int exit_code = 0;
    while (true) {
        timespec wait{0, 250'000'000};
        if (sigtimedwait(&sigs, nullptr, &wait) > 0) break;
        if ((*tunnels)->dead()) {
            log_error("agentd", "the interface %s went away; exiting (access is closed)", settings->interface.c_str());
            exit_code = 1;
            break;
        }
    }
    stop = true;
    agent.wake();
    // Access ends at the signal, not when the worker is done: it may be waiting on
    // the controller (up to 10 s), and systemd kills after TimeoutStopSec.
    (*tunnels)->close_all();
    worker.join();
    (*ipc_server)->stop();
    if (dns) (*dns)->stop();
    log_info("agentd", "shut down: micro-tunnels closed");
    return exit_code;
}
