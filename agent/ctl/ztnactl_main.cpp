// ztnactl: the agent's command line. Today it has the commands that work
// without the daemon (posture); the daemon's commands (status, apps, login,
// logout, logs) arrive with ztna-agentd.
#include <iostream>
#include <string>
#include <vector>

#include "posture_cli.h"

namespace {

constexpr const char* kUsage =
    "usage: ztnactl COMMAND [ARGS]\n"
    "\n"
    "commands:\n"
    "  posture [--json] [--snapshot DIR] [--requirements FILE]   evaluate device posture\n"
    "  posture snapshot DIR                                      capture what the checks read\n"
    "\n"
    "Run `ztnactl COMMAND --help` for a command's options.\n";

}  // namespace

int main(int argc, char** argv) {
    std::vector<std::string> args(argv + 1, argv + argc);
    if (args.empty() || args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
        std::cout << kUsage;
        return args.empty() ? 2 : 0;
    }
    const std::string cmd = args[0];
    args.erase(args.begin());
    if (cmd == "posture") return ztna::agent::posture_cli(args, std::cout, std::cerr);
    std::cerr << "ztnactl: unknown command \"" << cmd << "\"\n" << kUsage;
    return 2;
}
