#include "ipc_server.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

namespace ztna::ipc {

namespace {

using Clock = std::chrono::steady_clock;

constexpr std::size_t kReadChunk = 64 * 1024;
constexpr std::size_t kMaxQueuedEvents = 1024;

std::string errno_text(int e) { return std::strerror(e); }

Result<sockaddr_un> unix_address(const std::string& path) {
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    if (path.empty() || path.size() >= sizeof(a.sun_path))
        return fail("bad_path", "socket path `" + path + "` is " + std::to_string(path.size()) +
                                    " bytes long; a unix socket path has 1 to " +
                                    std::to_string(sizeof(a.sun_path) - 1));
    std::memcpy(a.sun_path, path.data(), path.size());
    return a;
}

// Creates the missing directories above `path`, each mode 0755 whatever the
// umask; existing directories keep their mode.
Result<void> make_parent(const std::string& path) {
    namespace fs = std::filesystem;
    std::vector<fs::path> missing;
    for (fs::path p = fs::path(path).parent_path(); !p.empty(); p = p.parent_path()) {
        struct stat st {};
        if (::lstat(p.c_str(), &st) == 0) {
            if (!S_ISDIR(st.st_mode)) return fail("bad_path", p.string() + " is not a directory; choose another socket path");
            break;
        }
        missing.push_back(p);
        if (p == p.parent_path()) break;
    }
    for (auto it = missing.rbegin(); it != missing.rend(); ++it) {
        if (::mkdir(it->c_str(), 0755) != 0 && errno != EEXIST)
            return fail("bad_path", "cannot create " + it->string() + ": " + errno_text(errno));
        if (::chmod(it->c_str(), 0755) != 0)
            return fail("bad_path", "cannot make " + it->string() + " mode 0755: " + errno_text(errno));
    }
    return {};
}

// A socket file left by a daemon that died is removed; one that answers
// belongs to a running daemon and is left alone.
Result<void> clear_stale(const std::string& path, const sockaddr_un& addr) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) {
        if (errno == ENOENT) return {};
        return fail("bad_path", "cannot inspect " + path + ": " + errno_text(errno));
    }
    if (!S_ISSOCK(st.st_mode))
        return fail("path_in_use", path + " exists and is not a socket; remove it or choose another socket path");
    const int probe = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (probe < 0) return fail("socket_failed", "socket(AF_UNIX): " + errno_text(errno));
    const int r = ::connect(probe, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
    const int e = errno;
    ::close(probe);
    if (r == 0 || e == EAGAIN || e == EINPROGRESS)
        return fail("already_running", "another ztna-agentd is already listening on " + path +
                                           "; stop it first (systemctl stop ztna-agentd) or use another socket path");
    if (e != ECONNREFUSED)
        return fail("path_in_use", "cannot tell whether the socket " + path + " is in use (connect: " + errno_text(e) +
                                       "); remove it by hand if no ztna-agentd runs");
    if (::unlink(path.c_str()) != 0 && errno != ENOENT)
        return fail("path_in_use", "cannot remove the stale socket " + path + ": " + errno_text(errno));
    return {};
}

struct Client {
    int fd = -1;
    uid_t uid = 0;
    gid_t gid = 0;
    pid_t pid = 0;
    FrameReader reader;
    std::string out;  // unsent bytes start at out_pos
    std::size_t out_pos = 0;
    bool greeted = false;
    bool subscribed = false;
    int bad_frames = 0;
    Clock::time_point last_frame;  // accept, or the last complete frame
    double tokens = 0;             // request budget (token bucket)
    Clock::time_point refilled;

    std::size_t unsent() const { return out.size() - out_pos; }
    std::string who() const {
        return "client pid " + std::to_string(pid) + " uid " + std::to_string(uid);
    }
};

}  // namespace

struct IpcServer::State {
    std::string path;
    std::map<std::string, Method> methods;
    std::function<bool(uid_t)> may_control;
    std::string daemon_version;
    Options opt;

    int listen_fd = -1;
    int wake_fd = -1;
    int reserve_fd = -1;  // given up to shed one connection when out of descriptors
    dev_t dev = 0;
    ino_t ino = 0;
    std::thread thread;
    std::atomic<bool> stop_flag{false};

