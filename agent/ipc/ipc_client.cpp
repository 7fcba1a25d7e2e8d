#include "ipc_client.h"

#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <thread>
#include <vector>

namespace ztna::ipc {

namespace {

using Clock = std::chrono::steady_clock;

constexpr std::size_t kMaxQueuedEvents = 1024;
constexpr std::size_t kReadChunk = 64 * 1024;
const std::string kStartIt = "start it: systemctl start ztna-agentd, or run ztna-agentd as root";

std::string ms(std::chrono::milliseconds t) { return std::to_string(t.count()) + " ms"; }

int remaining_ms(Clock::time_point deadline) {
    const auto left = deadline - Clock::now();
    if (left <= Clock::duration::zero()) return 0;
    return int(std::chrono::ceil<std::chrono::milliseconds>(left).count());
}

// The server's error as this side's Error: its code, its message and what to do.
Unexpected<Error> from_wire(const WireError& e) {
    return fail(e.code, e.remediation.empty() ? e.message : e.message + "; " + e.remediation);
}

Unexpected<Error> disconnected(const std::string& why) {
    return fail("disconnected", "ztna-agentd closed the connection (" + why + "); it may have stopped or restarted");
}

}  // namespace

IpcClient::Fd& IpcClient::Fd::operator=(Fd&& o) noexcept {
    if (this != &o) {
        reset();
        fd_ = std::exchange(o.fd_, -1);
    }
    return *this;
}

void IpcClient::Fd::reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
}

Result<IpcClient> IpcClient::connect(const std::string& path, std::chrono::milliseconds timeout) {
    IpcClient c(path, timeout);
    if (auto r = c.open(Clock::now() + timeout); !r) return Unexpected<Error>{r.error()};
    return Result<IpcClient>(std::move(c));
}

