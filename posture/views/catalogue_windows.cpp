// The windows part of the probe catalogue (see command_catalogue.h, posture/PROBES.md).
//
// Queries are what the live agent gets from PowerShell (Windows PowerShell 5.1
// or PowerShell 7) as JSON: the source says exactly what it runs. Values keep
// their WMI/registry names and types (integers for CIM enums and DWORDs,
// strings for REG_SZ). An absent registry value is null. The snapshot of a
// query is DIR/query/NAME.json, UTF-8 or UTF-16 with a BOM.
#include "command_catalogue.h"

namespace ztna::posture::catalogue {

namespace {
constexpr CommandSpec kCommands[] = {
    {"manage-bde-status", "manage-bde -status",
     "BitLocker state of every volume as the tool prints it (any display language; English and German are read): "
     "disk_encryption's second source when WMI gives no answer."},
    {"dsregcmd-status", "dsregcmd /status",
     "Microsoft Entra / domain join state and the tenant's MDM URL (managed_device)."},
    {"netsh-firewall", "netsh advfirewall show allprofiles state",
     "On/off state of the Domain, Private and Public firewall profiles (English): firewall's second source."},
};
constexpr QuerySpec kQueries[] = {
    {"Win32_EncryptableVolume",
     "Get-CimInstance -Namespace root/cimv2/Security/MicrosoftVolumeEncryption -ClassName Win32_EncryptableVolume | "
     "Select-Object DeviceID, DriveLetter, VolumeType, ProtectionStatus, ConversionStatus, EncryptionMethod, "
     "@{n='EncryptionPercentage';e={($_ | Invoke-CimMethod -MethodName GetConversionStatus).EncryptionPercentage}}, "
     "@{n='EncryptionFlags';e={($_ | Invoke-CimMethod -MethodName GetConversionStatus).EncryptionFlags}} | "
     "ConvertTo-Json (elevated)",
     "BitLocker conversion and protection status of the OS volume (disk_encryption's preferred source)."},
    {"AntiVirusProduct",
     "Get-CimInstance -Namespace root/SecurityCenter2 -ClassName AntiVirusProduct | "
     "Select-Object displayName, instanceGuid, pathToSignedProductExe, productState, timestamp | ConvertTo-Json",
     "Every antivirus product Windows Security Center knows, with its productState (on/off, signatures up to date)."},
    {"MpComputerStatus",
     "Get-MpComputerStatus | Select-Object AMRunningMode, AMServiceEnabled, AntivirusEnabled, "
     "RealTimeProtectionEnabled, AntivirusSignatureAge, AntivirusSignatureLastUpdated, AntivirusSignatureVersion, "
     "DefenderSignaturesOutOfDate, IsTamperProtected | ConvertTo-Json",
     "Microsoft Defender's own status: running mode (Normal / Passive Mode / EDR Block Mode), real-time "
     "protection and signature age in days."},
    {"MdmEnrollments",
     "ConvertTo-Json -InputObject @(Get-ChildItem HKLM:\\SOFTWARE\\Microsoft\\Enrollments | Get-ItemProperty | "
     "Where-Object ProviderID | Select-Object @{n='EnrollmentId';e={$_.PSChildName}}, ProviderID, EnrollmentState, "
     "EnrollmentType, UPN): an array of {EnrollmentId, ProviderID, EnrollmentState, EnrollmentType, UPN}, [] when none",
     "The device's MDM enrollments (registry HKLM\\SOFTWARE\\Microsoft\\Enrollments\\*): provider and state."},
    {"NetFirewallProfile",
     "Get-NetFirewallProfile | Select-Object Name, Enabled | ConvertTo-Json "
     "(Enabled: 1 True, 0 False, 2 NotConfigured, or true/false)",
     "Whether the Domain, Private and Public firewall profiles are on (firewall's preferred source)."},
    {"Win32_OperatingSystem",
     "Get-CimInstance -ClassName Win32_OperatingSystem | Select-Object Caption, Version, BuildNumber, "
     "OSArchitecture | ConvertTo-Json",
     "The Windows edition and version (10.0.BUILD) for os_version."},
    {"WindowsCurrentVersion",
     "Get-ItemProperty 'HKLM:\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion' | Select-Object CurrentBuild, UBR, "
     "DisplayVersion, ProductName | ConvertTo-Json",
     "The update build revision (UBR) that completes the version to 10.0.BUILD.UBR (optional for os_version)."},
    {"ScreenLockPolicy",
     "[pscustomobject]@{ScreenSaveActive, ScreenSaverIsSecure, ScreenSaveTimeOut, ScreenSaverExe (= SCRNSAVE.EXE) from "
     "'HKCU:\\Control Panel\\Desktop' (REG_SZ); PolicyScreenSaveActive, PolicyScreenSaverIsSecure, "
     "PolicyScreenSaveTimeOut, PolicyScreenSaverExe (= SCRNSAVE.EXE) from "
     "'HKCU:\\Software\\Policies\\Microsoft\\Windows\\Control Panel\\Desktop' (REG_SZ); InactivityTimeoutSecs from "
     "'HKLM:\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Policies\\System' (REG_DWORD)} | ConvertTo-Json, "
     "for the console user; an absent value is null",
     "When the screen locks by itself: the password-protected screen saver and the machine inactivity limit."},
};
}  // namespace

std::span<const CommandSpec> windows_commands() { return kCommands; }
std::span<const QuerySpec> windows_queries() { return kQueries; }

}  // namespace ztna::posture::catalogue
