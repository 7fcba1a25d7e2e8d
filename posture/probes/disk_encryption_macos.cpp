// disk_encryption on macOS: FileVault, from `fdesetup status`.
#include "macos_parsers.h"
#include "probes.h"
#include "text.h"

namespace ztna::posture::probes {

CheckResult disk_encryption_macos(const SystemView& view, const Requirements&) {
    const std::string id = "disk_encryption";
    const macos::Output out = macos::read_command(view, "fdesetup-status");
    if (!out.text) {
        return CheckResult::unknown(id, "FileVault's status could not be read, so it is not known whether the disk is encrypted.",
                                    "Run `fdesetup status` in Terminal to see FileVault's state; if it fails, send a diagnostic "
                                    "bundle to your IT helpdesk.",
                                    {{"fdesetup_error", json::to_valid_utf8(out.error)}});
    }
    const auto st = macos::parse_fdesetup_status(*out.text);
    if (!st) {
        return CheckResult::unknown(id, "The output of `fdesetup status` was not understood, so it is not known whether the disk is encrypted.",
                                    "Run `fdesetup status` in Terminal to see FileVault's state; if it fails, send a diagnostic "
                                    "bundle to your IT helpdesk.",
                                    {{"fdesetup_error", "unrecognized output"}, {"fdesetup_excerpt", text::excerpt(*out.text)}});
    }
    json::Object ev{{"filevault_state", std::string(macos::filevault_state_name(st->state))}};
    if (st->percent) ev["percent_completed"] = *st->percent;
    const std::string pct = st->percent ? " (" + std::to_string(*st->percent) + "% done)" : "";
    using S = macos::FileVaultState;
    switch (st->state) {
        case S::On:
            return CheckResult::pass(id, "FileVault is on, so the disk cannot be read without your password.", ev);
        case S::Off:
            return CheckResult::fail(id, "FileVault is off, so anyone who has this Mac can read its disk.",
                                     "Turn on FileVault: System Settings > Privacy & Security > FileVault > Turn On, or run "
                                     "`sudo fdesetup enable`. Keep the recovery key your IT department asks you to keep.",
                                     ev);
        case S::Deferred:
            ev["deferred_enablement"] = true;
            return CheckResult::fail(id, "FileVault is set to turn on at your next logout, so the disk stays readable until then.",
                                     "Log out (Apple menu > Log Out) and enter your password when FileVault asks, so that it "
                                     "turns on; encryption then continues in the background.",
                                     ev);
        case S::Encrypting:
            return CheckResult::fail(id, "FileVault is still encrypting the disk" + pct + "; this check passes once encryption is complete.",
                                     "Keep the Mac awake and plugged into power until encryption finishes; progress is shown in "
                                     "System Settings > Privacy & Security > FileVault.",
                                     ev);
        case S::EncryptionPaused:
            return CheckResult::fail(id, "FileVault encryption is paused" + pct + ", so part of the disk is still readable without your password.",
                                     "Plug the Mac into power and keep it awake so that encryption resumes; progress is shown in "
                                     "System Settings > Privacy & Security > FileVault.",
                                     ev);
        case S::Decrypting:
        case S::DecryptionPaused:
            return CheckResult::fail(id, "FileVault is being turned off (decrypting" + pct + "), so the disk will be readable without your password.",
                                     "Turn FileVault back on: System Settings > Privacy & Security > FileVault > Turn On, or "
                                     "ask your IT helpdesk why it is being turned off.",
                                     ev);
    }
    return CheckResult::unknown(id, "FileVault's state was not recognized.", "Send a diagnostic bundle to your IT helpdesk.", ev);
}

}  // namespace ztna::posture::probes
