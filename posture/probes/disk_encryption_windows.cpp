// disk_encryption on Windows: BitLocker on the OS volume. WMI
// (Win32_EncryptableVolume) decides when it can; manage-bde -status, in
// English or German, otherwise. See posture/PROBES.md.
#include <optional>

#include "probes.h"
#include "text.h"
#include "windows_parsers.h"

namespace ztna::posture::probes {

namespace {

using windows::Conversion;
using windows::Protection;

constexpr const char* kId = "disk_encryption";
constexpr const char* kTurnOn =
    "Turn on BitLocker: Control Panel > BitLocker Drive Encryption > Turn on BitLocker (or Settings > Privacy & "
    "security > Device encryption), or run `manage-bde -on C:` as administrator.";

// What one source says about the OS volume.
struct VolumeState {
    std::string source;  // "wmi" or "manage-bde"
    std::string drive;   // "C:"
    Conversion conversion = Conversion::FullyDecrypted;
    Protection protection = Protection::Unknown;
    std::optional<std::string> percent;  // "42.5"
    std::string method;
};

std::string_view wmi_method_name(std::int64_t m) {
    switch (m) {
        case 0: return "None";
        case 1: return "AES 128 with Diffuser";
        case 2: return "AES 256 with Diffuser";
        case 3: return "AES 128";
        case 4: return "AES 256";
        case 5: return "Hardware Encryption";
        case 6: return "XTS-AES 128";
        case 7: return "XTS-AES 256";
        default: return "";
    }
}

// WMI: the instance with VolumeType 0 (OS volume), else the one on C:.
// Nothing when no instance carries a readable state: the caller falls back.
std::optional<VolumeState> from_wmi(const json::Value& v, std::string& why) {
    const json::Value* os = nullptr;
    const json::Value* c_drive = nullptr;
    for (const json::Value* inst : windows::instances(v)) {
        if (windows::int_member(*inst, "VolumeType") == 0 && !os) os = inst;
        const auto letter = windows::string_member(*inst, "DriveLetter");
        if (letter && text::lower(*letter) == "c:" && !c_drive) c_drive = inst;
    }
    const json::Value* inst = os ? os : c_drive;
    if (!inst) {
        why = "no OS volume (VolumeType 0) or C: volume among the Win32_EncryptableVolume instances";
        return std::nullopt;
    }
    const auto cs = windows::int_member(*inst, "ConversionStatus");
    const auto ps = windows::int_member(*inst, "ProtectionStatus");
    if (!cs || *cs < 0 || *cs > 5) {
        why = "Win32_EncryptableVolume has no readable ConversionStatus for the OS volume";
        return std::nullopt;
    }
    if (!ps || *ps < 0 || *ps > 2) {
        why = "Win32_EncryptableVolume has no readable ProtectionStatus for the OS volume";
        return std::nullopt;
    }
    VolumeState s;
    s.source = "wmi";
    s.drive = windows::string_member(*inst, "DriveLetter").value_or("C:");
    if (s.drive.empty() || s.drive.size() > 8) s.drive = "C:";
    s.conversion = Conversion(*cs);
    s.protection = *ps == 0 ? Protection::Off : *ps == 1 ? Protection::On : Protection::Unknown;
    if (s.conversion == Conversion::FullyEncrypted) {
        if (const auto flags = windows::int_member(*inst, "EncryptionFlags"); flags && (*flags & 1))
            s.conversion = Conversion::UsedSpaceOnlyEncrypted;
    }
    if (const auto pct = windows::int_member(*inst, "EncryptionPercentage"); pct && *pct >= 0 && *pct <= 100)
        s.percent = std::to_string(*pct);
    if (const auto m = windows::int_member(*inst, "EncryptionMethod")) s.method = std::string(wmi_method_name(*m));
    if (s.protection == Protection::Unknown) {
        why = "Win32_EncryptableVolume reports ProtectionStatus 2 (unknown, volume locked) for the OS volume";
        return std::nullopt;
    }
    return s;
}

// manage-bde: the "[OS Volume]" block, else "Volume C:".
std::optional<VolumeState> from_manage_bde(const std::string& text, std::string& why, json::Object& ev) {
    const auto status = windows::parse_manage_bde_status(text);
    const windows::BdeVolume* vol = nullptr;
    for (const auto& v : status.volumes)
        if (v.os_volume) {
            vol = &v;
            break;
        }
    if (!vol)
        for (const auto& v : status.volumes)
            if (v.letter == "C:") {
                vol = &v;
                break;
            }
    if (!vol) {
        if (!status.error.empty()) {
            why = "manage-bde could not report the volumes: " + status.error;
            ev["manage_bde_message"] = status.error;
        } else {
            why = "manage-bde output lists no OS volume: \"" + text::excerpt(text, 80) + "\"";
        }
        return std::nullopt;
    }
    if (!vol->known_language) {
        why = "manage-bde printed the OS volume in a language this check cannot read (English and German are read)";
        return std::nullopt;
    }
    if (!vol->conversion || !vol->protection) {
        why = "manage-bde's conversion or protection status of the OS volume is missing or not recognised";
        if (!vol->conversion_text.empty()) ev["manage_bde_conversion_text"] = vol->conversion_text;
        if (!vol->protection_text.empty()) ev["manage_bde_protection_text"] = vol->protection_text;
        return std::nullopt;
    }
    if (*vol->protection == Protection::Unknown) {
        why = "manage-bde reports the OS volume's protection status as unknown (volume locked)";
        return std::nullopt;
    }
    VolumeState s;
    s.source = "manage-bde";
    s.drive = vol->letter.empty() ? std::string("C:") : vol->letter;
    s.conversion = *vol->conversion;
    s.protection = *vol->protection;
    s.percent = vol->percent;
    s.method = vol->method;
    return s;
}

CheckResult decide(const VolumeState& s, json::Object ev) {
    ev["source"] = s.source;
    ev["volume"] = s.drive;
    ev["conversion_status"] = std::string(windows::conversion_name(s.conversion));
    ev["protection_status"] = std::string(windows::protection_name(s.protection));
    if (s.percent) ev["percent_encrypted"] = *s.percent + "%";
    if (!s.method.empty()) ev["encryption_method"] = s.method;
    const std::string& d = s.drive;
    const std::string pct = s.percent ? " (" + *s.percent + "% encrypted)" : std::string();
    switch (s.conversion) {
        case Conversion::FullyEncrypted:
        case Conversion::UsedSpaceOnlyEncrypted: {
            const bool used_only = s.conversion == Conversion::UsedSpaceOnlyEncrypted;
            if (used_only) ev["note"] = "only the used space was encrypted; free space written later is encrypted as it is used";
            if (s.protection == Protection::On)
                return CheckResult::pass(kId, "BitLocker protects the system drive " + d +
                                                  (used_only ? " (used space only encrypted)." : " (fully encrypted)."),
                                         std::move(ev));
            return CheckResult::fail(kId, "BitLocker is suspended on " + d + ", so the disk can be read without the key.",
                                     "Resume BitLocker: Control Panel > BitLocker Drive Encryption > Resume protection, or "
                                     "run `manage-bde -protectors -enable " + d + "` as administrator.",
                                     std::move(ev));
        }
        case Conversion::FullyDecrypted:
            return CheckResult::fail(kId, "BitLocker is off on the system drive " + d + ", so anyone holding the disk can read it.",
                                     kTurnOn, std::move(ev));
        case Conversion::EncryptionInProgress:
            return CheckResult::fail(kId, "BitLocker is still encrypting " + d + pct +
                                              "; this check will pass when encryption is complete.",
                                     "Keep the device on and plugged in until encryption finishes (it runs in the "
                                     "background); `manage-bde -status " + d + "` shows the progress.",
                                     std::move(ev));
        case Conversion::EncryptionPaused:
            return CheckResult::fail(kId, "BitLocker encryption of " + d + " is paused" + pct + ", so part of the disk is not encrypted.",
                                     "Resume encryption: run `manage-bde -resume " + d + "` as administrator, and keep the "
                                     "device on until it finishes.",
                                     std::move(ev));
        case Conversion::DecryptionInProgress:
        case Conversion::DecryptionPaused:
            return CheckResult::fail(kId, "BitLocker is being turned off on " + d + pct + ", so the disk will not be protected.",
                                     "Ask your IT helpdesk why BitLocker is being removed; turn it back on with `manage-bde "
                                     "-on " + d + "` (or Control Panel > BitLocker Drive Encryption) once allowed.",
                                     std::move(ev));
    }
    return CheckResult::unknown(kId, "The BitLocker state of " + d + " is not one this check knows.",
                                "Report this to your IT helpdesk with a diagnostic bundle.", std::move(ev));
}

}  // namespace

CheckResult disk_encryption_windows(const SystemView& view, const Requirements&) {
    json::Object ev;
    std::string wmi_why, bde_why;
    const auto wmi = windows::read_query(view, "Win32_EncryptableVolume");
    if (wmi.value) {
        if (auto s = from_wmi(*wmi.value, wmi_why)) return decide(*s, std::move(ev));
    } else {
        wmi_why = wmi.error;
    }
    ev["wmi_error"] = wmi_why;

    const auto bde = windows::read_command(view, "manage-bde-status");
    if (bde.text) {
        if (auto s = from_manage_bde(*bde.text, bde_why, ev)) return decide(*s, std::move(ev));
    } else {
        bde_why = bde.error;
    }
    ev["manage_bde_error"] = bde_why;
    return CheckResult::unknown(kId, "The BitLocker state of the system drive could not be read.",
                                "Make sure the agent runs with administrator rights (BitLocker status needs them); if it "
                                "does, check `manage-bde -status C:` in an elevated prompt and report the output to your "
                                "IT helpdesk.",
                                std::move(ev));
}

}  // namespace ztna::posture::probes