    std::mutex mu;  // guards stopping and events
    bool stopping = false;
    std::vector<std::string> events;

    // Server thread only.
    std::vector<std::unique_ptr<Client>> clients;
    std::vector<char> rbuf = std::vector<char>(kReadChunk);

    ~State() {
        if (listen_fd >= 0) ::close(listen_fd);
        if (reserve_fd >= 0) ::close(reserve_fd);
        if (wake_fd >= 0) ::close(wake_fd);
        for (auto& c : clients)
            if (c->fd >= 0) ::close(c->fd);
    }

    Clock::time_point now() const { return opt.clock ? opt.clock() : Clock::now(); }

    void log(const std::string& line) const {
        if (!opt.log) return;
        try {
            opt.log(line);
        } catch (...) {
        }
    }

    void wake() const {
        const std::uint64_t one = 1;
        [[maybe_unused]] const ssize_t n = ::write(wake_fd, &one, sizeof one);
    }

    // --- the loop ----------------------------------------------------------

    void run() {
        std::vector<pollfd> fds;
        std::vector<Client*> polled;
        while (!stop_flag.load()) {
            fds.clear();
            polled.clear();
            // The listener first: when poll() reports a new connection, every
            // hang-up that happened before it is reported too (tests rely on it).
            fds.push_back({listen_fd, POLLIN, 0});
            fds.push_back({wake_fd, POLLIN, 0});
            for (auto& c : clients) {
                fds.push_back({c->fd, short(POLLIN | (c->unsent() ? POLLOUT : 0)), 0});
                polled.push_back(c.get());
            }
            const int n = ::poll(fds.data(), fds.size(), poll_timeout());
            if (n < 0) {
                if (errno == EINTR) continue;
                log("poll: " + errno_text(errno));
                std::this_thread::sleep_for(std::chrono::milliseconds(100));
                continue;
            }
            if (fds[1].revents) {
                std::uint64_t count = 0;
                [[maybe_unused]] const ssize_t r = ::read(wake_fd, &count, sizeof count);
            }
            deliver_events();
            for (std::size_t i = 0; i < polled.size(); ++i) {
                Client& c = *polled[i];
                const short re = fds[i + 2].revents;
                if (c.fd >= 0 && (re & POLLOUT)) flush(c);
                if (c.fd >= 0 && (re & (POLLIN | POLLHUP | POLLERR))) read_from(c);
            }
            sweep_idle();
            std::erase_if(clients, [](const std::unique_ptr<Client>& c) { return c->fd < 0; });
            if (fds[0].revents & POLLIN) accept_all();
        }
        for (auto& c : clients) close_client(*c, "the server stops", false);
        clients.clear();
        ::close(listen_fd);
        listen_fd = -1;
        struct stat st {};
        if (::lstat(path.c_str(), &st) == 0 && st.st_dev == dev && st.st_ino == ino) ::unlink(path.c_str());
    }

    std::optional<Clock::time_point> deadline(const Client& c) const {
        // A subscribed client waiting for events with nothing half-sent is
        // not idle: it is the tray.
        if (c.greeted && c.subscribed && c.reader.buffered() == 0) return std::nullopt;
        return c.last_frame + opt.idle_timeout;
    }

    int poll_timeout() const {
        std::optional<Clock::duration> wait;
        const auto t = now();
        for (const auto& c : clients) {
            const auto d = deadline(*c);
            if (!d) continue;
            const Clock::duration left = std::max<Clock::duration>(*d - t, Clock::duration::zero());
            if (!wait || left < *wait) wait = left;
        }
        if (!wait) return -1;
        const auto capped = std::min<Clock::duration>(*wait, opt.max_wait);
        return int(std::chrono::ceil<std::chrono::milliseconds>(capped).count());
    }

    void sweep_idle() {
        const auto t = now();
        for (auto& c : clients) {
            if (c->fd < 0) continue;
            const auto d = deadline(*c);
            if (d && *d <= t)
                close_with(*c,
                           {"idle",
                            "closed after " + std::to_string(opt.idle_timeout.count()) +
                                " ms without a complete frame",
                            "send whole newline-terminated frames; to wait for events, call subscribe"},
                           "idle");
        }
    }

