// The Linux probes against in-memory views: each state of each check, and
// bad input (missing, empty, truncated, garbled, enormous, UTF-16) that must
// come out unknown with a reason, never pass.
#include <doctest/doctest.h>

#include "command_catalogue.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "linux_common.h"
#include "memory_view.h"
#include "probes.h"

using namespace ztna;
using namespace ztna::posture;
using namespace ztna::posture::probes;

namespace {

constexpr std::int64_t kNow = 1764806400;  // 2025-12-04

MemoryView view() { return MemoryView(Platform::Linux, kNow); }

std::string utf16(std::string_view s) {
    std::string out = "\xFF\xFE";
    for (char c : s) {
        out += c;
        out += '\0';
    }
    return out;
}

std::string enormous() {
    std::string s;
    while (s.size() < (2u << 20)) s += "lorem ipsum dolor sit amet ";
    return s;
}

const std::string* ev_string(const CheckResult& r, const char* k) {
    const auto it = r.evidence.find(k);
    return it != r.evidence.end() && it->second.is_string() ? &it->second.as_string() : nullptr;
}

void check_unknown(const CheckResult& r) {
    CAPTURE(r.summary);
    CHECK(r.status == Status::Unknown);
    CHECK(!r.summary.empty());
    CHECK(!r.remediation.empty());
}

// ---- disk_encryption ------------------------------------------------------

const char* kMountsLvm =
    "proc /proc proc rw,nosuid,nodev,noexec,relatime 0 0\n"
    "/dev/mapper/ubuntu--vg-ubuntu--lv / ext4 rw,relatime 0 0\n"
    "/dev/nvme0n1p2 /boot ext4 rw,relatime 0 0\n";

const char* kLsblkLvm = R"({
   "blockdevices": [
      {"name": "/dev/nvme0n1", "kname": "/dev/nvme0n1", "type": "disk", "pkname": null,
         "children": [
            {"name": "/dev/nvme0n1p2", "kname": "/dev/nvme0n1p2", "type": "part", "pkname": "/dev/nvme0n1"},
            {"name": "/dev/nvme0n1p3", "kname": "/dev/nvme0n1p3", "type": "part", "pkname": "/dev/nvme0n1",
               "children": [
                  {"name": "/dev/mapper/dm_crypt-0", "kname": "/dev/dm-0", "type": "crypt", "pkname": "/dev/nvme0n1p3",
                     "children": [
                        {"name": "/dev/mapper/ubuntu--vg-ubuntu--lv", "kname": "/dev/dm-1", "type": "lvm", "pkname": "/dev/dm-0"}
                     ]}
               ]}
         ]}
   ]
})";

MemoryView lvm_on_luks() {
    auto v = view();
    v.files["/proc/mounts"] = kMountsLvm;
    v.files["/proc/swaps"] = "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n";
    v.files["/sys/class/block/dm-0/dm/uuid"] = "CRYPT-LUKS2-5d1f8e0a3c2b4e6f9a7d8c1b0e2f4a6d-dm_crypt-0\n";
    v.files["/sys/class/block/dm-1/dm/uuid"] = "LVM-Qm3kL9vXr2TfYp8WnB5cZa1dEe7gHh4j\n";
    v.commands["lsblk"] = kLsblkLvm;
    return v;
}

}  // namespace

TEST_CASE("linux helpers: mounts, swaps escapes, sessions of every loginctl format") {
    using namespace linux_detail;
    const auto m = parse_mounts("/dev/sda1 / ext4 rw 0 0\n/dev/sdb1 /mnt/my\\040disk ext4 rw 0 0\n/dev/sdc1 /home ext4 rw 0 0\nbad\n");
    REQUIRE(m.size() == 3);
    CHECK(m[1].mount_point == "/mnt/my disk");
    CHECK(mount_holding(m, "/home/alice/x")->device == "/dev/sdc1");
    CHECK(mount_holding(m, "/homework")->device == "/dev/sda1");
    CHECK(mount_holding(m, "/swap.img")->device == "/dev/sda1");
    CHECK(mount_at(m, "/")->fstype == "ext4");

    const auto old = parse_sessions("      2 1000 alice seat0 tty2\n     c1  119 gdm   seat0 tty1\n\n2 sessions listed.\n");
    REQUIRE(old.size() == 2);
    CHECK(old[0].id == "2");
    CHECK(old[1].user == "gdm");
    const auto v256 = parse_sessions("SESSION  UID USER SEAT  LEADER CLASS TTY  IDLE SINCE\n6 1004 sed  seat0 7943   user  tty8 no   -\n");
    REQUIRE(v256.size() == 1);
    CHECK(v256[0].user == "sed");
    CHECK(parse_sessions("no sessions here at all").empty());

    const auto si = parse_session_info("Name=alice\nRemote=no\nDesktop=GNOME\nType=wayland\nClass=user\nActive=yes\n");
    CHECK(si.complete);
    CHECK(si.type == "wayland");
    CHECK(si.active);
    CHECK(!si.remote);
    CHECK(!parse_session_info("Name=alice\n").complete);
}

