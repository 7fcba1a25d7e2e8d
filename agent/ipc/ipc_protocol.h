// The local IPC protocol between ztna-agentd and its clients (ztnactl, the
// tray): one codec shared by both sides, with no sockets and no clock, so it
// can be fuzzed on its own. The wire format is written down in docs/ipc.md.
//
// Frames are single-line JSON objects ended by '\n', at most kMaxFrame bytes
// before the newline. A connection starts with Hello (client) and Welcome
// (server); then the client sends Requests, the server answers each with a
// Response carrying the same id, and pushes Events to subscribed clients.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "ztna/json.h"
#include "ztna/result.h"

namespace ztna::ipc {

// Protocol constants (docs/ipc.md). The server's own limits (clients, rates,
// timeouts) are in IpcServer::Options.
inline constexpr std::int64_t kVersion = 1;
inline constexpr std::size_t kMaxFrame = 64 * 1024;  // bytes of JSON, newline excluded
inline constexpr std::size_t kMaxNameLength = 64;    // method and event names
inline constexpr int kMaxDepth = 32;                 // JSON nesting inside a frame

// Splits a byte stream into frames. Feed it what the socket gave; each call
// consumes bytes up to the end of one frame at most, so it never holds more
// than max_frame bytes of an incomplete frame:
//
//     while (!in.empty()) {
//         auto step = reader.feed(in);
//         in.remove_prefix(step.consumed);
//         if (step.status == FrameReader::Status::Frame) handle(reader.frame());
//         else if (step.status == FrameReader::Status::TooLarge) { close(); break; }
//     }
//
// Blank lines (and a '\r' before the '\n') are skipped. TooLarge is sticky:
// once a line is longer than max_frame the stream cannot be resynchronised
// safely, and every later feed consumes everything and reports TooLarge again.
class FrameReader {
public:
    enum class Status { NeedMore, Frame, TooLarge };
    struct Step {
        Status status;
        std::size_t consumed;
    };

    explicit FrameReader(std::size_t max_frame = kMaxFrame) : max_(max_frame) {}

    Step feed(std::string_view bytes);
    // The frame of the last Frame step, without its newline; valid until the next feed.
    const std::string& frame() const { return buf_; }
    // Bytes of an incomplete frame held (0 right after a Frame step).
    std::size_t buffered() const { return ready_ ? 0 : buf_.size(); }
    bool too_large() const { return too_large_; }
    std::size_t max_frame() const { return max_; }

private:
    std::string buf_;
    std::size_t max_;
    bool ready_ = false;
    bool too_large_ = false;
};

// The messages. An error on the wire carries a stable code (docs/ipc.md,
// "Error codes"), a message for people and, where there is one, what to do.
struct WireError {
    std::string code;
    std::string message;
    std::string remediation = {};
};

struct Hello {  // client -> server, first frame
    std::int64_t version = kVersion;
};
struct Welcome {  // server -> client, answer to Hello
    std::int64_t version = kVersion;
    std::string daemon;
};
struct Request {  // client -> server
    std::int64_t id = 0;
    std::string method;
    json::Value params = json::Object{};
};
struct Response {  // server -> client: result, or error when set
    std::int64_t id = 0;
    json::Value result = json::Object{};
    std::optional<WireError> error = std::nullopt;
};
struct ConnectionError {  // server -> client, not tied to a request; the server may close after it
    WireError error;
};
struct Event {  // server -> subscribed clients
    std::string name;
    json::Value data = json::Object{};
};
using ServerMessage = std::variant<Welcome, Response, ConnectionError, Event>;

// Encoders: the compact JSON form followed by '\n'. They do not enforce the
// frame limit (a result may be large): check fits_frame before sending.
std::string encode(const Hello& m);
std::string encode(const Welcome& m);
std::string encode(const Request& m);
std::string encode(const Response& m);
std::string encode(const ConnectionError& m);
std::string encode(const Event& m);
bool fits_frame(std::string_view encoded);

// Method and event names: 1 to kMaxNameLength bytes of [A-Za-z0-9_.-].
bool valid_name(std::string_view name);

// Decoders. Errors say what is wrong with the frame; their code is
// "too_large" for an oversize frame and "bad_frame" otherwise (the server
// answers "bad_request", the client reports "bad_response").
Result<json::Value> parse_frame(std::string_view frame);  // JSON object within the limits
Result<Hello> decode_hello(const json::Value& frame);
Result<Request> decode_request_json(const json::Value& frame);  // after parse_frame
Result<Request> decode_request(std::string_view frame);
// The request id of a frame that failed to decode, so the error answer can carry it.
std::optional<std::int64_t> request_id(const json::Value& frame);
Result<ServerMessage> decode_server_message(std::string_view frame);

}  // namespace ztna::ipc