    void accept_all() {
        for (;;) {
            const int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
            if (fd < 0) {
                const int e = errno;
                if (e == EINTR || e == ECONNABORTED) continue;
                if (e == EAGAIN || e == EWOULDBLOCK) return;
                if ((e == EMFILE || e == ENFILE) && reserve_fd >= 0) {
                    // Shed the connection rather than spin on a listener that stays readable.
                    ::close(reserve_fd);
                    const int shed = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
                    if (shed >= 0) ::close(shed);
                    reserve_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
                    log("out of file descriptors: refused a connection");
                    continue;
                }
                log("accept: " + errno_text(e));
                return;
            }
            ucred cred{};
            socklen_t len = sizeof cred;
            if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || len != sizeof cred) {
                // No credentials, no authorization: refuse.
                log("SO_PEERCRED failed (" + errno_text(errno) + "): connection refused");
                ::close(fd);
                continue;
            }
            // Room: max_clients for everyone, at most max_clients_per_uid for any one user
            // but root, and root_reserve more for root, so no local user can lock root out.
            const auto full = [&] {
                if (cred.uid == 0) return clients.size() >= opt.max_clients + opt.root_reserve;
                std::size_t mine = 0;
                for (const auto& c : clients)
                    if (c->uid == cred.uid) ++mine;
                return clients.size() >= opt.max_clients || mine >= opt.max_clients_per_uid;
            };
            if (full()) reap_hung_up();
            if (full()) {
                const std::string frame =
                    encode(ConnectionError{{"busy",
                                            "ztna-agentd already serves as many clients as it allows (" +
                                                std::to_string(opt.max_clients) + " in all, " +
                                                std::to_string(opt.max_clients_per_uid) + " per user, " +
                                                std::to_string(opt.max_clients + opt.root_reserve) + " for root)",
                                            "close other ztnactl or tray instances, or retry in a moment"}});
                [[maybe_unused]] const ssize_t n = ::send(fd, frame.data(), frame.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
                ::close(fd);
                log("client pid " + std::to_string(cred.pid) + " uid " + std::to_string(cred.uid) +
                    ": refused, too many clients");
                continue;
            }
            auto c = std::make_unique<Client>();
            c->fd = fd;
            c->uid = cred.uid;
            c->gid = cred.gid;
            c->pid = cred.pid;
            c->last_frame = c->refilled = now();
            c->tokens = double(std::max(opt.max_requests_per_second, 0));
            clients.push_back(std::move(c));
        }
    }

    // Before refusing a newcomer for want of room, drops the clients that
    // are already gone (their hang-up may not have been seen by poll() yet:
    // they closed while this thread was accepting).
    void reap_hung_up() {
        std::vector<pollfd> fds;
        for (auto& c : clients) fds.push_back({c->fd, 0, 0});  // POLLHUP and POLLERR are always reported
        if (::poll(fds.data(), fds.size(), 0) <= 0) return;
        for (std::size_t i = 0; i < fds.size(); ++i)
            if (fds[i].revents & (POLLHUP | POLLERR)) close_client(*clients[i], "hung up", false);
        std::erase_if(clients, [](const std::unique_ptr<Client>& c) { return c->fd < 0; });
    }

    // --- output ------------------------------------------------------------

    // notable: worth a log line (a client that ends its own connection is not).
    void close_client(Client& c, const std::string& why, bool notable = true) {
        if (c.fd < 0) return;
        if (notable) log(c.who() + ": closed: " + why);
        ::close(c.fd);
        c.fd = -1;
    }

