#include "run_command.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

namespace ztna::posture {

// Programs are looked up here only, never in the caller's PATH.
constexpr const char* kSearchPath[] = {"/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"};

namespace {

std::string find_program(const std::string& name) {
    if (name.find('/') != std::string::npos) return ::access(name.c_str(), X_OK) == 0 ? name : std::string();
    for (const char* dir : kSearchPath) {
        std::string p = std::string(dir) + "/" + name;
        if (::access(p.c_str(), X_OK) == 0) return p;
    }
    return {};
}

struct Pipe {
    int fd[2] = {-1, -1};
    ~Pipe() {
        for (int f : fd)
            if (f >= 0) ::close(f);
    }
};

}  // namespace

Result<CommandRun> run_command(const std::vector<std::string>& argv, int timeout_ms, std::size_t cap) {
    if (argv.empty() || argv[0].empty()) return fail("empty command line");
    const std::string prog = find_program(argv[0]);
    if (prog.empty()) return fail(argv[0] + " is not installed (not found in /usr/local/sbin, /usr/local/bin, /usr/sbin, /usr/bin, /sbin, /bin)");
    Pipe out, err;
    if (::pipe2(out.fd, O_CLOEXEC) != 0 || ::pipe2(err.fd, O_CLOEXEC) != 0)
        return fail(std::string("cannot create a pipe: ") + std::strerror(errno));
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, out.fd[1], 1);
    posix_spawn_file_actions_adddup2(&fa, err.fd[1], 2);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    // Its own process group, so a timeout kills whatever it started too.
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    posix_spawnattr_setpgroup(&attr, 0);
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &all);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    char env_path[] = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    char env_lang[] = "LC_ALL=C";
    char env_term[] = "TERM=dumb";
    char* envp[] = {env_path, env_lang, env_term, nullptr};
    pid_t pid;
    const int rc = ::posix_spawn(&pid, prog.c_str(), &fa, &attr, args.data(), envp);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    if (rc != 0) return fail("cannot start " + prog + ": " + std::strerror(rc));
    ::close(out.fd[1]);
    out.fd[1] = -1;
    ::close(err.fd[1]);
    err.fd[1] = -1;

    CommandRun r;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    bool out_open = true, err_open = true;
    char buf[65536];
    while (out_open || err_open) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
        if (left <= 0) {
            r.timed_out = true;
            break;
        }
        pollfd p[2] = {{out_open ? out.fd[0] : -1, POLLIN, 0}, {err_open ? err.fd[0] : -1, POLLIN, 0}};
        const int n = ::poll(p, 2, int(left));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) break;
        for (int k = 0; k < 2; ++k) {
            if (!(p[k].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            const ssize_t got = ::read(p[k].fd, buf, sizeof buf);
            if (got <= 0) {
                (k == 0 ? out_open : err_open) = false;
                continue;
            }
            std::string& into = k == 0 ? r.out : r.err;
            const std::size_t room = (k == 0 ? cap : 4096) - std::min(into.size(), k == 0 ? cap : std::size_t(4096));
            into.append(buf, std::min(room, std::size_t(got)));
        }
        if (r.out.size() >= cap) break;  // enough: the rest is cut
    }
    if (r.timed_out || out_open || err_open) ::kill(-pid, SIGKILL);
    // A program may close its output and go on running: wait for it only
    // until the deadline, then kill its group.
    int st = 0;
    for (;;) {
        const pid_t w = ::waitpid(pid, &st, WNOHANG);
        if (w == pid || (w < 0 && errno != EINTR)) break;
        if (w == 0 && std::chrono::steady_clock::now() >= deadline) {
            r.timed_out = true;
            ::kill(-pid, SIGKILL);
            while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
            }
            break;
        }
        if (w == 0) ::poll(nullptr, 0, 2);
    }
    r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
    return r;
}

}  // namespace ztna::posture