TEST_CASE("linux disk_encryption: LVM on LUKS2 passes; the same as UTF-16 too") {
    auto v = lvm_on_luks();
    auto r = disk_encryption_linux(v, {});
    CAPTURE(r.summary);
    CHECK(r.status == Status::Pass);
    REQUIRE(ev_string(r, "root_encryption"));
    CHECK(*ev_string(r, "root_encryption") == "luks2");
    CHECK(r.summary.find("LUKS2") != std::string::npos);

    v.commands["lsblk"] = utf16(kLsblkLvm);
    CHECK(disk_encryption_linux(v, {}).status == Status::Pass);
}

TEST_CASE("linux disk_encryption: plain disk, verity, a half-encrypted LV and an unencrypted /home fail") {
    auto v = view();
    v.files["/proc/mounts"] = "/dev/vda / ext4 rw,relatime 0 0\n";
    v.commands["lsblk"] = R"({"blockdevices": [{"name": "/dev/vda", "kname": "/dev/vda", "type": "disk", "pkname": null}]})";
    auto r = disk_encryption_linux(v, {});
    CHECK(r.status == Status::Fail);
    CHECK(r.summary.find("/dev/vda") != std::string::npos);
    CHECK(!r.remediation.empty());

    // dm-verity is integrity, not encryption, although lsblk calls it "crypt".
    auto ver = view();
    ver.files["/proc/mounts"] = "/dev/mapper/root / erofs ro 0 0\n";
    ver.commands["lsblk"] = R"({"blockdevices": [{"name": "/dev/sda", "kname": "/dev/sda", "type": "disk", "children": [
        {"name": "/dev/sda3", "kname": "/dev/sda3", "type": "part", "children": [
          {"name": "/dev/mapper/root", "kname": "/dev/dm-0", "type": "crypt"}]}]}]})";
    ver.files["/sys/class/block/dm-0/dm/uuid"] = "CRYPT-VERITY-0123456789abcdef-root\n";
    CHECK(disk_encryption_linux(ver, {}).status == Status::Fail);

    // An LV over two PVs, one on LUKS and one plain: part of / is in clear.
    auto half = view();
    half.files["/proc/mounts"] = "/dev/mapper/vg-root / ext4 rw 0 0\n";
    half.commands["lsblk"] = R"({"blockdevices": [
        {"name": "/dev/sda", "kname": "/dev/sda", "type": "disk", "children": [
          {"name": "/dev/mapper/sda_crypt", "kname": "/dev/dm-0", "type": "crypt", "children": [
            {"name": "/dev/mapper/vg-root", "kname": "/dev/dm-2", "type": "lvm"}]}]},
        {"name": "/dev/sdb", "kname": "/dev/sdb", "type": "disk", "children": [
            {"name": "/dev/mapper/vg-root", "kname": "/dev/dm-2", "type": "lvm"}]}]})";
    half.files["/sys/class/block/dm-0/dm/uuid"] = "CRYPT-LUKS2-aa-sda_crypt\n";
    half.files["/sys/class/block/dm-2/dm/uuid"] = "LVM-abc\n";
    CHECK(disk_encryption_linux(half, {}).status == Status::Fail);

    auto home = lvm_on_luks();
    home.files["/proc/mounts"] = std::string(kMountsLvm) + "/dev/nvme0n1p2 /home ext4 rw 0 0\n";
    auto h = disk_encryption_linux(home, {});
    CHECK(h.status == Status::Fail);
    CHECK(h.summary.find("/home") != std::string::npos);
}

TEST_CASE("linux disk_encryption: home-only encryption is a failure said as such") {
    auto v = view();
    v.files["/proc/mounts"] = "/dev/vda1 / ext4 rw 0 0\n";
    v.commands["lsblk"] = R"({"blockdevices": [{"name": "/dev/vda", "kname": "/dev/vda", "type": "disk", "children": [
        {"name": "/dev/vda1", "kname": "/dev/vda1", "type": "part"}]}]})";
    v.commands["fscrypt-status"] =
        "filesystems supporting encryption: 1\nfilesystems with fscrypt metadata: 1\n\n"
        "MOUNTPOINT  DEVICE     FILESYSTEM  ENCRYPTION   FSCRYPT\n/           /dev/vda1  ext4        supported    Yes\n";
    auto r = disk_encryption_linux(v, {});
    CHECK(r.status == Status::Fail);
    REQUIRE(ev_string(r, "home_only_encryption"));
    CHECK(*ev_string(r, "home_only_encryption") == "fscrypt");
    CHECK(r.summary.find("Only home directories") != std::string::npos);
}