    void flush(Client& c) {
        while (c.fd >= 0 && c.unsent()) {
            const ssize_t n = ::send(c.fd, c.out.data() + c.out_pos, c.unsent(), MSG_NOSIGNAL | MSG_DONTWAIT);
            if (n > 0) {
                c.out_pos += std::size_t(n);
                continue;
            }
            if (n < 0 && errno == EINTR) continue;
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
            close_client(c, "send: " + errno_text(errno));
            return;
        }
        if (c.out_pos == c.out.size()) {
            c.out.clear();
            c.out_pos = 0;
        } else if (c.out_pos >= kReadChunk) {
            c.out.erase(0, c.out_pos);
            c.out_pos = 0;
        }
    }

    void queue(Client& c, const std::string& frame) {
        if (c.fd < 0) return;
        c.out += frame;
        if (c.unsent() > opt.max_output) {
            close_client(c, "does not read its answers (" + std::to_string(c.unsent()) + " bytes unsent)");
            return;
        }
        flush(c);
    }

    // Best effort: the error frame is written if the socket takes it, then the
    // connection is closed either way (a client that does not read loses it).
    void close_with(Client& c, const WireError& e, const std::string& why) {
        if (c.fd < 0) return;
        c.out += encode(ConnectionError{e});
        flush(c);
        close_client(c, why);
    }

    void answer_error(Client& c, std::int64_t id, WireError e) {
        queue(c, encode(Response{id, json::Object{}, std::move(e)}));
    }

    void deliver_events() {
        std::vector<std::string> batch;
        {
            std::lock_guard lock(mu);
            batch.swap(events);
        }
        for (const auto& frame : batch)
            for (auto& c : clients)
                if (c->fd >= 0 && c->subscribed) queue(*c, frame);
    }

    // --- input -------------------------------------------------------------

