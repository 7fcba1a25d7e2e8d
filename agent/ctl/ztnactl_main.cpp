// ztnactl: the agent's command line. `posture` works without the daemon; the
// other commands ask ztna-agentd over its IPC socket.
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "daemon_cli.h"
#include "posture_cli.h"

namespace {

constexpr const char* kUsage =
    "usage: ztnactl [--socket PATH] COMMAND [ARGS]\n"
    "\n"
    "commands (all take --json):\n"
    "  status                        sign-in, controller, apps and posture at a glance\n"
    "  apps                          each app: connected, available or blocked, why, and what to do\n"
    "  login [--device] [--no-browser] [--cancel]\n"
    "                                sign in with your company account (browser, or a code with --device)\n"
    "  logout                        sign out: every micro-tunnel closes\n"
    "  logs [--limit N] [--since T]  the access log: every allow, deny and revocation with its reason (T: Unix time)\n"
    "  posture [--snapshot DIR] [--requirements FILE]   evaluate device posture (no daemon needed)\n"
    "  posture snapshot DIR          capture what the checks read\n"
    "\n"
    "The daemon's socket is /run/ztna/agentd.sock (or $ZTNA_SOCKET, or --socket).\n";

}  // namespace

int main(int argc, char** argv) {
    std::vector<std::string> args(argv + 1, argv + argc);
    std::string socket = std::getenv("ZTNA_SOCKET") ? std::getenv("ZTNA_SOCKET") : ztna::agent::kDefaultSocket;
    if (args.size() >= 2 && args[0] == "--socket") {
        socket = args[1];
        args.erase(args.begin(), args.begin() + 2);
    }
    if (args.empty() || args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
        std::cout << kUsage;
        return args.empty() ? 2 : 0;
    }
    const std::string cmd = args[0];
    args.erase(args.begin());
    if (cmd == "posture") return ztna::agent::posture_cli(args, std::cout, std::cerr);
    if (cmd == "status" || cmd == "apps" || cmd == "login" || cmd == "logout" || cmd == "logs") {
        for (const auto& a : args)
            if (a == "--help" || a == "-h") {
                std::cout << kUsage;
                return 0;
            }
        return ztna::agent::daemon_cli(cmd, args, socket, std::cout, std::cerr);
    }
    std::cerr << "ztnactl: unknown command \"" << cmd << "\"\n" << kUsage;
    return 2;
}