TEST_CASE("linux disk_encryption: ZFS encryption, key status and off") {
    auto v = view();
    v.files["/proc/mounts"] = "rpool/ROOT/ubuntu_x / zfs rw,relatime,xattr 0 0\n";
    v.commands["zfs-encryption"] = "rpool/ROOT/ubuntu_x\tencryption\taes-256-gcm\nrpool/ROOT/ubuntu_x\tkeystatus\tavailable\n"
                                   "rpool/ROOT/ubuntu_x\tencryptionroot\trpool\n";
    CHECK(disk_encryption_linux(v, {}).status == Status::Pass);
    v.commands["zfs-encryption"] = "rpool/ROOT/ubuntu_x\tencryption\taes-256-gcm\nrpool/ROOT/ubuntu_x\tkeystatus\tunavailable\n";
    check_unknown(disk_encryption_linux(v, {}));
    v.commands["zfs-encryption"] = "rpool/ROOT/ubuntu_x\tencryption\toff\nrpool/ROOT/ubuntu_x\tkeystatus\t-\n";
    CHECK(disk_encryption_linux(v, {}).status == Status::Fail);
    v.commands["zfs-encryption"] = "other/ds\tencryption\taes-256-gcm\n";
    check_unknown(disk_encryption_linux(v, {}));
    v.commands.erase("zfs-encryption");
    check_unknown(disk_encryption_linux(v, {}));
}

TEST_CASE("linux disk_encryption: untraceable or unreadable sources are unknown, never pass") {
    {
        auto v = lvm_on_luks();
        v.files.erase("/sys/class/block/dm-0/dm/uuid");  // a crypt layer that cannot be identified
        check_unknown(disk_encryption_linux(v, {}));
    }
    {
        auto v = lvm_on_luks();
        v.files["/sys/class/block/dm-0/dm/uuid"] = std::string(64, '\0');
        check_unknown(disk_encryption_linux(v, {}));
    }
    {
        auto v = lvm_on_luks();
        v.files["/proc/mounts"] = "overlay / overlay rw,lowerdir=/a,upperdir=/b 0 0\n";
        check_unknown(disk_encryption_linux(v, {}));
    }
    {
        auto v = lvm_on_luks();
        v.files["/proc/mounts"] = "/dev/root / ext4 rw 0 0\n";
        check_unknown(disk_encryption_linux(v, {}));
    }
    for (const std::string& bad : {std::string(), std::string(kLsblkLvm).substr(0, 200), std::string("\x01\x02\xff garbage"),
                                  enormous(), std::string("{}"), std::string("null")}) {
        auto v = lvm_on_luks();
        v.commands["lsblk"] = bad;
        check_unknown(disk_encryption_linux(v, {}));
    }
    {
        auto v = lvm_on_luks();
        v.commands.erase("lsblk");
        check_unknown(disk_encryption_linux(v, {}));
    }
    for (const std::string& bad : {std::string(), std::string("garbage without root"), enormous(), std::string(300, '\0')}) {
        auto v = lvm_on_luks();
        v.files["/proc/mounts"] = bad;
        check_unknown(disk_encryption_linux(v, {}));
    }
    auto v = lvm_on_luks();
    v.files.erase("/proc/mounts");
    check_unknown(disk_encryption_linux(v, {}));
}

TEST_CASE("linux disk_encryption: swap is noted, never decisive; zram is fine") {
    auto v = lvm_on_luks();
    v.commands["lsblk"] = R"({"blockdevices": [{"name": "/dev/zram0", "kname": "/dev/zram0", "type": "disk"},
      {"name": "/dev/nvme0n1", "kname": "/dev/nvme0n1", "type": "disk", "children": [
        {"name": "/dev/nvme0n1p4", "kname": "/dev/nvme0n1p4", "type": "part"},
        {"name": "/dev/nvme0n1p3", "kname": "/dev/nvme0n1p3", "type": "part", "children": [
          {"name": "/dev/mapper/dm_crypt-0", "kname": "/dev/dm-0", "type": "crypt", "children": [
            {"name": "/dev/mapper/ubuntu--vg-ubuntu--lv", "kname": "/dev/dm-1", "type": "lvm"}]}]}]}]})";
    v.files["/proc/swaps"] = "Filename\tType\tSize\tUsed\tPriority\n/dev/nvme0n1p4 partition 8000508 0 -2\n"
                             "/dev/zram0 partition 1999996 0 100\n/swap.img file 4194300 0 -3\n";
    auto r = disk_encryption_linux(v, {});
    CHECK(r.status == Status::Pass);
    const auto it = r.evidence.find("unencrypted_swap");
    REQUIRE(it != r.evidence.end());
    CHECK(json::dump(it->second) == R"(["/dev/nvme0n1p4"])");  // not zram, not the swap file on the LUKS root
}

// ---- antivirus ------------------------------------------------------------

namespace {
std::string procs(std::initializer_list<const char*> names) {
    std::string s = R"([{"pid": 1, "name": "systemd", "exe": "/usr/lib/systemd/systemd"})";
    int pid = 100;
    for (const char* n : names) s += R"(, {"pid": )" + std::to_string(pid++) + R"(, "name": ")" + n + "\"}";
    return s + "]";
}
std::string header(std::int64_t built) {
    std::string h = "ClamAV-VDB:03 Dec 2025 08-20 +0000:27470:2070391:90:X:X:raynman:" + std::to_string(built);
    h.resize(512, ' ');
    return h + std::string("\x1f\x8b\x08\x00", 4);
}
}  // namespace

