#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "ztna/run_tool.h"

namespace ztna {

Result<RunResult> run_tool(const std::vector<std::string>& argv, const std::string& stdin_text, int timeout_ms) {
    if (argv.empty()) return fail("run_tool: no program");
    int in[2], out[2], err[2];
    if (pipe2(in, O_CLOEXEC) != 0) return fail("cannot create a pipe: " + std::string(std::strerror(errno)));
    if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) {
        close(in[0]);
        close(in[1]);
        return fail("cannot create a pipe: " + std::string(std::strerror(errno)));
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_adddup2(&fa, err[1], 2);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    // The tool starts with default signal handling and nothing blocked, whatever the
    // daemon blocked or ignored (SIGTERM, SIGINT, SIGPIPE).
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    posix_spawnattr_setpgroup(&attr, 0);
    sigset_t none, defaults;
    sigemptyset(&none);
    posix_spawnattr_setsigmask(&attr, &none);
    sigemptyset(&defaults);
    for (int sig : {SIGTERM, SIGINT, SIGPIPE, SIGHUP}) sigaddset(&defaults, sig);
    posix_spawnattr_setsigdefault(&attr, &defaults);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    char path[] = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    char lc[] = "LC_ALL=C";
    char* env[] = {path, lc, nullptr};
    pid_t pid = -1;
    const int rc = posix_spawnp(&pid, argv[0].c_str(), &fa, &attr, args.data(), env);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    close(in[0]);
    close(out[1]);
    close(err[1]);
    if (rc != 0) {
        close(in[1]);
        close(out[0]);
        close(err[0]);
        return fail("cannot run " + argv[0] + ": " + std::strerror(rc) + " (is it installed?)");
    }
    // Small inputs (rulesets) fit the pipe; write then close so the tool sees EOF.
    std::size_t off = 0;
    fcntl(in[1], F_SETFL, O_NONBLOCK);
    RunResult r;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    bool in_open = true, out_open = true, err_open = true;
    if (stdin_text.empty()) {
        close(in[1]);
        in_open = false;
    }
    while (out_open || err_open) {
        const int left = int(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count());
        if (left <= 0) {
            kill(-pid, SIGKILL);
            break;
        }
        pollfd p[3];
        int n = 0;
        if (out_open) p[n++] = {out[0], POLLIN, 0};
        if (err_open) p[n++] = {err[0], POLLIN, 0};
        if (in_open) p[n++] = {in[1], POLLOUT, 0};
        if (poll(p, nfds_t(n), left) < 0 && errno != EINTR) break;
        for (int i = 0; i < n; ++i) {
            if (!p[i].revents) continue;
            if (p[i].fd == in[1]) {
                const ssize_t w = write(in[1], stdin_text.data() + off, stdin_text.size() - off);
                if (w > 0) off += std::size_t(w);
                if (w < 0 && errno != EAGAIN) off = stdin_text.size();
                if (off >= stdin_text.size()) {
                    close(in[1]);
                    in_open = false;
                }
                continue;
            }
            char buf[4096];
            const ssize_t got = read(p[i].fd, buf, sizeof buf);
            std::string& into = p[i].fd == out[0] ? r.out : r.err;
            if (got > 0) {
                if (into.size() < (1u << 20)) into.append(buf, std::size_t(got));
            } else if (got == 0 || errno != EINTR) {
                (p[i].fd == out[0] ? out_open : err_open) = false;
            }
        }
    }
    if (in_open) close(in[1]);
    close(out[0]);
    close(err[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    r.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return r;
}

Result<void> run_ok(const std::vector<std::string>& argv, const std::string& stdin_text) {
    auto r = run_tool(argv, stdin_text);
    if (!r) return Unexpected<Error>{r.error()};
    if (r->status != 0) {
        std::string cmd;
        for (const auto& a : argv) cmd += (cmd.empty() ? "" : " ") + a;
        std::string why = r->err.substr(0, 400);
        while (!why.empty() && why.back() == '\n') why.pop_back();
        return fail("`" + cmd + "` failed with status " + std::to_string(r->status) + ": " + why);
    }
    return {};
}

}  // namespace ztna
