// The admin API (/v1/admin/...), used by ztna-admin: enrollment tokens,
// devices, users and the audit log. Callers are authenticated by the admin
// credential before these run (server.cpp). docs/protocol.md, "Admin API".
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "api_response.h"
#include "store.h"

namespace ztna::controller {

struct AdminContext {
    Store& store;
    std::int64_t now;
    std::int64_t max_token_ttl_s;
};

ApiResponse admin_create_token(AdminContext& c, const json::Value& body);
ApiResponse admin_list_tokens(AdminContext& c);
ApiResponse admin_revoke_token(AdminContext& c, const std::string& id);
ApiResponse admin_list_devices(AdminContext& c);
ApiResponse admin_revoke_device(AdminContext& c, const std::string& id);
ApiResponse admin_list_users(AdminContext& c);
ApiResponse admin_set_user_disabled(AdminContext& c, const std::string& who, bool disabled);
// Query parameters: user, app, device, since (Unix seconds), limit (1..10000).
ApiResponse admin_audit(AdminContext& c, const std::map<std::string, std::string>& params);

}  // namespace ztna::controller