    void read_from(Client& c) {
        // One read per wake-up, so a busy client cannot starve the others.
        const ssize_t n = ::recv(c.fd, rbuf.data(), rbuf.size(), 0);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
            close_client(c, "recv: " + errno_text(errno));
            return;
        }
        if (n == 0) {
            close_client(c, "closed by the client", false);
            return;
        }
        // A subscriber that was quietly waiting starts its idle clock when it
        // begins a frame, not at its last complete one.
        const bool was_exempt = !deadline(c);
        std::string_view in(rbuf.data(), std::size_t(n));
        while (!in.empty() && c.fd >= 0) {
            const auto step = c.reader.feed(in);
            in.remove_prefix(step.consumed);
            if (step.status == FrameReader::Status::Frame) {
                on_frame(c, c.reader.frame());
            } else if (step.status == FrameReader::Status::TooLarge) {
                close_with(c,
                           {"too_large", "frame is over the limit of " + std::to_string(kMaxFrame) + " bytes",
                            "send one JSON object per line, at most " + std::to_string(kMaxFrame) + " bytes"},
                           "frame too large");
                return;
            }
        }
        if (was_exempt && c.fd >= 0 && deadline(c)) c.last_frame = now();
    }

    void on_frame(Client& c, const std::string& frame) {
        c.last_frame = now();
        auto v = parse_frame(frame);
        if (!c.greeted) {
            const std::string hint = "start with {\"ipc\":\"ztna\",\"version\":" + std::to_string(kVersion) + "}";
            if (!v) return close_with(c, {"bad_request", v.error().message, hint}, "bad handshake");
            auto hello = decode_hello(*v);
            if (!hello) return close_with(c, {"bad_request", hello.error().message, hint}, "bad handshake");
            if (hello->version != kVersion)
                return close_with(c,
                                  {"version_mismatch",
                                   "the client speaks IPC version " + std::to_string(hello->version) +
                                       "; ztna-agentd " + daemon_version + " speaks version " +
                                       std::to_string(kVersion),
                                   "use ztnactl and the tray from the same release as ztna-agentd"},
                                  "version mismatch");
            c.greeted = true;
            queue(c, encode(Welcome{kVersion, daemon_version}));
            return;
        }
        if (!v) return bad_frame(c, std::nullopt, v.error().message);
        auto req = decode_request_json(*v);
        if (!req) return bad_frame(c, request_id(*v), req.error().message);
        if (!take_token(c))
            return answer_error(c, req->id,
                                {"busy",
                                 "more than " + std::to_string(opt.max_requests_per_second) +
                                     " requests per second on this connection; `" + req->method + "` was not run",
                                 "slow down and retry"});
        dispatch(c, *req);
    }

    void bad_frame(Client& c, std::optional<std::int64_t> id, const std::string& message) {
        ++c.bad_frames;
        const bool last = c.bad_frames >= opt.max_bad_frames;
        WireError e{"bad_request",
                    message + (last ? "; closing the connection after " + std::to_string(c.bad_frames) + " bad frames"
                                    : std::string()),
                    "send one JSON object per line: {\"id\":N,\"method\":\"NAME\",\"params\":{...}}"};
        if (id)
            queue(c, encode(Response{*id, json::Object{}, std::move(e)}));
        else
            queue(c, encode(ConnectionError{std::move(e)}));
        if (last) close_client(c, "too many bad frames");
    }

    bool take_token(Client& c) {
        if (opt.max_requests_per_second <= 0) return true;
        const double cap = opt.max_requests_per_second;
        const auto t = now();
        const double elapsed = std::chrono::duration<double>(t - c.refilled).count();
        if (elapsed > 0) {
            c.tokens = std::min(cap, c.tokens + elapsed * cap);
            c.refilled = t;
        }
        if (c.tokens < 1) return false;
        c.tokens -= 1;
        return true;
    }

    bool check_control(uid_t uid) const {
        if (!may_control) return false;
        try {
            return may_control(uid);
        } catch (...) {
            log("may_control(" + std::to_string(uid) + ") threw: denied");
            return false;
        }
    }

    static bool allowed(Access access, const Caller& caller) {
        switch (access) {
            case Access::Status:
                return true;
            case Access::Control:
                return caller.may_control;
        }
        return false;  // default deny
    }

    void dispatch(Client& c, const Request& req) {
        const Caller caller{c.uid, c.gid, c.pid, check_control(c.uid)};
        const bool subscribe = req.method == "subscribe";
        const auto it = methods.find(req.method);
        if (it == methods.end() && !subscribe)
            return answer_error(c, req.id,
                                {"unknown_method", "ztna-agentd " + daemon_version + " has no method `" + req.method + "`",
                                 "use a client from the same release as ztna-agentd"});
        const Access access = it != methods.end() ? it->second.access : Access::Status;
        if (!allowed(access, caller))
            return answer_error(c, req.id,
                                {"not_allowed",
                                 "`" + req.method + "` needs control rights, which uid " + std::to_string(caller.uid) +
                                     " does not have (only root and the user of the active console session have them)",
                                 "run it as root (sudo) or from the active console session"});

        std::optional<Result<json::Value>> r;
        if (it == methods.end()) {
            r.emplace(json::Value(json::Object{{"subscribed", true}}));
        } else {
            try {
                if (!it->second.handle) throw std::bad_function_call();
                r.emplace(it->second.handle(req.params, caller));
            } catch (const std::exception& e) {
                log(c.who() + ": method " + req.method + " threw: " + e.what());
            } catch (...) {
                log(c.who() + ": method " + req.method + " threw a non-exception");
            }
        }
        if (c.fd < 0) return;
        if (!r)
            return answer_error(c, req.id,
                                {"internal_error", "ztna-agentd failed inside `" + req.method + "`",
                                 "retry; if it persists, see the daemon's log (journalctl -u ztna-agentd)"});
        if (!*r) {
            const Error& e = r->error();
            return answer_error(c, req.id, {e.code.empty() ? "failed" : e.code, e.message});
        }
        const std::string frame = encode(Response{req.id, r->value()});
        if (!fits_frame(frame))
            return answer_error(c, req.id,
                                {"too_large",
                                 "the answer to `" + req.method + "` is " + std::to_string(frame.size() - 1) +
                                     " bytes, over the frame limit of " + std::to_string(kMaxFrame),
                                 "ask for less (a filter or a smaller range) if the method takes one"});
        if (subscribe) c.subscribed = true;
        queue(c, frame);
    }
};

IpcServer::IpcServer(std::unique_ptr<State> state) : s_(std::move(state)) {}

