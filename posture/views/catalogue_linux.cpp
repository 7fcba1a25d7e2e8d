// The linux part of the probe catalogue (see command_catalogue.h, posture/PROBES.md).
// The live view runs these with LC_ALL=C, without a shell, for at most 3 s and 1 MiB.
#include "command_catalogue.h"

namespace ztna::posture::catalogue {

namespace {
constexpr CommandSpec kCommands[] = {
    // disk_encryption
    {"lsblk", "lsblk --json --paths --output NAME,KNAME,TYPE,PKNAME",
     "The block device tree (disk, partition, crypt, lvm, raid...), to trace a mounted filesystem down to its disks."},
    {"zfs-encryption", "zfs get -H -p -o name,property,value encryption,keystatus,encryptionroot",
     "ZFS native encryption and key status of every dataset, for a root filesystem on ZFS."},
    {"fscrypt-status", "fscrypt status",
     "The filesystems with fscrypt (per-directory encryption) set up, to report home-only encryption."},
    // antivirus
    {"mdatp-health", "mdatp health",
     "Microsoft Defender for Endpoint health: healthy, real-time protection, definitions status."},
    {"falconctl-rfm", "/opt/CrowdStrike/falconctl -g --rfm-state",
     "Whether the CrowdStrike Falcon sensor runs in reduced functionality mode."},
    {"sentinelctl-status", "/opt/sentinelone/bin/sentinelctl control status",
     "The SentinelOne agent state (Enabled or Disabled)."},
    // firewall
    {"nft-ruleset", "nft -j list ruleset", "The nftables rule set as JSON: input hooks, their policies and last rules."},
    {"iptables-input", "iptables -S INPUT", "The iptables INPUT chain: its policy and rules."},
    {"ufw-status", "ufw status verbose", "Whether the Uncomplicated Firewall is active."},
    {"firewalld-state", "firewall-cmd --state", "Whether firewalld is running."},
    // screen_lock (and the console user for managed_device)
    {"loginctl-sessions", "loginctl list-sessions --no-legend", "The login sessions: id, uid and user of each."},
    {"loginctl-session", "loginctl show-session {arg} -p Name -p Type -p Class -p Active -p Remote -p Desktop",
     "One login session (arg: session id): its user, type (x11, wayland, tty), class, whether active, remote, desktop."},
    {"gsettings-lock-enabled", "runuser -u {arg} -- gsettings get org.gnome.desktop.screensaver lock-enabled",
     "GNOME (arg: user name): whether the screen locks when the screen saver starts."},
    {"gsettings-idle-delay", "runuser -u {arg} -- gsettings get org.gnome.desktop.session idle-delay",
     "GNOME (arg: user name): seconds of inactivity before the session is idle (0: never)."},
    {"gsettings-lock-delay", "runuser -u {arg} -- gsettings get org.gnome.desktop.screensaver lock-delay",
     "GNOME (arg: user name): seconds between the screen blanking and the lock."},
    {"gsettings-idle-activation",
     "runuser -u {arg} -- gsettings get org.gnome.desktop.screensaver idle-activation-enabled",
     "GNOME (arg: user name): whether the screen saver (and so the lock) starts when the session is idle."},
};
constexpr QuerySpec kQueries[] = {
    {"processes", "/proc/*/comm and /proc/*/exe",
     "The running processes as [{pid, name (comm), exe (when readable)}], to find antivirus daemons."},
};
}  // namespace

std::span<const CommandSpec> linux_commands() { return kCommands; }
std::span<const QuerySpec> linux_queries() { return kQueries; }

}  // namespace ztna::posture::catalogue
