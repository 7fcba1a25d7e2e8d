#include "decide.h"

#include <algorithm>

namespace ztna::controller {

namespace {

bool in(const std::vector<std::string>& v, const std::string& s) { return std::find(v.begin(), v.end(), s) != v.end(); }

std::string join(const std::vector<std::string>& v) {
    std::string out;
    for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
    return out;
}

bool in_schedule(const Schedule& s, std::int64_t now) {
    const std::int64_t days = now / 86400;
    const int weekday = int((days + 4) % 7);  // 1970-01-01 was a Thursday
    const int minute = int((now % 86400) / 60);
    return std::find(s.days.begin(), s.days.end(), weekday) != s.days.end() && minute >= s.from_minute && minute < s.to_minute;
}

std::string hhmm(int m) {
    const int h = m / 60, mm = m % 60;
    return std::string{char('0' + h / 10), char('0' + h % 10), ':', char('0' + mm / 10), char('0' + mm % 10)};
}

// The reasons this rule does not allow the app for who, now; empty when it does.
std::vector<Denial> rule_blocks(const Rule& r, const Subject& who, const PostureState& posture, std::int64_t now) {
    std::vector<Denial> out;
    if (r.require_mfa && !has_mfa(who.amr))
        out.push_back({"mfa_required", "This app needs multi-factor authentication, and this sign-in used only " +
                                           (who.amr.empty() ? std::string("one factor") : join(who.amr)) + ".",
                       "Sign out and sign in again with your second factor (authenticator app or security key)."});
    if (r.schedule && !in_schedule(*r.schedule, now))
        out.push_back({"outside_hours", "This app may be used only from " + hhmm(r.schedule->from_minute) + " to " +
                                            hhmm(r.schedule->to_minute) + " UTC on its scheduled days.",
                       "Try again during those hours, or ask your administrator."});
    if (!r.posture.empty()) {
        if (!posture.present) {
            out.push_back({"posture_missing", "This device has not sent a recent posture report, so its checks are not known.",
                           "Make sure the ZTNA agent is running; it reports posture every minute."});
        } else {
            for (const auto& id : r.posture) {
                auto it = posture.checks.find(id);
                if (it == posture.checks.end()) {
                    out.push_back({"posture_failed", "The device check " + id + " was not reported.", "Update the ZTNA agent."});
                } else if (it->second.status != "pass") {
                    out.push_back({"posture_failed",
                                   "Device check " + id + (it->second.status == "fail" ? " failed" : " is " + it->second.status) + ": " +
                                       it->second.summary,
                                   it->second.remediation.empty() ? "Fix this check, then try again." : it->second.remediation});
                }
            }
        }
    }
    return out;
}

}  // namespace

bool has_mfa(const std::vector<std::string>& amr) {
    static const char* const kSecondFactors[] = {"mfa", "otp", "hwk", "swk", "sms", "tel", "fpt", "face", "iris", "retina", "vbm", "sc"};
    for (const auto& m : amr)
        for (const char* f : kSecondFactors)
            if (m == f) return true;
    return false;
}

std::vector<Decision> decide(const Policy& policy, const Subject& who, const PostureState& posture, std::int64_t now) {
    std::vector<Decision> out;
    for (const auto& app : policy.apps) {
        Decision d;
        d.app = app.name;
        // Who and which device come first: nothing else matters when they fail.
        if (!who.session_valid) {
            d.reasons.push_back({"signed_out", "You are signed out.", "Sign in again (tray menu: Sign in, or `ztnactl login`)."});
        } else if (who.user_disabled) {
            d.reasons.push_back({"user_disabled", "Your account is disabled for remote access.", "Contact your IT helpdesk."});
        } else if (who.device_revoked) {
            d.reasons.push_back({"device_revoked", "This device's enrollment was revoked by an administrator.",
                                 "Contact your IT helpdesk to enroll this device again."});
        }
        if (!d.reasons.empty()) {
            out.push_back(std::move(d));
            continue;
        }
        std::vector<const Rule*> for_groups;
        std::vector<std::string> wanted_groups;
        for (const auto& r : policy.rules) {
            if (!in(r.apps, app.name)) continue;
            for (const auto& g : r.groups)
                if (!in(wanted_groups, g)) wanted_groups.push_back(g);
            bool member = false;
            for (const auto& g : r.groups) member = member || in(who.groups, g);
            if (member) for_groups.push_back(&r);
        }
        if (for_groups.empty()) {
            d.reasons.push_back({"group_missing",
                                 wanted_groups.empty() ? "No rule gives anyone access to " + app.name + "."
                                                       : "You are not in a group that may use " + app.name + " (it needs one of: " +
                                                             join(wanted_groups) + ").",
                                 "Ask your administrator for access to " + app.name + "."});
            out.push_back(std::move(d));
            continue;
        }
        // Allowed by the first rule with nothing against it; otherwise the
        // reasons of the rule with the fewest (the closest to allowing).
        std::vector<Denial> best;
        bool have_best = false;
        for (const Rule* r : for_groups) {
            auto blocks = rule_blocks(*r, who, posture, now);
            if (blocks.empty()) {
                d.allowed = true;
                d.rule = r->name;
                break;
            }
            if (!have_best || blocks.size() < best.size()) {
                best = std::move(blocks);
                have_best = true;
            }
        }
        if (!d.allowed) d.reasons = std::move(best);
        out.push_back(std::move(d));
    }
    return out;
}

}  // namespace ztna::controller