IpcServer::~IpcServer() {
    if (!s_) return;
    stop();
    if (s_->thread.joinable()) {
        // Destroyed by one of its own handlers: the thread still runs on the
        // state, so leave both behind rather than pull the state from under it.
        s_->thread.detach();
        (void)s_.release();
    }
}

Result<std::unique_ptr<IpcServer>> IpcServer::listen(const std::string& path, std::map<std::string, Method> methods,
                                                     std::function<bool(uid_t)> may_control,
                                                     std::string daemon_version) {
    return listen(path, std::move(methods), std::move(may_control), std::move(daemon_version), Options{});
}

Result<std::unique_ptr<IpcServer>> IpcServer::listen(const std::string& path, std::map<std::string, Method> methods,
                                                     std::function<bool(uid_t)> may_control,
                                                     std::string daemon_version, Options options) {
    auto addr = unix_address(path);
    if (!addr) return Unexpected<Error>{addr.error()};
    if (auto r = make_parent(path); !r) return Unexpected<Error>{r.error()};
    if (auto r = clear_stale(path, *addr); !r) return Unexpected<Error>{r.error()};

    auto s = std::make_unique<State>();
    s->path = path;
    s->methods = std::move(methods);
    s->may_control = std::move(may_control);
    s->daemon_version = std::move(daemon_version);
    s->opt = std::move(options);

    s->listen_fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s->listen_fd < 0) return fail("socket_failed", "socket(AF_UNIX): " + errno_text(errno));
    if (::bind(s->listen_fd, reinterpret_cast<const sockaddr*>(&*addr), sizeof *addr) != 0) {
        const int e = errno;
        if (e == EADDRINUSE)
            return fail("already_running", "another ztna-agentd took " + path + " while this one started");
        return fail("bind_failed", "cannot bind the IPC socket " + path + ": " + errno_text(e));
    }
    struct stat st {};
    if (::chmod(path.c_str(), 0666) != 0 || ::lstat(path.c_str(), &st) != 0) {
        const int e = errno;
        ::unlink(path.c_str());
        return fail("bind_failed", "cannot make " + path + " mode 0666: " + errno_text(e));
    }
    s->dev = st.st_dev;
    s->ino = st.st_ino;
    // From here on a failure must remove the socket file it created.
    auto undo = [&](std::string code, std::string message) {
        ::unlink(path.c_str());
        return fail(std::move(code), std::move(message));
    };
    if (::listen(s->listen_fd, SOMAXCONN) != 0)
        return undo("bind_failed", "cannot listen on " + path + ": " + errno_text(errno));
    s->wake_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (s->wake_fd < 0) return undo("socket_failed", "eventfd: " + errno_text(errno));
    s->reserve_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    try {
        s->thread = std::thread([st = s.get()] { st->run(); });
    } catch (const std::system_error& e) {
        return undo("thread_failed", std::string("cannot start the IPC thread: ") + e.what());
    }
    return std::unique_ptr<IpcServer>(new IpcServer(std::move(s)));
}

void IpcServer::broadcast(const std::string& event, const json::Value& data) {
    if (!valid_name(event)) {
        s_->log("broadcast: `" + event + "` is not a valid event name; dropped");
        return;
    }
    if (!data.is_object()) {
        s_->log("broadcast: data of `" + event + "` is not a JSON object; dropped");
        return;
    }
    std::string frame = encode(Event{event, data});
    if (!fits_frame(frame)) {
        s_->log("broadcast: `" + event + "` is " + std::to_string(frame.size()) + " bytes, over the frame limit; dropped");
        return;
    }
    {
        std::lock_guard lock(s_->mu);
        if (s_->stopping) return;
        if (s_->events.size() >= kMaxQueuedEvents) {
            s_->log("broadcast: server thread behind; dropped `" + event + "`");
            return;
        }
        s_->events.push_back(std::move(frame));
    }
    s_->wake();
}

void IpcServer::stop() {
    {
        std::lock_guard lock(s_->mu);
        s_->stopping = true;
    }
    s_->stop_flag = true;
    s_->wake();
    if (s_->thread.joinable() && s_->thread.get_id() != std::this_thread::get_id()) s_->thread.join();
}

}  // namespace ztna::ipc