TEST_CASE("linux antivirus: ClamAV running and fresh, stale, installed but stopped") {
    auto v = view();
    v.queries["processes"] = procs({"clamd", "freshclam"});
    v.files["/var/lib/clamav/daily.cld"] = header(kNow - 86400);
    auto r = antivirus_linux(v, {});
    CAPTURE(r.summary);
    CHECK(r.status == Status::Pass);

    v.files["/var/lib/clamav/daily.cld"] = header(kNow - 10 * 86400);
    r = antivirus_linux(v, {});
    CHECK(r.status == Status::Fail);
    CHECK(r.summary.find("10 days") != std::string::npos);
    CHECK(r.remediation.find("freshclam") != std::string::npos);
    Requirements lax;
    lax.max_signature_age_days = 14;
    CHECK(antivirus_linux(v, lax).status == Status::Pass);

    v.queries["processes"] = procs({"freshclam"});
    v.files["/var/lib/clamav/daily.cld"] = header(kNow - 86400);
    r = antivirus_linux(v, {});
    CHECK(r.status == Status::Fail);
    CHECK(r.summary.find("clamd") != std::string::npos);
    CHECK(r.remediation.find("clamav-daemon") != std::string::npos);

    // clamd running but its database header is garbage or truncated: cannot tell the age.
    v.queries["processes"] = procs({"clamd"});
    v.files["/var/lib/clamav/daily.cld"] = "ClamAV-VDB:03 Dec 2025";
    check_unknown(antivirus_linux(v, {}));
    v.files["/var/lib/clamav/daily.cld"] = std::string(512, '\0');
    check_unknown(antivirus_linux(v, {}));
}

TEST_CASE("linux antivirus: Defender health, real-time protection off, stale definitions, UTF-16") {
    const std::string healthy =
        "healthy                                     : true\n"
        "licensed                                    : true\n"
        "real_time_protection_enabled                : true\n"
        "definitions_updated_minutes_ago             : 167\n"
        "definitions_status                          : \"up_to_date\"\n";
    auto v = view();
    v.queries["processes"] = procs({"wdavdaemon"});
    v.commands["mdatp-health"] = healthy;
    CHECK(antivirus_linux(v, {}).status == Status::Pass);
    v.commands["mdatp-health"] = utf16(healthy);
    CHECK(antivirus_linux(v, {}).status == Status::Pass);

    v.commands["mdatp-health"] = "healthy : true\nreal_time_protection_enabled : false [managed]\ndefinitions_status : \"up_to_date\"\n";
    auto r = antivirus_linux(v, {});
    CHECK(r.status == Status::Fail);
    CHECK(r.summary.find("real-time") != std::string::npos);

    v.commands["mdatp-health"] = "healthy : false\nreal_time_protection_enabled : true\ndefinitions_status : \"unavailable\"\n";
    r = antivirus_linux(v, {});
    CHECK(r.status == Status::Fail);
    CHECK(r.remediation.find("definitions update") != std::string::npos);

    v.commands["mdatp-health"] = healthy.substr(0, 40);  // truncated: healthy true, the rest missing
    check_unknown(antivirus_linux(v, {}));
}

TEST_CASE("linux antivirus: CrowdStrike reduced functionality mode, SentinelOne state") {
    auto v = view();
    v.queries["processes"] = procs({"falcon-sensor"});
    v.commands["falconctl-rfm"] = "rfm-state=false.\n";
    CHECK(antivirus_linux(v, {}).status == Status::Pass);
    v.commands["falconctl-rfm"] = "rfm-state=true.\n";
    CHECK(antivirus_linux(v, {}).status == Status::Fail);
    v.commands.erase("falconctl-rfm");
    check_unknown(antivirus_linux(v, {}));

    auto s = view();
    s.queries["processes"] = procs({"s1-agent", "s1-orchestrator"});
    s.commands["sentinelctl-status"] = "Agent state                 Enabled\n";
    CHECK(antivirus_linux(s, {}).status == Status::Pass);
    s.commands["sentinelctl-status"] = "Agent state: Disabled\n";
    CHECK(antivirus_linux(s, {}).status == Status::Fail);
    s.commands["sentinelctl-status"] = "lorem ipsum\n";
    check_unknown(antivirus_linux(s, {}));
}

TEST_CASE("linux antivirus: nothing running fails; an unreadable process list is unknown") {
    auto v = view();
    v.queries["processes"] = procs({"sshd", "bash"});
    auto r = antivirus_linux(v, {});
    CHECK(r.status == Status::Fail);
    CHECK(r.summary == "No antivirus is running on this device.");
    for (const std::string& bad : {std::string("{}"), std::string("null"), std::string("[]"), std::string("[{\"pid\": "),
                                  std::string(), enormous()}) {
        v.queries["processes"] = bad;
        check_unknown(antivirus_linux(v, {}));
    }
    v.queries.erase("processes");
    check_unknown(antivirus_linux(v, {}));
}

// ---- firewall -------------------------------------------------------------