Result<void> IpcClient::open(Deadline deadline) {
    fd_.reset();
    reader_ = FrameReader();
    pending_.clear();
    eof_ = false;
    subscribed_ = false;
    events_.clear();

    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    if (path_.empty() || path_.size() >= sizeof(a.sun_path))
        return fail("bad_path", "socket path `" + path_ + "` is " + std::to_string(path_.size()) +
                                    " bytes long; a unix socket path has 1 to " + std::to_string(sizeof(a.sun_path) - 1));
    std::memcpy(a.sun_path, path_.data(), path_.size());

    fd_ = Fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (fd_.get() < 0) return fail("connect_failed", std::string("socket(AF_UNIX): ") + std::strerror(errno));
    for (;;) {
        if (::connect(fd_.get(), reinterpret_cast<const sockaddr*>(&a), sizeof a) == 0) break;
        const int e = errno;
        if (e == EINTR) continue;
        if (e == EAGAIN) {  // the daemon's accept queue is full
            if (Clock::now() >= deadline) {
                fd_.reset();
                return fail("busy", "ztna-agentd at " + path_ + " accepts no more connections (its queue is full); retry in a moment");
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
            continue;
        }
        fd_.reset();
        if (e == ENOENT || e == ENOTDIR)
            return fail("daemon_not_running", "ztna-agentd is not running (no socket at " + path_ + "); " + kStartIt);
        if (e == ECONNREFUSED)
            return fail("daemon_not_running",
                        "ztna-agentd is not running (nothing listens on " + path_ + "); " + kStartIt);
        if (e == EACCES || e == EPERM)
            return fail("permission_denied", "cannot connect to ztna-agentd at " + path_ +
                                                 ": permission denied; the socket should be mode 0666 in directories "
                                                 "everyone may enter: check them, or run as root");
        return fail("connect_failed", "cannot connect to ztna-agentd at " + path_ + ": " + std::strerror(e));
    }

    const std::string timeout_message = "ztna-agentd at " + path_ + " did not answer the handshake within " + ms(timeout_);
    if (auto r = send_all(encode(Hello{}), deadline, timeout_message); !r) return send_failed(r.error(), deadline);
    for (;;) {
        auto m = read_message(deadline, timeout_message);
        if (!m) {
            fd_.reset();
            return Unexpected<Error>{m.error()};
        }
        if (const auto* w = std::get_if<Welcome>(&*m)) {
            if (w->version != kVersion) {
                fd_.reset();
                return fail("version_mismatch", "ztna-agentd " + w->daemon + " speaks IPC version " +
                                                    std::to_string(w->version) + ", this client version " +
                                                    std::to_string(kVersion) +
                                                    "; use a client from the same release as ztna-agentd");
            }
            daemon_version_ = w->daemon;
            return {};
        }
        if (const auto* e = std::get_if<ConnectionError>(&*m)) {
            fd_.reset();
            return from_wire(e->error);
        }
        fd_.reset();
        return fail("bad_response", "ztna-agentd answered the handshake with another message");
    }
}

Result<void> IpcClient::send_all(const std::string& bytes, Deadline deadline, const std::string& timeout_message) {
    std::size_t off = 0;
    while (off < bytes.size()) {
        const ssize_t n = ::send(fd_.get(), bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
        if (n > 0) {
            off += std::size_t(n);
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            pollfd p{fd_.get(), POLLOUT, 0};
            const int r = ::poll(&p, 1, remaining_ms(deadline));
            if (r == 0) return fail("timeout", timeout_message);
            continue;
        }
        return disconnected(std::strerror(errno));
    }
    return {};
}

// The daemon may have closed the connection with a reason (busy, idle...)
// that is waiting to be read: report that rather than the broken pipe.
Unexpected<Error> IpcClient::send_failed(const Error& error, Deadline deadline) {
    if (error.code == "disconnected" && fd_.get() >= 0) {
        auto m = read_message(std::min(deadline, Clock::now() + std::chrono::milliseconds(100)), "");
        if (m)
            if (const auto* e = std::get_if<ConnectionError>(&*m)) {
                fd_.reset();
                return from_wire(e->error);
            }
    }
    fd_.reset();
    return Unexpected<Error>{error};
}

Result<ServerMessage> IpcClient::read_message(Deadline deadline, const std::string& timeout_message) {
    std::vector<char> buf;
    for (;;) {
        while (!pending_.empty()) {
            const auto step = reader_.feed(pending_);
            pending_.erase(0, step.consumed);
            if (step.status == FrameReader::Status::Frame) {
                auto m = decode_server_message(reader_.frame());
                if (!m) {
                    fd_.reset();
                    return fail("bad_response", "ztna-agentd sent a frame this client cannot read: " + m.error().message);
                }
                return m;
            }
            if (step.status == FrameReader::Status::TooLarge) {
                fd_.reset();
                return fail("too_large", "ztna-agentd sent a frame over the limit of " + std::to_string(kMaxFrame) + " bytes");
            }
        }
        if (fd_.get() < 0) return disconnected("earlier error");
        if (eof_) return disconnected("end of stream");
        pollfd p{fd_.get(), POLLIN, 0};
        const int r = ::poll(&p, 1, remaining_ms(deadline));
        if (r < 0 && errno == EINTR) continue;
        if (r == 0) return fail("timeout", timeout_message);
        if (buf.empty()) buf.resize(kReadChunk);
        const ssize_t n = ::recv(fd_.get(), buf.data(), buf.size(), 0);
        if (n > 0) {
            pending_.append(buf.data(), std::size_t(n));
        } else if (n == 0 || errno == ECONNRESET || errno == EPIPE) {
            eof_ = true;
        } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            const int e = errno;
            fd_.reset();
            return disconnected(std::strerror(e));
        }
    }
}

// Takes in what already arrived, without waiting; true when the daemon has
// closed the connection (or it was closed after an error).
bool IpcClient::peer_closed() {
    if (fd_.get() < 0 || eof_) return true;
    char buf[4096];
    for (int i = 0; i < 64; ++i) {
        const ssize_t n = ::recv(fd_.get(), buf, sizeof buf, MSG_DONTWAIT);
        if (n > 0) {
            pending_.append(buf, std::size_t(n));
            continue;
        }
        if (n == 0 || errno == ECONNRESET || errno == EPIPE) {
            eof_ = true;
            return true;
        }
        if (errno == EINTR) continue;
        return false;
    }
    return false;
}

Result<json::Value> IpcClient::call(const std::string& method, const json::Value& params) {
    const Deadline deadline = Clock::now() + timeout_;
    if (!valid_name(method)) return fail("bad_request", "`" + method + "` is not a valid method name");
    if (!params.is_object()) return fail("bad_request", "the params of `" + method + "` must be a JSON object");
    auto r = call_once(method, params, deadline);
    // Closed for idleness just as the request went out: the daemon closes
    // only connections it has read no complete frame from, so it did not run.
    if (!r && r.error().code == "idle" && !subscribed_) r = call_once(method, params, deadline);
    return r;
}

Result<json::Value> IpcClient::call_once(const std::string& method, const json::Value& params, Deadline deadline) {
    if (peer_closed()) {
        if (subscribed_) return disconnected("end of stream; subscribe again after reconnecting");
        if (auto r = open(deadline); !r) return Unexpected<Error>{r.error()};
    }
    const std::int64_t id = next_id_++;
    const std::string frame = encode(Request{id, method, params});
    if (!fits_frame(frame))
        return fail("too_large", "the request for `" + method + "` is " + std::to_string(frame.size() - 1) +
                                     " bytes, over the frame limit of " + std::to_string(kMaxFrame));
    const std::string timeout_message = "ztna-agentd did not answer `" + method + "` within " + ms(timeout_);
    if (auto r = send_all(frame, deadline, timeout_message); !r) {
        if (r.error().code == "timeout") return Unexpected<Error>{r.error()};
        return send_failed(r.error(), deadline);
    }
    for (;;) {
        auto m = read_message(deadline, timeout_message);
        if (!m) return Unexpected<Error>{m.error()};
        if (auto* resp = std::get_if<Response>(&*m)) {
            if (resp->id != id) continue;  // the late answer to a call that timed out
            if (resp->error) return from_wire(*resp->error);
            if (method == "subscribe") subscribed_ = true;
            return std::move(resp->result);
        }
        if (auto* ev = std::get_if<Event>(&*m)) {
            if (events_.size() >= kMaxQueuedEvents) events_.pop_front();
            events_.push_back(std::move(*ev));
            continue;
        }
        if (const auto* e = std::get_if<ConnectionError>(&*m)) {
            fd_.reset();
            return from_wire(e->error);
        }
        // A stray handshake answer: ignore it.
    }
}

Result<std::pair<std::string, json::Value>> IpcClient::next_event(std::chrono::milliseconds timeout) {
    if (!events_.empty()) {
        Event e = std::move(events_.front());
        events_.pop_front();
        return std::pair{std::move(e.name), std::move(e.data)};
    }
    const Deadline deadline = Clock::now() + timeout;
    const std::string timeout_message = "ztna-agentd sent no event within " + ms(timeout);
    for (;;) {
        auto m = read_message(deadline, timeout_message);
        if (!m) return Unexpected<Error>{m.error()};
        if (auto* ev = std::get_if<Event>(&*m)) return std::pair{std::move(ev->name), std::move(ev->data)};
        if (const auto* e = std::get_if<ConnectionError>(&*m)) {
            fd_.reset();
            return from_wire(e->error);
        }
        // Late answers to calls that timed out: skip.
    }
}

}  // namespace ztna::ipc
