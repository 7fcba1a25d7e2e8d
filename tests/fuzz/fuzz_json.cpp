// The JSON parser on arbitrary bytes: never crashes; what it accepts dumps to
// canonical JSON that parses back to the same value.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "ztna/json.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view in(reinterpret_cast<const char*>(data), size);
    auto v = ztna::json::parse(in);
    if (!v) return 0;
    const std::string once = ztna::json::dump(*v);
    auto again = ztna::json::parse(once);
    if (!again || !(*again == *v) || ztna::json::dump(*again) != once) std::abort();
    (void)ztna::json::dump_pretty(*v);
    return 0;
}
