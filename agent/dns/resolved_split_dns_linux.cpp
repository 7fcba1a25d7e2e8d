#include <sys/stat.h>

#include <algorithm>

#include "resolved_split_dns.h"
#include "ztna/dns_name.h"
#include "ztna/run_tool.h"

namespace ztna::agent::dns {

namespace {

json::Value strings(const std::vector<std::string>& v) {
    json::Array a;
    for (const auto& s : v) a.push_back(s);
    return json::Value(a);
}

}  // namespace

ResolvedSplitDns::ResolvedSplitDns(std::string ifname, const std::string& stub_address, std::uint16_t stub_port,
                                   std::string runtime_dir)
    : ifname_(std::move(ifname)), server_(server_text(stub_address, stub_port)), runtime_dir_(std::move(runtime_dir)) {}

std::string ResolvedSplitDns::server_text(const std::string& address, std::uint16_t port) {
    const bool v6 = address.find(':') != std::string::npos;
    if (port == 53) return address;
    return (v6 ? "[" + address + "]" : address) + ":" + std::to_string(port);
}

bool ResolvedSplitDns::resolved_present() const {
    struct stat st {};
    return ::stat(runtime_dir_.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

Result<std::size_t> ResolvedSplitDns::route(std::vector<std::string> names) {
    names.erase(std::remove_if(names.begin(), names.end(), [](const std::string& n) { return !valid_dns_name(n); }), names.end());
    std::sort(names.begin(), names.end());
    names.erase(std::unique(names.begin(), names.end()), names.end());
    {
        std::lock_guard lock(mu_);
        if (names.empty() || (names == routed_ && error_.empty())) return routed_.size();
    }
    if (!resolved_present())
        return fail("resolved_absent", "systemd-resolved is not running (no " + runtime_dir_ + "): point the system resolver at " +
                                           server_ + " for the apps' names by hand (docs/agent.md, \"Apps by name\")");
    std::vector<std::vector<std::string>> steps = {
        // resolved gives a link a DNS scope only while it has an address of
        // global scope; ztna0 has none while no grant is open.
        {"ip", "address", "replace", std::string(kLinkAddress) + "/32", "dev", ifname_, "scope", "global"},
        {"resolvectl", "dns", ifname_, server_},
        {"resolvectl", "default-route", ifname_, "false"},
        {"resolvectl", "llmnr", ifname_, "no"},
        {"resolvectl", "mdns", ifname_, "no"},
    };
    std::vector<std::string> domain = {"resolvectl", "domain", ifname_};
    for (const auto& n : names) domain.push_back("~" + n);
    steps.push_back(domain);
    // The tools run without the lock: describe() (status) never waits for them.
    for (const auto& argv : steps)
        if (auto r = run_ok(argv); !r) {
            std::lock_guard lock(mu_);
            error_ = "cannot register the DNS stub with systemd-resolved: " + r.error().message +
                     "; the apps' names do not resolve until it works (check `resolvectl status " + ifname_ + "`)";
            return fail("resolved_failed", error_);
        }
    std::lock_guard lock(mu_);
    routed_ = std::move(names);
    error_.clear();
    return routed_.size();
}

json::Value ResolvedSplitDns::describe() const {
    std::lock_guard lock(mu_);
    const bool present = resolved_present();
    json::Object o{{"mode", present ? "systemd-resolved" : "manual"}, {"stub", server_}};
    if (present) o["routed_names"] = strings(routed_);
    if (!error_.empty()) o["error"] = error_;
    return o;
}

}  // namespace ztna::agent::dns