TEST_CASE("linux firewall: nftables drop policy, firewalld-style final reject, iptables, ufw, firewalld") {
    auto v = view();
    v.commands["nft-ruleset"] =
        R"({"nftables": [{"metainfo": {"version": "1.0.6", "release_name": "Lester Gooch #5", "json_schema_version": 1}},)"
        R"({"table": {"family": "inet", "name": "filter", "handle": 1}},)"
        R"({"chain": {"family": "inet", "table": "filter", "name": "input", "handle": 1, "type": "filter", "hook": "input", "prio": 0, "policy": "drop"}}]})";
    CHECK(firewall_linux(v, {}).status == Status::Pass);

    auto fw = view();
    fw.commands["nft-ruleset"] =
        R"({"nftables": [{"metainfo": {"json_schema_version": 1}},)"
        R"({"chain": {"family": "inet", "table": "firewalld", "name": "filter_INPUT", "handle": 3, "type": "filter", "hook": "input", "prio": 10, "policy": "accept"}},)"
        R"({"rule": {"family": "inet", "table": "firewalld", "chain": "filter_INPUT", "handle": 5, "expr": [{"match": {"op": "in", "left": {"ct": {"key": "state"}}, "right": ["established", "related"]}}, {"accept": null}]}},)"
        R"({"rule": {"family": "inet", "table": "firewalld", "chain": "filter_INPUT", "handle": 9, "expr": [{"reject": {"type": "icmpx", "expr": "admin-prohibited"}}]}}]})";
    CHECK(firewall_linux(fw, {}).status == Status::Pass);
    // The same chain whose last rule only rejects one port is not default-deny.
    fw.commands["nft-ruleset"] =
        R"({"nftables": [{"metainfo": {"json_schema_version": 1}},)"
        R"({"chain": {"family": "inet", "table": "t", "name": "in", "handle": 3, "type": "filter", "hook": "input", "prio": 10, "policy": "accept"}},)"
        R"({"rule": {"family": "inet", "table": "t", "chain": "in", "handle": 9, "expr": [{"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}}, "right": 23}}, {"drop": null}]}}]})";
    CHECK(firewall_linux(fw, {}).status == Status::Fail);

    auto ipt = view();
    ipt.commands["iptables-input"] = "-P INPUT DROP\n-A INPUT -i lo -j ACCEPT\n";
    CHECK(firewall_linux(ipt, {}).status == Status::Pass);
    ipt.commands["iptables-input"] = "-P INPUT ACCEPT\n-A INPUT -i lo -j ACCEPT\n-A INPUT -j REJECT --reject-with icmp-host-prohibited\n";
    CHECK(firewall_linux(ipt, {}).status == Status::Pass);
    ipt.commands["iptables-input"] = "-P INPUT ACCEPT\n";
    CHECK(firewall_linux(ipt, {}).status == Status::Fail);

    // ufw and firewalld decide only when the kernel's rules cannot be read.
    auto u = view();
    u.commands["ufw-status"] = utf16("Status: active\nLogging: on (low)\nDefault: deny (incoming), allow (outgoing), disabled (routed)\n");
    CHECK(firewall_linux(u, {}).status == Status::Pass);
    u.commands["ufw-status"] = "Status: active\nDefault: allow (incoming), allow (outgoing), disabled (routed)\n";
    check_unknown(firewall_linux(u, {}));
    u.commands["ufw-status"] = "Status: inactive\n";
    u.commands["firewalld-state"] = "not running\n";
    check_unknown(firewall_linux(u, {}));  // nothing proves that nothing else filters
    u.commands["firewalld-state"] = "running\n";
    CHECK(firewall_linux(u, {}).status == Status::Pass);
    // Readable kernel rules win over a front-end's claim.
    u.commands["iptables-input"] = "-P INPUT ACCEPT\n";
    CHECK(firewall_linux(u, {}).status == Status::Fail);
    u.commands["ufw-status"] = "Status: active\nDefault: deny (incoming), allow (outgoing), disabled (routed)\n";
    CHECK(firewall_linux(u, {}).status == Status::Fail);
}

TEST_CASE("linux firewall: nothing readable is unknown") {
    auto v = view();
    check_unknown(firewall_linux(v, {}));
    for (const std::string& bad : {std::string(), std::string("{\"nftables\": [{\"metainfo\""), std::string("{}"), std::string("null"),
                                  enormous(), std::string(100, '\0')}) {
        v.commands["nft-ruleset"] = bad;
        v.commands["iptables-input"] = bad;
        v.commands["ufw-status"] = bad;
        v.commands["firewalld-state"] = bad;
        check_unknown(firewall_linux(v, {}));
    }
    v.commands["iptables-input"] = "iptables v1.8.9 (nf_tables): Could not fetch rule set generation id: Permission denied (you must be root)\n";
    check_unknown(firewall_linux(v, {}));
}

// ---- os_version -----------------------------------------------------------

