// An https://HOST[:PORT][/] URL split into host and port (443 by default;
// [IPv6] literals accepted). Errors name the URL and what is wrong with it.
#pragma once

#include <string>
#include <string_view>

#include "ztna/result.h"

namespace ztna {

struct HttpsUrl {
    std::string host;
    int port = 443;
};

Result<HttpsUrl> parse_https_url(std::string_view url);

}  // namespace ztna
