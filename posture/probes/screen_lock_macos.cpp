// screen_lock on macOS. The screen locks when a password is required after the
// screen saver starts or the display sleeps (sysadminctl -screenLock status),
// that many seconds after whichever comes first: the console user's screen
// saver (defaults -currentHost read com.apple.screensaver idleTime) or display
// sleep (pmset -g displaysleep).
#include <algorithm>

#include "command_catalogue.h"
#include "macos_parsers.h"
#include "probes.h"
#include "text.h"

namespace ztna::posture::probes {

namespace {

std::string duration(int s) {
    if (s == 0) return "immediately";
    if (s % 60 == 0) return std::to_string(s / 60) + (s == 60 ? " minute" : " minutes");
    return std::to_string(s) + " seconds";
}

}  // namespace

CheckResult screen_lock_macos(const SystemView& view, const Requirements& req) {
    const std::string id = "screen_lock";
    const int max = req.max_screen_lock_delay_s;
    json::Object ev{{"max_screen_lock_delay_s", max}};
    const std::string settings =
        "System Settings > Lock Screen: set \"Require password after screen saver begins or display is turned off\" to "
        "Immediately, and \"Start Screen Saver when inactive\" or \"Turn display off when inactive\" to " +
        duration(std::min(max, 600)) + " or less";

    // 1. Is a password required at all, and after what delay?
    const macos::Output lock = macos::read_command(view, "sysadminctl-screenlock");
    std::optional<int> delay;
    if (!lock.text) {
        ev["sysadminctl_error"] = json::to_valid_utf8(lock.error);
    } else if (delay = macos::parse_sysadminctl_screenlock(*lock.text); !delay) {
        ev["sysadminctl_error"] = "unrecognized output";
        ev["sysadminctl_excerpt"] = text::excerpt(*lock.text);
    }
    if (!delay) {
        return CheckResult::unknown(id, "It could not be read whether this Mac asks for a password after the screen saver or display sleep.",
                                    "Run `sysadminctl -screenLock status` in Terminal; if it fails, send a diagnostic bundle "
                                    "to your IT helpdesk.",
                                    ev);
    }
    if (*delay < 0) {
        ev["screen_lock_enabled"] = false;
        return CheckResult::fail(id, "This Mac does not ask for a password when the screen saver starts or the display sleeps, so an unattended Mac stays open.",
                                 settings + ".", ev);
    }
    ev["screen_lock_enabled"] = true;
    ev["lock_delay_s"] = *delay;

    // 2. When does the screen saver start or the display sleep?
    std::optional<int> saver;       // seconds, 0 = never
    std::optional<int> display;     // seconds, 0 = never
    const macos::Output user = macos::read_command(view, "console-user");
    std::string who;
    if (user.text) who = std::string(text::trim(*user.text));
    if (!user.text) {
        ev["console_user_error"] = json::to_valid_utf8(user.error);
    } else if (who == "root" || !valid_token(who)) {
        ev["console_user_error"] = who == "root" ? "nobody is signed in at the console"
                                                 : "not a user name: " + text::excerpt(who, 40);
    } else {
        ev["console_user"] = who;
        const macos::Output idle = macos::read_command(view, "screensaver-idle", who);
        if (!idle.text) ev["screensaver_error"] = json::to_valid_utf8(idle.error);
        else if (saver = macos::parse_defaults_int(*idle.text); !saver) {
            ev["screensaver_error"] = "unrecognized output";
            ev["screensaver_excerpt"] = text::excerpt(*idle.text);
        }
    }
    const macos::Output pm = macos::read_command(view, "pmset-settings");
    if (!pm.text) {
        ev["pmset_error"] = json::to_valid_utf8(pm.error);
    } else if (const auto minutes = macos::parse_pmset_displaysleep(*pm.text)) {
        display = *minutes * 60;
    } else {
        ev["pmset_error"] = "no displaysleep setting in the output";
        ev["pmset_excerpt"] = text::excerpt(*pm.text);
    }
    if (saver) ev["screensaver_idle_s"] = *saver;
    if (display) ev["display_sleep_s"] = *display;

    std::optional<int> starts;  // the earliest of the known, enabled idle actions
    for (const auto& v : {saver, display})
        if (v && *v > 0) starts = starts ? std::min(*starts, *v) : *v;
    const bool all_known = saver && display;
    const std::string unknown_fix =
        "Run `defaults -currentHost read com.apple.screensaver idleTime` and `pmset -g` in Terminal; if they fail, send a "
        "diagnostic bundle to your IT helpdesk.";

    if (!starts) {
        if (all_known) {
            return CheckResult::fail(id, "Neither the screen saver nor display sleep ever starts on this Mac, so its screen never locks by itself.",
                                     settings + ".", ev);
        }
        return CheckResult::unknown(id, "It could not be read after how much idle time this Mac's screen saver starts or its display sleeps.",
                                    unknown_fix, ev);
    }
    const int after = *starts + *delay;
    ev["lock_after_s"] = after;
    if (after <= max) {
        // The sources not read could only make it lock earlier, never later.
        return CheckResult::pass(id, "This Mac locks its screen after " + duration(after) + " of inactivity, within the " +
                                         duration(max) + " allowed.",
                                 ev);
    }
    if (!all_known) {
        return CheckResult::unknown(id, "This Mac locks its screen after " + duration(after) +
                                            " of inactivity at most, but not every setting could be read, so it is not known "
                                            "whether it locks within the " + duration(max) + " allowed.",
                                    unknown_fix, ev);
    }
    return CheckResult::fail(id, "This Mac locks its screen only after " + duration(after) + " of inactivity, longer than the " +
                                     duration(max) + " allowed.",
                             settings + ".", ev);
}

}  // namespace ztna::posture::probes