TEST_CASE("linux os_version: minimum met, not met, none, and unreadable") {
    auto v = view();
    v.files["/etc/os-release"] = "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nVERSION_ID=\"12\"\nID=debian\n";
    v.files["/proc/sys/kernel/osrelease"] = "6.1.0-27-amd64\n";
    auto r = os_version_linux(v, {});
    CHECK(r.status == Status::Pass);
    CHECK(r.summary.find("no minimum") != std::string::npos);
    REQUIRE(ev_string(r, "kernel"));
    Requirements req;
    req.min_os_version["debian"] = "12";
    CHECK(os_version_linux(v, req).status == Status::Pass);
    req.min_os_version["debian"] = "13";
    r = os_version_linux(v, req);
    CHECK(r.status == Status::Fail);
    CHECK(!r.remediation.empty());
    req.min_os_version["debian"] = "trixie";
    check_unknown(os_version_linux(v, req));

    auto arch = view();
    arch.files["/etc/os-release"] = "NAME=\"Arch Linux\"\nPRETTY_NAME=\"Arch Linux\"\nID=arch\nBUILD_ID=rolling\n";
    CHECK(os_version_linux(arch, {}).status == Status::Pass);
    Requirements areq;
    areq.min_os_version["arch"] = "1";
    check_unknown(os_version_linux(arch, areq));

    for (const std::string& bad : {std::string(), std::string("NAME=Debian\n"), std::string(256, '\0'), enormous(),
                                  std::string("ID=Debian GNU/Linux!\n")}) {
        auto b = view();
        b.files["/etc/os-release"] = bad;
        check_unknown(os_version_linux(b, {}));
    }
    check_unknown(os_version_linux(view(), {}));
}

// ---- screen_lock ----------------------------------------------------------

namespace {
MemoryView gnome(const char* lock, const char* idle, const char* delay) {
    auto v = view();
    v.commands["loginctl-sessions"] = "      2 1000 alice seat0 tty2\n     c1  119 gdm   seat0 tty1\n";
    v.commands["loginctl-session@2"] = "Name=alice\nRemote=no\nDesktop=GNOME\nType=wayland\nClass=user\nActive=yes\n";
    v.commands["loginctl-session@c1"] = "Name=gdm\nRemote=no\nDesktop=gdm\nType=wayland\nClass=greeter\nActive=no\n";
    if (lock) v.commands["gsettings-lock-enabled@alice"] = lock;
    if (idle) v.commands["gsettings-idle-delay@alice"] = idle;
    if (delay) v.commands["gsettings-lock-delay@alice"] = delay;
    return v;
}
MemoryView kde(std::optional<std::string> rc) {
    auto v = view();
    v.commands["loginctl-sessions"] = "2 1000 carol seat0 1391   user    tty2 no   -\n";
    v.commands["loginctl-session@2"] = "Name=carol\nRemote=no\nDesktop=KDE\nType=x11\nClass=user\nActive=yes\n";
    if (rc) v.files["/home/carol/.config/kscreenlockerrc"] = *rc;
    return v;
}
}  // namespace

TEST_CASE("linux screen_lock: GNOME on, never, too late, unreadable") {
    CHECK(screen_lock_linux(gnome("true\n", "uint32 300\n", "uint32 0\n"), {}).status == Status::Pass);
    CHECK(screen_lock_linux(gnome("true\n", "uint32 300\n", "uint32 30\n"), {}).status == Status::Pass);
    auto r = screen_lock_linux(gnome("false\n", "uint32 300\n", "uint32 0\n"), {});
    CHECK(r.status == Status::Fail);
    r = screen_lock_linux(gnome("true\n", "uint32 0\n", "uint32 0\n"), {});
    CHECK(r.status == Status::Fail);
    CHECK(r.summary.find("never") != std::string::npos);
    r = screen_lock_linux(gnome("true\n", "uint32 900\n", "uint32 300\n"), {});
    CHECK(r.status == Status::Fail);
    CHECK(r.summary.find("20 minutes") != std::string::npos);
    auto idle_off = gnome("true\n", "uint32 300\n", "uint32 0\n");
    idle_off.commands["gsettings-idle-activation@alice"] = "false\n";
    CHECK(screen_lock_linux(idle_off, {}).status == Status::Fail);

    check_unknown(screen_lock_linux(gnome(nullptr, "uint32 300\n", "uint32 0\n"), {}));
    check_unknown(screen_lock_linux(gnome("true\n", "No such schema \xe2\x80\x9corg.gnome.desktop.session\xe2\x80\x9d\n", "uint32 0\n"), {}));
    check_unknown(screen_lock_linux(gnome("true\n", "uint32 300\n", nullptr), {}));

    auto u16 = gnome(nullptr, nullptr, nullptr);
    u16.commands["gsettings-lock-enabled@alice"] = utf16("true\n");
    u16.commands["gsettings-idle-delay@alice"] = utf16("uint32 300\n");
    u16.commands["gsettings-lock-delay@alice"] = utf16("uint32 0\n");
    CHECK(screen_lock_linux(u16, {}).status == Status::Pass);
}

