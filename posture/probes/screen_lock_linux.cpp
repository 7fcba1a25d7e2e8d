// screen_lock on Linux: the console user (loginctl: the active, local x11 or
// wayland user session), then their desktop's settings: GNOME through
// gsettings, KDE Plasma through ~/.config/kscreenlockerrc.
#include "linux_common.h"
#include "probes.h"
#include "text.h"

namespace ztna::posture::probes {

namespace {

using namespace linux_detail;

const std::string kId = "screen_lock";

std::string minutes(long long s) {
    if (s % 60 == 0) return std::to_string(s / 60) + (s == 60 ? " minute" : " minutes");
    return std::to_string(s) + " seconds";
}

// gsettings prints "true", "false", "uint32 300", "300".
std::optional<bool> gs_bool(const std::string& s) {
    const auto t = text::trim(s);
    if (t == "true") return true;
    if (t == "false") return false;
    return std::nullopt;
}
std::optional<long long> gs_uint(const std::string& s) {
    auto t = text::trim(s);
    if (t.substr(0, 7) == "uint32 ") t = text::trim(t.substr(7));
    const auto v = text::to_int(t);
    if (!v || *v < 0) return std::nullopt;
    return v;
}

CheckResult decide(long long total, const std::string& desktop, const Requirements& req, json::Object ev) {
    ev["lock_after_s"] = json::Value(std::int64_t(total));
    ev["max_lock_delay_s"] = req.max_screen_lock_delay_s;
    if (total > req.max_screen_lock_delay_s) {
        return CheckResult::fail(kId,
                                 "The screen locks only after " + minutes(total) + " of inactivity, more than the " +
                                     minutes(req.max_screen_lock_delay_s) + " allowed.",
                                 "In " + desktop + " settings, make the screen blank and lock after at most " +
                                     minutes(req.max_screen_lock_delay_s) + " of inactivity.",
                                 std::move(ev));
    }
    return CheckResult::pass(kId, "The screen locks after " + minutes(total) + " of inactivity.", std::move(ev));
}

CheckResult gnome(const SystemView& view, const Requirements& req, const std::string& user, json::Object ev) {
    const Text lock = run(view, "gsettings-lock-enabled", user);
    const Text idle = run(view, "gsettings-idle-delay", user);
    const Text delay = run(view, "gsettings-lock-delay", user);
    const Text activation = run(view, "gsettings-idle-activation", user);
    const auto lock_v = lock.ok ? gs_bool(lock.text) : std::nullopt;
    const auto idle_v = idle.ok ? gs_uint(idle.text) : std::nullopt;
    const auto delay_v = delay.ok ? gs_uint(delay.text) : std::nullopt;
    const auto act_v = activation.ok ? gs_bool(activation.text) : std::nullopt;
    ev["desktop_settings"] = "gnome";
    const auto note = [&](const Text& t, const char* key, bool parsed) {
        if (!t.ok) ev[std::string(key) + "_error"] = t.error;
        else if (!parsed) ev[std::string(key) + "_excerpt"] = text::excerpt(t.text);
    };
    note(lock, "lock_enabled", lock_v.has_value());
    note(idle, "idle_delay", idle_v.has_value());
    note(delay, "lock_delay", delay_v.has_value());
    if (lock_v) ev["lock_enabled"] = *lock_v;
    if (idle_v) ev["idle_delay_s"] = json::Value(std::int64_t(*idle_v));
    if (delay_v) ev["lock_delay_s"] = json::Value(std::int64_t(*delay_v));
    if (act_v) ev["idle_activation_enabled"] = *act_v;

    if (lock_v && !*lock_v) {
        return CheckResult::fail(kId, "The screen of " + user + "'s GNOME session never locks: automatic screen lock is off.",
                                 "Open Settings > Privacy > Screen Lock (or Screen) and turn on Automatic Screen Lock, "
                                 "or run `gsettings set org.gnome.desktop.screensaver lock-enabled true`.",
                                 std::move(ev));
    }
    if (idle_v && *idle_v == 0) {
        return CheckResult::fail(kId, "The screen of " + user + "'s GNOME session never locks: the screen never blanks (blank screen delay is Never).",
                                 "Open Settings > Power and set Screen Blank to " + minutes(std::min(300, req.max_screen_lock_delay_s)) +
                                     " or less, or run `gsettings set org.gnome.desktop.session idle-delay 300`.",
                                 std::move(ev));
    }
    if (act_v && !*act_v) {
        return CheckResult::fail(kId, "The screen of " + user + "'s GNOME session never locks on its own: idle activation of the screen saver is off.",
                                 "Run `gsettings set org.gnome.desktop.screensaver idle-activation-enabled true` as " + user + ".",
                                 std::move(ev));
    }
    if (!lock_v || !idle_v || !delay_v) {
        return CheckResult::unknown(kId, "The GNOME screen lock settings of " + user + " could not be read.",
                                    "Make sure gsettings (libglib2.0-bin) is installed and the agent runs as root, then check again.",
                                    std::move(ev));
    }
    return decide(*idle_v + *delay_v, "GNOME", req, std::move(ev));
}

// kscreenlockerrc: [Daemon] Autolock (default true), Timeout in minutes (default 5), LockGrace in seconds (default 5).
CheckResult kde(const SystemView& view, const Requirements& req, const std::string& user, json::Object ev) {
    const std::string path = "/home/" + user + "/.config/kscreenlockerrc";
    ev["desktop_settings"] = "kde";
    ev["kscreenlockerrc"] = path;
    const Text t = read_file(view, path, 64 * 1024);
    bool autolock = true;
    long long timeout_min = 5, grace_s = 5;
    if (!t.ok) {
        // Plasma writes kscreenlockerrc only once its settings are changed, so a
        // missing file usually means its defaults (lock after 5 min). But the
        // views cannot tell "missing" from "unreadable" or "home elsewhere"
        // (sssd, /var/home), so it is not taken as proof: unknown.
        ev["kscreenlockerrc_error"] = t.error;
        return CheckResult::unknown(kId, "The KDE Plasma screen lock settings of " + user + " (" + path + ") could not be read, so it is not known when the screen locks.",
                                    "Open System Settings > Screen Locking, check that \"Lock screen automatically\" is on and press Apply "
                                    "(Plasma then saves its settings), then check again.",
                                    std::move(ev));
    }
    {
        if (text::looks_binary(t.text)) {
            ev["kscreenlockerrc_excerpt"] = text::excerpt(t.text);
            return CheckResult::unknown(kId, "The KDE screen locker settings of " + user + " could not be read.",
                                        "Check " + path + " (System Settings > Screen Locking rewrites it), then check again.",
                                        std::move(ev));
        }
        std::string section;
        bool bad = false;
        for (auto line : text::lines(t.text)) {
            line = text::trim(line);
            if (line.empty() || line[0] == '#' || line[0] == ';') continue;
            if (line[0] == '[') {
                section = std::string(line);
                continue;
            }
            if (section != "[Daemon]") continue;
            const auto eq = line.find('=');
            if (eq == std::string_view::npos) continue;
            auto key = text::trim(line.substr(0, eq));
            const auto value = text::trim(line.substr(eq + 1));
            if (const auto br = key.find('['); br != std::string_view::npos) key = text::trim(key.substr(0, br));  // Key[$i]
            if (key == "Autolock") {
                const std::string v = text::lower(value);
                if (v == "true") autolock = true;
                else if (v == "false") autolock = false;
                else bad = true;
            } else if (key == "Timeout") {
                const auto v = text::to_int(value);
                if (v && *v >= 0 && *v < 100000) timeout_min = *v;
                else bad = true;
            } else if (key == "LockGrace") {
                const auto v = text::to_int(value);
                if (v && *v >= 0 && *v < 10000000) grace_s = *v;
                else bad = true;
            }
        }
        if (bad) {
            ev["kscreenlockerrc_excerpt"] = text::excerpt(t.text);
            return CheckResult::unknown(kId, "The KDE screen locker settings of " + user + " hold values this agent cannot read.",
                                        "Open System Settings > Screen Locking, set the lock options again, then check again.",
                                        std::move(ev));
        }
    }
    ev["autolock"] = autolock;
    ev["timeout_min"] = json::Value(std::int64_t(timeout_min));
    ev["lock_grace_s"] = json::Value(std::int64_t(grace_s));
    if (!autolock || timeout_min == 0) {
        return CheckResult::fail(kId, "The screen of " + user + "'s KDE Plasma session never locks automatically.",
                                 "Open System Settings > Screen Locking and turn on \"Lock screen automatically\" after " +
                                     minutes(std::min(300, req.max_screen_lock_delay_s)) + " or less.",
                                 std::move(ev));
    }
    return decide(timeout_min * 60 + grace_s, "KDE Plasma (System Settings > Screen Locking)", req, std::move(ev));
}

}  // namespace

CheckResult screen_lock_linux(const SystemView& view, const Requirements& req) {
    json::Object ev;
    const ConsoleLookup who = console_user(view, ev);
    if (who.outcome == ConsoleLookup::Outcome::Unreadable) {
        return CheckResult::unknown(kId, "No desktop session could be found because " + who.reason + ".",
                                    "Sign in to a graphical desktop session on this device (loginctl must list it), then check again.",
                                    std::move(ev));
    }
    if (who.outcome == ConsoleLookup::Outcome::NoDesktop) {
        return CheckResult::unknown(kId, "No one is signed in to a desktop session on this device, so there is no screen lock to check.",
                                    "Sign in to your desktop session on this device, then check again.", std::move(ev));
    }
    const std::string& user = who.user.user;
    const std::string desktop = text::lower(who.user.desktop);
    ev["desktop"] = who.user.desktop;
    if (text::contains_icase(desktop, "kde") || text::contains_icase(desktop, "plasma"))
        return kde(view, req, user, std::move(ev));
    // An empty Desktop= is not taken as GNOME: a bare window manager (sway, i3
    // from greetd) has no GNOME locker, yet gsettings answers the schema defaults.
    const bool gnome_like = text::contains_icase(desktop, "gnome") || desktop == "ubuntu" ||
                            desktop == "pop" || desktop == "zorin" || text::contains_icase(desktop, "unity") ||
                            text::contains_icase(desktop, "budgie");
    if (gnome_like) return gnome(view, req, user, std::move(ev));
    return CheckResult::unknown(kId, "The screen lock of the \"" + text::excerpt(who.user.desktop, 40) +
                                         "\" desktop cannot be checked by this agent (it reads GNOME and KDE Plasma settings).",
                                "Ask your IT helpdesk which desktops are supported, or use GNOME or KDE Plasma.", std::move(ev));
}

}  // namespace ztna::posture::probes
