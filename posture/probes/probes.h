// Every probe: a pure function of a SystemView and the requirements, one file
// per check and platform (disk_encryption_linux.cpp, ...). Windows and macOS
// probes parse their tools' output and are built and tested on every platform.
#pragma once

#include "check_result.h"
#include "requirements.h"
#include "system_view.h"

namespace ztna::posture::probes {

using Probe = CheckResult (*)(const SystemView&, const Requirements&);

#define ZTNA_POSTURE_PROBES(os)                                           \
    CheckResult disk_encryption_##os(const SystemView&, const Requirements&); \
    CheckResult antivirus_##os(const SystemView&, const Requirements&);       \
    CheckResult managed_device_##os(const SystemView&, const Requirements&);  \
    CheckResult firewall_##os(const SystemView&, const Requirements&);        \
    CheckResult os_version_##os(const SystemView&, const Requirements&);      \
    CheckResult screen_lock_##os(const SystemView&, const Requirements&);

ZTNA_POSTURE_PROBES(linux)
ZTNA_POSTURE_PROBES(windows)
ZTNA_POSTURE_PROBES(macos)
#undef ZTNA_POSTURE_PROBES

}  // namespace ztna::posture::probes
