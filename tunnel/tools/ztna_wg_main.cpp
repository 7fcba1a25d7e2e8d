// ztna-wg: a drop-in for the wireguard-go command.
//   ztna-wg [-f|--foreground] IFNAME
// Creates TUN device IFNAME and serves the WireGuard UAPI on
// /var/run/wireguard/IFNAME.sock for wg(8). Without -f (and without
// WG_PROCESS_FOREGROUND=1) it daemonizes once the interface is up.
// SIGTERM or SIGINT removes the device and the socket.
#include <fcntl.h>
#include <signal.h>
#include <syslog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "crypto.h"
#include "device.h"
#include "uapi_server.h"

using namespace ztna::tunnel;

namespace {

// Foreground: stderr. Daemon: syslog (stderr is /dev/null by then).
bool g_syslog = false;
template <typename... Args>
void say(int priority, const char* fmt, Args... args) {
    if (g_syslog) {
        syslog(priority, fmt, args...);
    } else {
        std::fprintf(stderr, "ztna-wg: ");
        std::fprintf(stderr, fmt, args...);
        std::fprintf(stderr, "\n");
    }
}

void usage(FILE* out) {
    std::fprintf(out,
                 "Usage: ztna-wg [-f|--foreground] INTERFACE-NAME\n"
                 "\n"
                 "Creates a userspace WireGuard interface and serves its configuration\n"
                 "socket at /var/run/wireguard/INTERFACE-NAME.sock; configure it with wg(8).\n"
                 "  -f, --foreground   stay in the foreground (also: WG_PROCESS_FOREGROUND=1)\n"
                 "  --version          print the version\n");
}

bool env_true(const char* name) {
    const char* v = std::getenv(name);
    return v && std::strcmp(v, "1") == 0;
}

void detach_stdio() {
    const int null = ::open("/dev/null", O_RDWR);
    if (null < 0) return;
    ::dup2(null, 0);
    ::dup2(null, 1);
    ::dup2(null, 2);
    if (null > 2) ::close(null);
}

}  // namespace

int main(int argc, char** argv) {
    bool foreground = env_true("WG_PROCESS_FOREGROUND");
    std::string ifname;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "-f" || a == "--foreground") {
            foreground = true;
        } else if (a == "-h" || a == "--help") {
            usage(stdout);
            return 0;
        } else if (a == "--version") {
            std::printf("ztna-wg 0.1.0 (WireGuard userspace, UAPI protocol version 1)\n");
            return 0;
        } else if (a == "--" && i + 1 < argc && ifname.empty()) {
            ifname = argv[++i];
        } else if (!a.empty() && a[0] == '-') {
            std::fprintf(stderr, "ztna-wg: unknown option '%s'\n", a.c_str());
            usage(stderr);
            return 2;
        } else if (ifname.empty()) {
            ifname = a;
        } else {
            std::fprintf(stderr, "ztna-wg: unexpected argument '%s' (one interface name only)\n", a.c_str());
            usage(stderr);
            return 2;
        }
    }
    if (ifname.empty()) {
        usage(stderr);
        return 2;
    }
    if (!crypto::init()) {
        std::fprintf(stderr, "ztna-wg: libsodium failed to initialize\n");
        return 1;
    }

    // Threads started later inherit this mask; the main thread waits for the signals.
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
    ::signal(SIGPIPE, SIG_IGN);

    auto device = io::Device::create({ifname, 1420});
    if (!device) {
        std::fprintf(stderr, "ztna-wg: %s\n", device.error().message.c_str());
        return 1;
    }
    io::Device& dev = **device;
    auto server = io::UapiServer::listen(dev.name(), [&dev](std::string_view req) {
        std::string why;
        std::string answer = dev.handle_uapi(req, &why);
        if (!why.empty()) say(LOG_WARNING, "%s: UAPI request refused: %s", dev.name().c_str(), why.c_str());
        return answer;
    });
    if (!server) {
        std::fprintf(stderr, "ztna-wg: %s\n", server.error().message.c_str());
        return 1;
    }

    if (!foreground) {
        const pid_t pid = ::fork();
        if (pid < 0) {
            std::fprintf(stderr, "ztna-wg: fork failed: %s\n", std::strerror(errno));
            return 1;
        }
        // The parent: the interface exists and the socket listens. _exit, so no
        // destructor closes the device or unlinks the socket the child serves.
        if (pid > 0) ::_exit(0);
        ::setsid();
        if (::chdir("/") != 0) std::fprintf(stderr, "ztna-wg: chdir / failed: %s\n", std::strerror(errno));
        detach_stdio();
        openlog("ztna-wg", LOG_PID, LOG_DAEMON);
        g_syslog = true;
    }
    say(LOG_INFO, "interface %s created (bring it up with ip link); configure it with wg(8) via %s",
        dev.name().c_str(), (*server)->path().c_str());

    dev.start();
    (*server)->start();

    int exit_code = 0;
    for (;;) {
        timespec tick{0, 250'000'000};
        const int sig = sigtimedwait(&sigs, nullptr, &tick);
        if (sig > 0) break;
        if (dev.dead()) {
            say(LOG_ERR, "%s: the TUN device went away; exiting", dev.name().c_str());
            exit_code = 1;
            break;
        }
    }
    (*server)->stop();
    dev.stop();
    say(LOG_INFO, "%s: shut down", dev.name().c_str());
    return exit_code;
}
