// screen_lock on Windows: the screen must lock by itself within
// req.max_screen_lock_delay_s: a password-protected screen saver
// (HKCU\Control Panel\Desktop, overridden by its Group Policy twin) or the
// machine inactivity limit (InactivityTimeoutSecs). See posture/PROBES.md.
#include <optional>

#include "probes.h"
#include "text.h"
#include "windows_parsers.h"

namespace ztna::posture::probes {

namespace {

constexpr const char* kId = "screen_lock";
constexpr const char* kKeys[] = {"ScreenSaveActive",       "ScreenSaverIsSecure",       "ScreenSaveTimeOut",
                                 "PolicyScreenSaveActive", "PolicyScreenSaverIsSecure", "PolicyScreenSaveTimeOut",
                                 "InactivityTimeoutSecs",  "ScreenSaverExe",            "PolicyScreenSaverExe"};

// A registry value: absent (null or missing), a number, or unreadable.
struct Reg {
    bool present = false;
    std::optional<std::int64_t> value;
};

Reg reg(const json::Value& o, std::string_view key) {
    const json::Value* v = windows::member(o, key);
    if (!v || v->is_null()) return {};
    if (v->is_string() && text::trim(v->as_string()).empty()) return {};
    return {true, windows::int_member(o, key)};
}

}  // namespace

CheckResult screen_lock_windows(const SystemView& view, const Requirements& req) {
    json::Object ev;
    const std::int64_t max = req.max_screen_lock_delay_s;
    ev["max_lock_delay_s"] = max;
    const auto q = windows::read_query(view, "ScreenLockPolicy");
    const json::Value* o = nullptr;
    std::string err;
    if (q.value) {
        const auto inst = windows::instances(*q.value);
        if (inst.size() == 1) {
            bool any = false;
            for (const char* k : kKeys) any = any || windows::member(*inst[0], k) != nullptr;
            if (any) o = inst[0];
        }
        if (!o) err = "ScreenLockPolicy holds none of the screen saver or inactivity values";
    } else {
        err = q.error;
    }
    const auto unreadable = [&](std::string why) {
        ev["screen_lock_policy_error"] = std::move(why);
        return CheckResult::unknown(kId, "When the screen locks by itself could not be read.",
                                    "Check Settings > Personalization > Lock screen > Screen saver (\"On resume, display "
                                    "logon screen\") and report this to your IT helpdesk with a diagnostic bundle.",
                                    std::move(ev));
    };
    if (!o) return unreadable(err);

    // The policy value wins over the user's own value.
    const auto pick = [&](const char* user, const char* policy) {
        const Reg p = reg(*o, policy);
        return p.present ? p : reg(*o, user);
    };
    const Reg active = pick("ScreenSaveActive", "PolicyScreenSaveActive");
    const Reg secure = pick("ScreenSaverIsSecure", "PolicyScreenSaverIsSecure");
    const Reg timeout = pick("ScreenSaveTimeOut", "PolicyScreenSaveTimeOut");
    const Reg inactivity = reg(*o, "InactivityTimeoutSecs");
    for (const auto& [r, name] : {std::pair{&active, "ScreenSaveActive"}, std::pair{&secure, "ScreenSaverIsSecure"},
                                  std::pair{&timeout, "ScreenSaveTimeOut"}, std::pair{&inactivity, "InactivityTimeoutSecs"}})
        if (r->present && (!r->value || *r->value < 0))
            return unreadable(std::string(name) + " is not a number of the expected kind");

    // SCRNSAVE.EXE: when collected, an empty one means no screen saver runs at
    // all, whatever ScreenSaveActive says (the Windows default: "1" and no saver).
    const auto exe_of = [&](const char* key) -> std::optional<std::string> {
        const json::Value* v = windows::member(*o, key);
        if (!v) return std::nullopt;
        return v->is_string() ? std::string(text::trim(v->as_string())) : std::string();
    };
    std::optional<std::string> exe = exe_of("PolicyScreenSaverExe");
    if (!exe || exe->empty()) exe = exe_of("ScreenSaverExe");
    const bool saver_set = !exe || !exe->empty();
    if (exe) ev["screen_saver"] = text::excerpt(*exe, 80);

    const bool saver_on = saver_set && active.present && *active.value != 0;
    const bool saver_secure = secure.present && *secure.value != 0;
    ev["screen_saver_active"] = saver_on;
    ev["screen_saver_secure"] = saver_secure;
    if (timeout.present) ev["screen_saver_timeout_s"] = *timeout.value;
    if (inactivity.present) ev["inactivity_timeout_s"] = *inactivity.value;

    std::optional<std::int64_t> delay;
    std::string how;
    if (saver_on && saver_secure && timeout.present && *timeout.value > 0) {
        delay = *timeout.value;
        how = "password-protected screen saver";
    }
    if (inactivity.present && *inactivity.value > 0 && (!delay || *inactivity.value < *delay)) {
        delay = *inactivity.value;
        how = "machine inactivity limit";
    }
    if (!delay) {
        std::string why = !saver_set ? "no screen saver is set" : !saver_on ? "the screen saver is off" : !saver_secure ? "the screen saver does not ask for the password"
                                                                                 : "the screen saver has no timeout";
        ev["reason"] = why;
        return CheckResult::fail(kId, "The screen does not lock by itself when the device is idle (" + why + ").",
                                 "Turn on a screen lock: Settings > Personalization > Lock screen > Screen saver, pick a "
                                 "wait of at most " + windows::duration_phrase(max) + " and tick \"On resume, display logon screen\".",
                                 std::move(ev));
    }
    ev["lock_delay_s"] = *delay;
    ev["lock_by"] = how;
    if (*delay <= max)
        return CheckResult::pass(kId, "The screen locks after " + windows::duration_phrase(*delay) + " of inactivity (" + how + ").",
                                 std::move(ev));
    return CheckResult::fail(kId, "The screen locks only after " + windows::duration_phrase(*delay) + " of inactivity; at most " +
                                      windows::duration_phrase(max) + " is allowed.",
                             "Shorten the wait: Settings > Personalization > Lock screen > Screen saver, set \"Wait\" to at most " +
                                 windows::duration_phrase(max) + " with \"On resume, display logon screen\" ticked.",
                             std::move(ev));
}

}  // namespace ztna::posture::probes
