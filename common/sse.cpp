#include "ztna/sse.h"

namespace ztna {

bool SseParser::feed(std::string_view bytes, const std::function<void(const SseEvent&)>& on_event, std::size_t max_buffered) {
    buf_.append(bytes);
    for (auto end = buf_.find("\n\n"); end != std::string::npos; end = buf_.find("\n\n")) {
        const std::string frame = buf_.substr(0, end);
        buf_.erase(0, end + 2);
        SseEvent e;
        std::size_t pos = 0;
        while (pos < frame.size()) {
            const auto nl = frame.find('\n', pos);
            const std::string_view line = std::string_view(frame).substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
            if (line.substr(0, 7) == "event: ") e.type = std::string(line.substr(7));
            else if (line.substr(0, 6) == "data: ") e.data = std::string(line.substr(6));
            pos = nl == std::string::npos ? frame.size() : nl + 1;
        }
        if (!e.type.empty()) on_event(e);
    }
    return buf_.size() <= max_buffered;
}

}  // namespace ztna