TEST_CASE("linux screen_lock: KDE defaults, timeout, autolock off, bad values") {
    // No readable kscreenlockerrc: Plasma's defaults probably apply, but that is not proof.
    auto r = screen_lock_linux(kde(std::nullopt), {});
    CAPTURE(r.summary);
    check_unknown(r);
    CHECK(r.summary.find("could not be read") != std::string::npos);
    r = screen_lock_linux(kde("[Daemon]\nTimeout=5\n"), {});  // defaults for Autolock and LockGrace
    CHECK(r.status == Status::Pass);
    CHECK(r.evidence.at("lock_after_s") == json::Value(std::int64_t(305)));
    CHECK(screen_lock_linux(kde("[Daemon]\nTimeout=30\n"), {}).status == Status::Fail);
    CHECK(screen_lock_linux(kde("[Daemon]\nAutolock=false\n"), {}).status == Status::Fail);
    CHECK(screen_lock_linux(kde("[Greeter]\nTimeout=99\n[Daemon]\nLockGrace=0\n"), {}).status == Status::Pass);
    check_unknown(screen_lock_linux(kde("[Daemon]\nTimeout=soon\n"), {}));
    check_unknown(screen_lock_linux(kde(std::string(200, '\0')), {}));
}

TEST_CASE("linux screen_lock: no desktop session, unreadable or unsupported is unknown") {
    auto v = view();
    check_unknown(screen_lock_linux(v, {}));  // loginctl missing (no systemd, as on this CI machine)
    for (const std::string& bad : {std::string(), std::string("garbled\x01\x02"), enormous(), std::string(64, '\0')}) {
        v.commands["loginctl-sessions"] = bad;
        check_unknown(screen_lock_linux(v, {}));
    }
    v.commands["loginctl-sessions"] = "      5    0 root  -     pts/0\n";
    v.commands["loginctl-session@5"] = "Name=root\nRemote=yes\nDesktop=\nType=tty\nClass=user\nActive=yes\n";
    auto r = screen_lock_linux(v, {});
    check_unknown(r);
    CHECK(r.summary.find("desktop session") != std::string::npos);
    v.commands["loginctl-session@5"] = "Name=ro";  // truncated
    check_unknown(screen_lock_linux(v, {}));

    auto x = view();
    x.commands["loginctl-sessions"] = "      2 1000 dave seat0 tty7\n";
    x.commands["loginctl-session@2"] = "Name=dave\nRemote=no\nDesktop=XFCE\nType=x11\nClass=user\nActive=yes\n";
    check_unknown(screen_lock_linux(x, {}));
    // A graphical session with no Desktop= (sway or i3 from greetd) is not GNOME,
    // even when gsettings answers its schema defaults.
    x.commands["loginctl-session@2"] = "Name=dave\nRemote=no\nDesktop=\nType=wayland\nClass=user\nActive=yes\n";
    x.commands["gsettings-lock-enabled@dave"] = "true\n";
    x.commands["gsettings-idle-delay@dave"] = "uint32 300\n";
    x.commands["gsettings-lock-delay@dave"] = "uint32 0\n";
    x.commands["gsettings-idle-activation@dave"] = "true\n";
    check_unknown(screen_lock_linux(x, {}));
}

TEST_CASE("linux antivirus: ClamAV databases on disk but no process list is unknown, not 'clamd not running'") {
    auto v = view();
    std::string header = "ClamAV-VDB:04 Dec 2026 06-00 -0500:27000:2000000:90:X:X:raynman:" + std::to_string(1764806400);
    header.resize(512, ' ');
    v.files["/var/lib/clamav/daily.cld"] = header;
    const auto r = antivirus_linux(v, {});
    CAPTURE(r.summary);
    check_unknown(r);
    CHECK(r.summary.find("process list") != std::string::npos);
}

TEST_CASE("linux managed_device: a certificate setting that points at a private key is refused, never excerpted") {
    // The views refuse any file holding a PEM private key (live and snapshot alike).
    CHECK(holds_private_key("-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMG\n-----END PRIVATE KEY-----\n"));
    CHECK(holds_private_key("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n-----BEGIN EC PRIVATE KEY-----\nx\n"));
    CHECK(!holds_private_key("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"));
    CHECK(!holds_private_key("PRIVATE KEY"));
}

// ---- managed_device -------------------------------------------------------

namespace {

struct Key {
    EVP_PKEY* k = EVP_EC_gen("P-256");
    ~Key() { EVP_PKEY_free(k); }
};

std::string make_cert(const char* cn, EVP_PKEY* subject_key, const char* issuer_cn, EVP_PKEY* issuer_key, std::int64_t not_before,
                      std::int64_t not_after, bool ca) {
    X509* x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 4242);
    ASN1_TIME_set(X509_getm_notBefore(x), time_t(not_before));
    ASN1_TIME_set(X509_getm_notAfter(x), time_t(not_after));
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn), -1, -1, 0);
    X509_NAME_add_entry_by_txt(X509_get_issuer_name(x), "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(issuer_cn), -1, -1, 0);
    X509_set_pubkey(x, subject_key);
    if (ca) {
        X509_EXTENSION* e = X509V3_EXT_conf_nid(nullptr, nullptr, NID_basic_constraints, "critical,CA:TRUE");
        X509_add_ext(x, e, -1);
        X509_EXTENSION_free(e);
    }
    X509_sign(x, issuer_key, EVP_sha256());
    BIO* b = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(b, x);
    char* data = nullptr;
    const long n = BIO_get_mem_data(b, &data);
    std::string pem(data, std::size_t(n));
    BIO_free(b);
    X509_free(x);
    return pem;
}

