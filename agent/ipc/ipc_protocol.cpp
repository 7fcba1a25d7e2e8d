#include "ipc_protocol.h"

namespace ztna::ipc {

namespace {

constexpr std::string_view kIpcTag = "ztna";

Unexpected<Error> bad(std::string message) { return fail("bad_frame", std::move(message)); }

std::string line(const json::Value& v) {
    std::string s = json::dump(v);
    s += '\n';
    return s;
}

json::Value error_object(const WireError& e) {
    json::Object o{{"code", e.code}, {"message", e.message}};
    if (!e.remediation.empty()) o.emplace("remediation", e.remediation);
    return o;
}

Result<WireError> decode_error(const json::Value& v) {
    if (!v.is_object()) return bad("error is not a JSON object");
    const std::string* code = v.string_at("code");
    const std::string* message = v.string_at("message");
    if (!code) return bad("error has no string code");
    if (!message) return bad("error has no string message");
    WireError e{*code, *message};
    if (const json::Value* r = v.find("remediation")) {
        if (!r->is_string()) return bad("error remediation must be a string");
        e.remediation = r->as_string();
    }
    return e;
}

}  // namespace

FrameReader::Step FrameReader::feed(std::string_view bytes) {
    if (ready_) {
        buf_.clear();
        ready_ = false;
    }
    if (too_large_) return {Status::TooLarge, bytes.size()};
    std::size_t off = 0;
    while (off < bytes.size()) {
        const std::string_view rest = bytes.substr(off);
        const std::size_t nl = rest.find('\n');
        const std::size_t take = nl == std::string_view::npos ? rest.size() : nl;
        if (buf_.size() + take > max_) {
            too_large_ = true;
            buf_.clear();
            buf_.shrink_to_fit();
            return {Status::TooLarge, bytes.size()};
        }
        buf_.append(rest.substr(0, take));
        if (nl == std::string_view::npos) return {Status::NeedMore, bytes.size()};
        off += nl + 1;
        if (!buf_.empty() && buf_.back() == '\r') buf_.pop_back();
        if (buf_.empty()) continue;  // blank line
        ready_ = true;
        return {Status::Frame, off};
    }
    return {Status::NeedMore, off};
}

std::string encode(const Hello& m) { return line(json::Object{{"ipc", kIpcTag}, {"version", m.version}}); }

std::string encode(const Welcome& m) {
    return line(json::Object{{"ipc", kIpcTag}, {"version", m.version}, {"daemon", m.daemon}});
}

std::string encode(const Request& m) {
    return line(json::Object{{"id", m.id}, {"method", m.method}, {"params", m.params}});
}

std::string encode(const Response& m) {
    if (m.error) return line(json::Object{{"id", m.id}, {"error", error_object(*m.error)}});
    return line(json::Object{{"id", m.id}, {"result", m.result}});
}

std::string encode(const ConnectionError& m) { return line(json::Object{{"error", error_object(m.error)}}); }

std::string encode(const Event& m) { return line(json::Object{{"event", m.name}, {"data", m.data}}); }

bool fits_frame(std::string_view encoded) { return encoded.size() <= kMaxFrame + 1; }

bool valid_name(std::string_view name) {
    if (name.empty() || name.size() > kMaxNameLength) return false;
    for (char c : name) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                        c == '.' || c == '-';
        if (!ok) return false;
    }
    return true;
}

Result<json::Value> parse_frame(std::string_view frame) {
    if (frame.size() > kMaxFrame)
        return fail("too_large", "frame of " + std::to_string(frame.size()) + " bytes is over the limit of " +
                                     std::to_string(kMaxFrame) + " bytes");
    auto v = json::parse(frame, json::ParseLimits{kMaxFrame, kMaxDepth});
    if (!v) return bad("frame is not JSON (" + v.error().message + ")");
    if (!v->is_object()) return bad("frame is not a JSON object");
    return v;
}

Result<Hello> decode_hello(const json::Value& frame) {
    const std::string* tag = frame.string_at("ipc");
    if (!tag || *tag != kIpcTag)
        return bad("the first frame must be the handshake {\"ipc\":\"ztna\",\"version\":" + std::to_string(kVersion) +
                   "}");
    const std::int64_t* version = frame.int_at("version");
    if (!version) return bad("handshake has no integer version");
    return Hello{*version};
}

std::optional<std::int64_t> request_id(const json::Value& frame) {
    if (const std::int64_t* id = frame.int_at("id")) return *id;
    return std::nullopt;
}

Result<Request> decode_request_json(const json::Value& frame) {
    if (!frame.is_object()) return bad("frame is not a JSON object");
    const json::Value* method = frame.find("method");
    if (!method) return bad("request has no method");
    if (!method->is_string()) return bad("request method must be a string");
    if (!valid_name(method->as_string()))
        return bad("request method is not a valid name (1 to " + std::to_string(kMaxNameLength) +
                   " characters from A-Z a-z 0-9 _ . -)");
    const json::Value* id = frame.find("id");
    if (!id) return bad("request has no id");
    if (!id->is_int()) return bad("request id must be an integer");
    Request r{id->as_int(), method->as_string()};
    if (const json::Value* params = frame.find("params")) {
        if (!params->is_object()) return bad("request params must be a JSON object");
        r.params = *params;
    }
    return r;
}

Result<Request> decode_request(std::string_view frame) {
    auto v = parse_frame(frame);
    if (!v) return v.error().code == "too_large" ? fail("too_large", v.error().message) : bad(v.error().message);
    return decode_request_json(*v);
}

Result<ServerMessage> decode_server_message(std::string_view frame) {
    auto parsed = parse_frame(frame);
    if (!parsed) return Unexpected<Error>{parsed.error()};
    const json::Value& v = *parsed;

    if (v.find("ipc")) {
        const std::string* tag = v.string_at("ipc");
        if (!tag || *tag != kIpcTag) return bad("handshake answer is not from a ztna daemon (\"ipc\" is not \"ztna\")");
        const std::int64_t* version = v.int_at("version");
        if (!version) return bad("handshake answer has no integer version");
        const std::string* daemon = v.string_at("daemon");
        if (!daemon) return bad("handshake answer has no daemon version string");
        return ServerMessage{Welcome{*version, *daemon}};
    }
    if (const json::Value* name = v.find("event")) {
        if (!name->is_string() || !valid_name(name->as_string())) return bad("event name is not a valid name");
        Event e{name->as_string()};
        if (const json::Value* data = v.find("data")) {
            if (!data->is_object()) return bad("event data must be a JSON object");
            e.data = *data;
        }
        return ServerMessage{std::move(e)};
    }
    const json::Value* error = v.find("error");
    if (const json::Value* id = v.find("id")) {
        if (!id->is_int()) return bad("response id must be an integer");
        const json::Value* result = v.find("result");
        if (result && error) return bad("response has both result and error");
        if (result) return ServerMessage{Response{id->as_int(), *result}};
        if (!error) return bad("response has neither result nor error");
        auto e = decode_error(*error);
        if (!e) return Unexpected<Error>{e.error()};
        return ServerMessage{Response{id->as_int(), json::Object{}, std::move(*e)}};
    }
    if (error) {
        auto e = decode_error(*error);
        if (!e) return Unexpected<Error>{e.error()};
        return ServerMessage{ConnectionError{std::move(*e)}};
    }
    return bad("frame is neither a handshake, a response, an error nor an event");
}

}  // namespace ztna::ipc
