#include "daemon_cli.h"

#include <spawn.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <thread>

#include "ipc_client.h"

namespace ztna::agent {

namespace {

std::string when(std::int64_t t) {
    if (t <= 0) return "never";
    char buf[32];
    const time_t tt = time_t(t);
    struct tm tm{};
    localtime_r(&tt, &tm);
    std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
    return buf;
}

std::string str(const json::Value& v, const char* key) {
    const std::string* s = v.string_at(key);
    return s ? *s : "";
}

std::int64_t num(const json::Value& v, const char* key) {
    const std::int64_t* n = v.int_at(key);
    return n ? *n : 0;
}

void print_status(const json::Value& s, std::ostream& out) {
    const std::string phase = str(s, "phase");
    const json::Value* c = s.find("controller");
    out << "Agent:       ztna-agentd " << str(s, "version") << ", " <<
        (phase == "signed_in" ? "signed in" : phase == "signed_out" ? "signed out" : phase) << "\n";
    if (const json::Value* sess = s.find("session")) {
        out << "User:        " << str(*sess, "email");
        if (const json::Array* g = sess->array_at("groups")) {
            out << " (groups:";
            for (const auto& x : *g)
                if (x.is_string()) out << " " << x.as_string();
            out << ")";
        }
        out << "\nSession:     until " << when(num(*sess, "expires_at")) << " (" << num(*sess, "expires_in_s") / 60 << " min left)\n";
    }
    out << "Device:      " << (str(s, "device_id").empty() ? "not enrolled" : str(s, "device_id")) << "\n";
    if (c) {
        const bool* r = c->bool_at("reachable");
        const bool* e = c->bool_at("events_connected");
        out << "Controller:  " << str(*c, "url") << (!r ? " (not contacted since the agent started" : *r ? " (reachable" : " (unreachable") <<
            // The stream may not have noticed yet that the controller stopped answering.
            (e && *e && r && *r ? ", live updates on)" : ")") << "\n";
    }
    if (const json::Value* a = s.find("apps"))
        out << "Apps:        " << num(*a, "connected") << " connected, " << num(*a, "available") << " available, " << num(*a, "blocked")
            << " blocked (ztnactl apps)\n";
    if (const json::Value* p = s.find("posture"))
        out << "Posture:     " << str(*p, "overall") << " (collected " << when(num(*p, "collected_at")) << "; ztnactl posture)\n";
    out << "Interface:   " << str(s, "interface") << ", DNS " << str(s, "dns");
    if (const json::Value* d = s.find("split_dns")) {
        const json::Array* names = d->array_at("routed_names");
        if (!str(*d, "error").empty()) out << " (split DNS failed: " << str(*d, "error") << ")";
        else if (str(*d, "mode") == "systemd-resolved")
            out << " (systemd-resolved sends it " << (names ? names->size() : 0) << " app names)";
        else out << " (no systemd-resolved: send the apps' names to it by hand, docs/agent.md)";
    }
    out << "\n";
    if (const json::Value* l = s.find("login")) {
        out << "Sign-in:     " << str(*l, "state");
        if (!str(*l, "error").empty()) out << ": " << str(*l, "error");
        out << "\n";
    }
    if (!str(s, "last_error").empty()) out << "Last error:  " << str(s, "last_error") << "\n";
    if (!str(s, "store_problem").empty()) out << "Store:       " << str(s, "store_problem") << "\n";
    if (phase == "signed_out") out << "Sign in with: ztnactl login\n";
}

void print_apps(const json::Value& v, std::ostream& out) {
    const json::Array* apps = v.array_at("apps");
    if (!apps || apps->empty()) {
        out << "No apps yet: sign in (ztnactl login) to see what you may reach.\n";
        return;
    }
    for (const auto& a : *apps) {
        const std::string state = str(a, "state");
        std::string names;
        if (const json::Array* d = a.array_at("dns"))
            for (const auto& x : *d)
                if (x.is_string()) names += (names.empty() ? "" : ", ") + x.as_string();
        out << str(a, "name") << "  " << state << (names.empty() ? "" : "  " + names) << "\n";
        if (const json::Value* g = a.find("grant"))
            out << "    micro-tunnel " << str(*g, "id") << " via " << str(*g, "gateway") << ", until " << when(num(*g, "expires_at"))
                << ", " << num(*g, "tx_bytes") << " bytes out, " << num(*g, "rx_bytes") << " in\n";
        if (state == "blocked")
            if (const json::Array* rs = a.array_at("reasons"))
                for (const auto& r : *rs) {
                    out << "    why: " << str(r, "message") << " [" << str(r, "code") << "]\n";
                    if (!str(r, "remediation").empty()) out << "    fix: " << str(r, "remediation") << "\n";
                }
        if (!str(a, "error").empty()) out << "    problem: " << str(a, "error") << "\n";
    }
}

void print_logs(const json::Value& v, std::ostream& out) {
    const json::Array* es = v.array_at("entries");
    if (!es || es->empty()) {
        out << "The access log is empty.\n";
        return;
    }
    for (const auto& e : *es) {
        out << when(num(e, "at")) << "  " << str(e, "app") << "  " << str(e, "outcome");
        if (!str(e, "reason").empty()) out << " [" << str(e, "reason") << "]";
        if (!str(e, "message").empty()) out << "  " << str(e, "message");
        out << "\n";
    }
}

int report(const Error& e, std::ostream& err) {
    err << "ztnactl: " << e.message << "\n";
    return e.code == "daemon_not_running" ? 3 : e.code == "not_allowed" ? 4 : 1;
}

}  // namespace

int daemon_cli(const std::string& command, const std::vector<std::string>& args, const std::string& socket_path, std::ostream& out,
               std::ostream& err) {
    bool as_json = false, device = false, cancel = false, no_browser = false;
    int limit = 50;
    long long since = 0;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        if (a == "--json") as_json = true;
        else if (command == "login" && a == "--device") device = true;
        else if (command == "login" && a == "--cancel") cancel = true;
        else if (command == "login" && a == "--no-browser") no_browser = true;
        else if (command == "logs" && a == "--limit" && i + 1 < args.size()) limit = std::atoi(args[++i].c_str());
        else if (command == "logs" && a == "--since" && i + 1 < args.size()) since = std::atoll(args[++i].c_str());
        else {
            err << "ztnactl " << command << ": unknown option " << a << " (see ztnactl --help)\n";
            return 2;
        }
    }
    auto c = ipc::IpcClient::connect(socket_path, std::chrono::milliseconds(3000));
    if (!c) return report(c.error(), err);
    json::Object params;
    if (command == "logs") {
        params["limit"] = limit;
        params["since"] = std::int64_t(since);
    }
    if (command == "login") {
        params["device_flow"] = device;
        params["cancel"] = cancel;
    }
    if (command == "login") c->set_timeout(std::chrono::milliseconds(10000));  // the daemon answers within 3 s
    auto r = c->call(command, json::Value(params));
    if (!r) return report(r.error(), err);
    if (command == "login" && !cancel && !as_json) {
        // Say where to go (as soon as the daemon knows), then follow the sign-in until it ends.
        bool told = false;
        const auto tell = [&](const json::Value& l) {
            if (told) return;
            if (!str(l, "user_code").empty()) {
                out << "To sign in, open " << str(l, "verification_uri") << " on any device and enter the code " << str(l, "user_code") << "\n";
                told = true;
            } else if (!str(l, "url").empty() && str(l, "state") == "waiting_browser") {
                out << "Sign in with your browser: " << str(l, "url") << "\n";
                told = true;
                if (!no_browser && std::getenv("DISPLAY") && geteuid() != 0) {
                    // No shell: the link comes from the identity provider.
                    const std::string url = str(l, "url");
                    char* argv[] = {const_cast<char*>("xdg-open"), const_cast<char*>(url.c_str()), nullptr};
                    pid_t pid = -1;
                    if (posix_spawnp(&pid, "xdg-open", nullptr, nullptr, argv, environ) != 0)
                        out << "(could not open a browser: open the link yourself)\n";
                }
            }
            out.flush();
        };
        tell(*r);
        for (int i = 0; i < 3000; ++i) {  // 5 minutes
            auto s = c->call("status");
            if (!s) return report(s.error(), err);
            const json::Value* l = s->find("login");
            const std::string state = l ? str(*l, "state") : "";
            if (l) tell(*l);
            if (state == "done" || str(*s, "phase") == "signed_in") {
                const json::Value* sess = s->find("session");
                out << "Signed in" << (sess ? " as " + str(*sess, "email") : "") << ".\n";
                return 0;
            }
            if (state == "failed") {
                err << "ztnactl: sign-in failed: " << str(*l, "error") << "\n";
                return 1;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        err << "ztnactl: the sign-in did not finish within 5 minutes\n";
        return 1;
    }
    if (command == "logout" && !as_json) {
        for (int i = 0; i < 100; ++i) {
            auto s = c->call("status");
            if (s && str(*s, "phase") != "signed_in") {
                out << "Signed out: every micro-tunnel is closed.\n";
                return 0;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        err << "ztnactl: still signed in after 5 s; see ztnactl status\n";
        return 1;
    }
    if (as_json) {
        out << json::dump_pretty(*r) << "\n";
        return 0;
    }
    if (command == "status") print_status(*r, out);
    else if (command == "apps") print_apps(*r, out);
    else if (command == "logs") print_logs(*r, out);
    else out << json::dump_pretty(*r) << "\n";
    return 0;
}

}  // namespace ztna::agent