constexpr std::int64_t kYear = 365 * 86400;

Requirements cert_req() {
    Requirements r;
    r.organization_ca_path = "/etc/ztna/org-ca.pem";
    r.device_certificate_path = "/etc/ztna/device.pem";
    return r;
}

}  // namespace

TEST_CASE("linux managed_device: a device certificate from the organization's CA, another CA, expired, not yet valid") {
    Key ca, other, dev;
    const std::string ca_pem = make_cert("Example Corp Device CA", ca.k, "Example Corp Device CA", ca.k, kNow - kYear, kNow + 5 * kYear, true);
    const std::string other_pem = make_cert("Other CA", other.k, "Other CA", other.k, kNow - kYear, kNow + 5 * kYear, true);
    auto v = view();
    v.files["/etc/ztna/org-ca.pem"] = ca_pem;
    v.files["/etc/ztna/device.pem"] = make_cert("laptop-0042", dev.k, "Example Corp Device CA", ca.k, kNow - 86400, kNow + kYear, false);
    auto r = managed_device_linux(v, cert_req());
    CAPTURE(r.summary);
    CHECK(r.status == Status::Pass);
    REQUIRE(ev_string(r, "certificate_subject"));
    CHECK(ev_string(r, "certificate_subject")->find("laptop-0042") != std::string::npos);

    v.files["/etc/ztna/device.pem"] = make_cert("laptop-0042", dev.k, "Other CA", other.k, kNow - 86400, kNow + kYear, false);
    r = managed_device_linux(v, cert_req());
    CHECK(r.status == Status::Fail);
    CHECK(r.summary.find("not issued by the organization's CA") != std::string::npos);

    v.files["/etc/ztna/device.pem"] = make_cert("laptop-0042", dev.k, "Example Corp Device CA", ca.k, kNow - 2 * kYear, kNow - kYear, false);
    r = managed_device_linux(v, cert_req());
    CHECK(r.status == Status::Fail);
    CHECK(r.summary.find("expired") != std::string::npos);

    v.files["/etc/ztna/device.pem"] = make_cert("laptop-0042", dev.k, "Example Corp Device CA", ca.k, kNow + 86400, kNow + kYear, false);
    CHECK(managed_device_linux(v, cert_req()).status == Status::Fail);

    // A self-signed "device certificate" is not the organization's.
    v.files["/etc/ztna/device.pem"] = other_pem;
    CHECK(managed_device_linux(v, cert_req()).status == Status::Fail);

    // Through an intermediate CA shipped with the device certificate.
    Key mid;
    const std::string mid_pem = make_cert("Example Corp Issuing CA 1", mid.k, "Example Corp Device CA", ca.k, kNow - kYear, kNow + 3 * kYear, true);
    v.files["/etc/ztna/device.pem"] =
        make_cert("laptop-0042", dev.k, "Example Corp Issuing CA 1", mid.k, kNow - 86400, kNow + kYear, false) + mid_pem;
    CHECK(managed_device_linux(v, cert_req()).status == Status::Pass);
}

TEST_CASE("linux managed_device: unreadable certificates and no configuration are unknown") {
    Key ca;
    const std::string ca_pem = make_cert("Example Corp Device CA", ca.k, "Example Corp Device CA", ca.k, kNow - kYear, kNow + kYear, true);
    auto v = view();
    v.files["/etc/ztna/org-ca.pem"] = ca_pem;
    check_unknown(managed_device_linux(v, cert_req()));  // device certificate missing
    for (const std::string& bad : {std::string(), std::string("-----BEGIN CERTIFICATE-----\nMIIB"), std::string(300, '\0'), enormous()}) {
        v.files["/etc/ztna/device.pem"] = bad;
        check_unknown(managed_device_linux(v, cert_req()));
    }
    Requirements half;
    half.organization_ca_path = "/etc/ztna/org-ca.pem";
    check_unknown(managed_device_linux(v, half));

    auto r = managed_device_linux(view(), {});
    check_unknown(r);
    CHECK(r.remediation.find("managed settings") != std::string::npos);
}

TEST_CASE("linux managed_device: Microsoft Intune registration of the session's user") {
    auto v = view();
    v.commands["loginctl-sessions"] = "      2 1000 alice seat0 tty2\n";
    v.commands["loginctl-session@2"] = "Name=alice\nRemote=no\nDesktop=ubuntu\nType=wayland\nClass=user\nActive=yes\n";
    v.files["/home/alice/.config/intune/registration.toml"] =
        "account_hint = 'alice@example.com'\naad_device_hint = '0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0'\ndevice_hint = '12345678-1234-1234-1234-123456789abc'\n";
    auto r = managed_device_linux(v, {});
    CAPTURE(r.summary);
    CHECK(r.status == Status::Pass);
    CHECK(r.summary.find("Intune") != std::string::npos);
    v.files["/home/alice/.config/intune/registration.toml"] = "account_hint = 'alice@example.com'\n";
    CHECK(managed_device_linux(v, {}).status == Status::Fail);
    v.files["/home/alice/.config/intune/registration.toml"] = std::string(100, '\0');
    check_unknown(managed_device_linux(v, {}));
}
