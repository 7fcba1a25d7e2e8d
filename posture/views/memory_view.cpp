#include "memory_view.h"

#include "command_catalogue.h"
#include "text.h"

namespace ztna::posture {

Error MemoryView::missing(const std::string& key, std::string fallback) const {
    const auto it = errors.find(key);
    return Error{it != errors.end() ? it->second : std::move(fallback)};
}

Result<std::string> MemoryView::file(std::string_view path, std::size_t max_bytes) const {
    if (forbidden_path(path)) return fail(std::string(path) + ": not readable by posture probes");
    const auto it = files.find(path);
    if (it == files.end()) return Unexpected<Error>{missing("fs" + std::string(path), std::string(path) + ": no such file")};
    return it->second.substr(0, max_bytes);
}

Result<std::string> MemoryView::command(std::string_view name, std::string_view arg) const {
    auto spec = check_command(platform_, name, arg);
    if (!spec) return Unexpected<Error>{spec.error()};
    const auto it = commands.find(command_key(name, arg));
    if (it == commands.end())
        return Unexpected<Error>{missing("cmd/" + command_key(name, arg), command_key(name, arg) + ": no output recorded")};
    return it->second.substr(0, limits::kMaxCommandBytes);
}

Result<json::Value> MemoryView::query(std::string_view name) const {
    auto spec = check_query(platform_, name);
    if (!spec) return Unexpected<Error>{spec.error()};
    const auto it = queries.find(name);
    if (it == queries.end())
        return Unexpected<Error>{missing("query/" + std::string(name), std::string(name) + ": no query result recorded")};
    auto v = json::parse(text::decode(it->second));
    if (!v) return fail("query " + std::string(name) + ": " + v.error().message);
    return v;
}

}  // namespace ztna::posture
