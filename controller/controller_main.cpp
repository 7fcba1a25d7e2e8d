// ztna-controller: the reference control plane.
//   ztna-controller [--config FILE]     (default /etc/ztna-controller/controller.json)
// Serves HTTPS until SIGTERM or SIGINT. docs/control-plane.md.
#include <signal.h>
#include <sys/stat.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "control_plane.h"
#include "policy.h"
#include "server.h"
#include "sqlite_store.h"

using namespace ztna::controller;

int main(int argc, char** argv) {
    std::string config_path = "/etc/ztna-controller/controller.json";
    for (int i = 1; i < argc; ++i) {
        if (!std::strcmp(argv[i], "--config") && i + 1 < argc) {
            config_path = argv[++i];
        } else {
            const bool help = !std::strcmp(argv[i], "-h") || !std::strcmp(argv[i], "--help");
            std::fprintf(help ? stdout : stderr, "usage: ztna-controller [--config FILE]\n"
                                 "  FILE: controller.json made by `ztna-admin init` (default %s)\n", config_path.c_str());
            return help ? 0 : 2;
        }
    }
    ::umask(077);  // the database and its WAL hold who reached what: not for other local users
    auto config = load_controller_config(config_path);
    if (!config) {
        std::fprintf(stderr, "ztna-controller: %s\n", config.error().message.c_str());
        return 1;
    }
    auto store = SqliteStore::open(config->database);
    if (!store) {
        std::fprintf(stderr, "ztna-controller: %s\n", store.error().message.c_str());
        return 1;
    }
    auto policy = load_policy_file(config->policy);
    if (!policy) {
        std::fprintf(stderr, "ztna-controller: %s\n", policy.error().message.c_str());
        return 1;
    }
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);  // before any thread starts
    signal(SIGPIPE, SIG_IGN);

    ControlPlane control(*config, **store, std::move(*policy));
    ControllerServer server(*config, **store, control);
    if (auto r = server.start(); !r) {
        std::fprintf(stderr, "ztna-controller: %s\n", r.error().message.c_str());
        return 1;
    }
    std::fprintf(stderr, "ztna-controller: serving %s on %s:%d (database %s, policy %s: %zu apps, %zu rules)\n",
                 config->public_url.c_str(), config->listen_address.c_str(), server.port(), config->database.c_str(),
                 config->policy.c_str(), control.policy().apps.size(), control.policy().rules.size());
    int sig = 0;
    sigwait(&stop_signals, &sig);
    std::fprintf(stderr, "ztna-controller: %s received, stopping\n", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    server.stop();
    return 0;
}
