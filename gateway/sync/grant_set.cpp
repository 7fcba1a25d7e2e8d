#include "grant_set.h"

namespace ztna::gateway {

void GrantSet::replace(const std::vector<GatewayGrant>& grants) {
    grants_.clear();
    for (const auto& g : grants) grants_[g.id] = g;
}

void GrantSet::upsert(const GatewayGrant& g) { grants_[g.id] = g; }

bool GrantSet::remove(const std::string& id) { return grants_.erase(id) > 0; }

std::vector<std::string> GrantSet::expire(std::int64_t now) {
    std::vector<std::string> gone;
    for (auto it = grants_.begin(); it != grants_.end();) {
        if (it->second.expires_at <= now) {
            gone.push_back(it->first);
            it = grants_.erase(it);
        } else {
            ++it;
        }
    }
    return gone;
}

}  // namespace ztna::gateway
