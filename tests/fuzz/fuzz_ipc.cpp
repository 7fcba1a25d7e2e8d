// The IPC codec on arbitrary bytes, cut into arbitrary chunks: FrameReader
// yields the same frames as a plain split of the whole stream, never holds
// more than its limit, and every frame that decodes encodes back to itself.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "ipc_protocol.h"

using namespace ztna::ipc;

namespace {

void check(bool ok) {
    if (!ok) std::abort();
}

// The reference: split on '\n', drop a '\r' before it, skip blank lines,
// stop at the first line longer than the limit.
std::vector<std::string> reference(std::string_view s, std::size_t max, bool& too_large) {
    std::vector<std::string> frames;
    too_large = false;
    std::size_t off = 0;
    for (;;) {
        const std::size_t nl = s.find('\n', off);
        const std::size_t end = nl == std::string_view::npos ? s.size() : nl;
        if (end - off > max) {
            too_large = true;
            return frames;
        }
        if (nl == std::string_view::npos) return frames;
        std::string line(s.substr(off, end - off));
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (!line.empty()) frames.push_back(std::move(line));
        off = nl + 1;
    }
}

void round_trip(const std::string& frame) {
    if (auto req = decode_request(frame)) {
        const std::string wire = encode(*req);
        check(wire.find('\n') == wire.size() - 1);
        auto again = decode_request(std::string_view(wire).substr(0, wire.size() - 1));
        check(again.has_value());
        check(again->id == req->id && again->method == req->method && again->params == req->params);
    }
    if (auto parsed = parse_frame(frame)) {
        (void)decode_hello(*parsed);
        (void)request_id(*parsed);
    }
    if (auto msg = decode_server_message(frame)) {
        const std::string wire = std::visit([](const auto& m) { return encode(m); }, *msg);
        check(wire.find('\n') == wire.size() - 1);
        auto again = decode_server_message(std::string_view(wire).substr(0, wire.size() - 1));
        check(again.has_value() && again->index() == msg->index());
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    FuzzedDataProvider fdp(data, size);
    // Small limits reach the too-large path with short inputs.
    const std::size_t max = fdp.ConsumeBool() ? kMaxFrame : fdp.ConsumeIntegralInRange<std::size_t>(1, 300);
    std::vector<std::string> chunks;
    std::string stream;
    while (fdp.remaining_bytes() > 0) {
        const std::size_t n = fdp.ConsumeIntegralInRange<std::size_t>(0, 512);
        chunks.push_back(fdp.ConsumeBytesAsString(n));
        stream += chunks.back();
    }

    FrameReader reader(max);
    std::vector<std::string> frames;
    bool too_large = false;
    for (const auto& chunk : chunks) {
        std::string_view in = chunk;
        while (!in.empty() && !too_large) {
            const auto step = reader.feed(in);
            check(step.consumed <= in.size());
            check(step.consumed > 0);
            in.remove_prefix(step.consumed);
            check(reader.buffered() <= max);
            if (step.status == FrameReader::Status::Frame) {
                const std::string& f = reader.frame();
                check(!f.empty() && f.size() <= max && f.find('\n') == std::string::npos);
                frames.push_back(f);
                round_trip(f);
            } else if (step.status == FrameReader::Status::TooLarge) {
                too_large = true;
            }
        }
    }
    bool want_too_large = false;
    const auto want = reference(stream, max, want_too_large);
    check(frames == want);
    check(too_large == want_too_large);
    return 0;
}
