// The macos part of the probe catalogue (see command_catalogue.h, posture/PROBES.md).
#include "command_catalogue.h"

namespace ztna::posture::catalogue {

namespace {
constexpr CommandSpec kCommands[] = {
    {"fdesetup-status", "/usr/bin/fdesetup status",
     "disk_encryption: whether FileVault is on, off, deferred to the next logout, or encrypting/decrypting (with the percentage)"},
    {"xprotect-history", "/usr/sbin/system_profiler SPInstallHistoryDataType -json",
     "antivirus: when the XProtect signatures (XProtectPlistConfigData) and XProtect Remediator (XProtectPayloads) were last updated"},
    {"mdatp-health", "/usr/local/bin/mdatp health",
     "antivirus: Microsoft Defender for Endpoint's health, real-time protection and definitions, when Defender is installed"},
    {"profiles-enrollment", "/usr/bin/profiles status -type enrollment",
     "managed_device: whether the Mac is enrolled in an MDM, via Automated Device Enrollment (DEP), and user approved"},
    {"socketfilterfw-state", "/usr/libexec/ApplicationFirewall/socketfilterfw --getglobalstate",
     "firewall: the Application Firewall's global state (0 off, 1 on, 2 blocking all incoming connections)"},
    {"socketfilterfw-stealth", "/usr/libexec/ApplicationFirewall/socketfilterfw --getstealthmode",
     "firewall (evidence only): whether stealth mode is on"},
    {"sw_vers", "/usr/bin/sw_vers", "os_version: the product name, version and build of macOS"},
    {"console-user", "/usr/bin/stat -f %Su /dev/console",
     "screen_lock: the user signed in at the console, whose screen saver settings are read"},
    {"screensaver-idle", "/usr/bin/sudo -n -u {arg} /usr/bin/defaults -currentHost read com.apple.screensaver idleTime",
     "screen_lock: after how many idle seconds the console user's screen saver starts (0 = never); {arg} is the console user"},
    {"pmset-settings", "/usr/bin/pmset -g",
     "screen_lock: the power settings in use, for displaysleep (minutes of idle time before the display sleeps; 0 = never)"},
    {"sysadminctl-screenlock", "/usr/sbin/sysadminctl -screenLock status",
     "screen_lock: whether a password is required after the screen saver starts or the display sleeps, and after what delay; "
     "sysadminctl prints this on stderr, which the macOS live view records as this command's output"},
};
constexpr QuerySpec kQueries[] = {
    {"processes", "libproc (proc_listallpids, proc_name, proc_pidpath): [{pid, name, exe}]",
     "antivirus: whether Microsoft Defender's daemon (wdavdaemon) runs, when `mdatp health` gave no answer"},
};
}  // namespace

std::span<const CommandSpec> macos_commands() { return kCommands; }
std::span<const QuerySpec> macos_queries() { return kQueries; }

}  // namespace ztna::posture::catalogue
