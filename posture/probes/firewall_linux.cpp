// firewall on Linux: nftables (nft -j), iptables INPUT, ufw and firewalld.
// Pass when any of them filters incoming traffic; fail when at least one was
// readable and none does; unknown when none could be read.
#include <cctype>

#include "linux_common.h"
#include "probes.h"
#include "text.h"

namespace ztna::posture::probes {

namespace {

using namespace linux_detail;

enum class Verdict { Unreadable, Open, Filters };

struct Finding {
    Verdict verdict = Verdict::Unreadable;
    std::string detail;  // what decided it, for the summary
};

bool is_verdict_only(const json::Array& expr, bool& ends_in_drop) {
    // A rule that matches everything: only counters, logs, limits-free statements and a final verdict.
    ends_in_drop = false;
    if (expr.empty()) return false;
    for (std::size_t i = 0; i < expr.size(); ++i) {
        const json::Value& e = expr[i];
        if (!e.is_object() || e.as_object().size() != 1) return false;
        const std::string& key = e.as_object().begin()->first;
        const bool last = i + 1 == expr.size();
        if (key == "counter" || key == "log") continue;
        if (last && (key == "drop" || key == "reject")) {
            ends_in_drop = true;
            return true;
        }
        return false;
    }
    return false;
}

Finding nft(const SystemView& view, json::Object& ev) {
    Finding f;
    const Text t = run(view, "nft-ruleset");
    if (!t.ok) {
        ev["nft_error"] = t.error;
        return f;
    }
    auto doc = json::parse(t.text);
    const json::Array* items = doc ? doc->array_at("nftables") : nullptr;
    if (!items) {
        ev["nft_excerpt"] = text::excerpt(t.text);
        return f;
    }
    struct Chain {
        std::string family, table, name, policy;
        bool ends_in_drop = false;
    };
    std::vector<Chain> chains;
    bool metainfo = false;
    for (const auto& item : *items) {
        if (item.find("metainfo")) metainfo = true;
        if (const json::Value* c = item.find("chain")) {
            const std::string* hook = c->string_at("hook");
            if (!hook || *hook != "input") continue;
            Chain ch;
            if (const auto* s = c->string_at("family")) ch.family = *s;
            if (const auto* s = c->string_at("table")) ch.table = *s;
            if (const auto* s = c->string_at("name")) ch.name = *s;
            if (const auto* s = c->string_at("policy")) ch.policy = *s;
            chains.push_back(std::move(ch));
        } else if (const json::Value* r = item.find("rule")) {
            // Rules come after their chain, in order: remember whether the last one drops everything.
            const std::string *table = r->string_at("table"), *chain = r->string_at("chain"),
                              *family = r->string_at("family");
            const json::Array* expr = r->array_at("expr");
            if (!table || !chain || !family) continue;
            for (auto& ch : chains) {
                if (ch.table == *table && ch.name == *chain && ch.family == *family) {
                    bool drop = false;
                    ch.ends_in_drop = expr && is_verdict_only(*expr, drop) && drop;
                }
            }
        }
    }
    if (!metainfo && chains.empty() && items->empty()) {
        ev["nft_excerpt"] = text::excerpt(t.text);
        return f;
    }
    json::Array seen;
    f.verdict = Verdict::Open;
    for (const auto& ch : chains) {
        json::Object o;
        o["family"] = ch.family;
        o["table"] = ch.table;
        o["chain"] = ch.name;
        o["policy"] = ch.policy.empty() ? std::string("accept") : ch.policy;
        o["ends_in_drop"] = ch.ends_in_drop;
        seen.push_back(json::Value(std::move(o)));
        if (f.verdict != Verdict::Filters && (ch.policy == "drop" || ch.ends_in_drop)) {
            f.verdict = Verdict::Filters;
            f.detail = "nftables chain " + ch.family + " " + ch.table + " " + ch.name +
                       (ch.policy == "drop" ? " drops incoming traffic by default" : " ends by dropping incoming traffic");
        }
    }
    ev["nft_input_chains"] = json::Value(std::move(seen));
    return f;
}

Finding iptables(const SystemView& view, json::Object& ev) {
    Finding f;
    const Text t = run(view, "iptables-input");
    if (!t.ok) {
        ev["iptables_error"] = t.error;
        return f;
    }
    std::string policy;
    std::string last_rule;
    for (auto line : text::lines(t.text)) {
        line = text::trim(line);
        if (line.substr(0, 9) == "-P INPUT ") policy = std::string(text::trim(line.substr(9)));
        else if (line.substr(0, 9) == "-A INPUT ") last_rule = std::string(line);
    }
    if (policy.empty()) {
        ev["iptables_excerpt"] = text::excerpt(t.text);
        return f;
    }
    ev["iptables_input_policy"] = text::excerpt(policy, 20);
    const bool catch_all = last_rule == "-A INPUT -j DROP" || last_rule.rfind("-A INPUT -j REJECT", 0) == 0;
    f.verdict = Verdict::Open;
    if (policy == "DROP") {
        f.verdict = Verdict::Filters;
        f.detail = "the iptables INPUT policy is DROP";
    } else if (catch_all) {
        f.verdict = Verdict::Filters;
        f.detail = "the iptables INPUT chain ends by rejecting incoming traffic";
    }
    return f;
}

// `ufw status verbose`: active with "Default: deny (incoming)" (or reject) filters;
// active with "allow (incoming)", or inactive, does not.
Finding ufw(const SystemView& view, json::Object& ev) {
    Finding f;
    const Text t = run(view, "ufw-status");
    if (!t.ok) {
        ev["ufw_error"] = t.error;
        return f;
    }
    bool active = false, inactive = false;
    std::string incoming;
    for (auto line : text::lines(t.text)) {
        line = text::trim(line);
        if (line == "Status: active") active = true;
        if (line == "Status: inactive") inactive = true;
        if (line.substr(0, 9) == "Default: ") {
            const auto rest = line.substr(9);
            const auto in = rest.find(" (incoming)");
            if (in != std::string_view::npos) incoming = std::string(text::trim(rest.substr(0, in)));
        }
    }
    if (inactive) {
        ev["ufw_status"] = "inactive";
        return {Verdict::Open, {}};
    }
    if (active && !incoming.empty()) {
        ev["ufw_status"] = "active";
        ev["ufw_default_incoming"] = text::excerpt(incoming, 20);
        if (incoming == "deny" || incoming == "reject") return {Verdict::Filters, "ufw is active and denies incoming connections by default"};
        return {Verdict::Open, {}};
    }
    ev["ufw_excerpt"] = text::excerpt(t.text);
    return f;
}

Finding firewalld(const SystemView& view, json::Object& ev) {
    Finding f;
    const Text t = run(view, "firewalld-state");
    if (!t.ok) {
        ev["firewalld_error"] = t.error;
        return f;
    }
    const auto s = text::trim(t.text);
    if (s == "running") {
        ev["firewalld_state"] = "running";
        return {Verdict::Filters, "firewalld is running"};
    }
    if (s == "not running") {
        ev["firewalld_state"] = "not running";
        return {Verdict::Open, {}};
    }
    ev["firewalld_excerpt"] = text::excerpt(t.text);
    return f;
}

}  // namespace

CheckResult firewall_linux(const SystemView& view, const Requirements&) {
    const std::string id = "firewall";
    json::Object ev;
    // The kernel's rules (nft, iptables) decide when they can be read: ufw and
    // firewalld are front-ends that write them, and "active" or "running" says
    // nothing of a default zone that accepts everything. The front-ends are
    // read only when the rules cannot be (not root, tools missing).
    const Finding kernel[] = {nft(view, ev), iptables(view, ev)};
    const Finding frontends[] = {ufw(view, ev), firewalld(view, ev)};
    json::Array filtering;
    std::string first;
    bool kernel_readable = false;
    for (const auto& f : kernel) {
        if (f.verdict != Verdict::Unreadable) kernel_readable = true;
        if (f.verdict == Verdict::Filters) {
            filtering.push_back(f.detail);
            if (first.empty()) first = f.detail;
        }
    }
    if (!kernel_readable) {
        for (const auto& f : frontends) {
            if (f.verdict == Verdict::Filters) {
                filtering.push_back(f.detail);
                if (first.empty()) first = f.detail;
            }
        }
    }
    ev["decided_by"] = kernel_readable ? "kernel rules (nft, iptables)" : "firewall front-ends (ufw, firewalld)";
    ev["filtering"] = json::Value(filtering);
    if (!filtering.empty()) {
        return CheckResult::pass(id, "Incoming connections are filtered: " + first + ".", std::move(ev));
    }
    if (kernel_readable) {
        return CheckResult::fail(id, "No firewall filters incoming connections: the input rules accept them.",
                                 "Turn on a firewall that blocks incoming connections by default, for example "
                                 "`sudo ufw enable` (Ubuntu, Debian) or `sudo systemctl enable --now firewalld` (Fedora, RHEL).",
                                 std::move(ev));
    }
    return CheckResult::unknown(id, "No firewall rules could be read (nft, iptables, ufw, firewalld), so it is not known whether incoming connections are filtered.",
                                "Install and enable a firewall (for example `sudo apt install ufw && sudo ufw enable`), and "
                                "make sure the agent runs as root so that it can read the rules, then check again.",
                                std::move(ev));
}

}  // namespace ztna::posture::probes
