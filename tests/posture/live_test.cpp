// This machine, read live: the structure every result must have, and the facts
// that must hold on the machines these tests run on (Debian 12 VMs and
// containers, root on a plain virtual disk, no desktop session). Where a fact
// depends on the machine, the test derives the expectation from the machine
// itself, reading the sources directly rather than through the probes.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "command_catalogue.h"
#include "engine.h"
#include "live_view.h"
#include "recording_view.h"
#include "snapshot_view.h"
#include "text.h"

namespace fs = std::filesystem;
using namespace ztna;
using namespace ztna::posture;

namespace {

std::string slurp(const char* path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

const CheckResult& find(const std::vector<CheckResult>& rs, std::string_view id) {
    for (const auto& r : rs)
        if (r.id == id) return r;
    FAIL("no result for " << id);
    return rs.front();
}

// The "/" line of /proc/mounts: device and fstype.
std::pair<std::string, std::string> root_mount() {
    std::istringstream in(slurp("/proc/mounts"));
    std::string dev, mnt, type, rest, found_dev, found_type;
    while (in >> dev >> mnt >> type && std::getline(in, rest))
        if (mnt == "/") found_dev = dev, found_type = type;  // the last one is the one in effect
    return {found_dev, found_type};
}

bool desktop_running() {
    for (const auto& e : fs::directory_iterator("/proc")) {
        std::ifstream comm(e.path() / "comm");
        std::string name;
        if (comm >> name && (name == "gnome-session-b" || name == "gnome-shell" || name == "plasmashell" ||
                             name == "Xorg" || name == "Xwayland" || name == "kwin_wayland"))
            return true;
    }
    return false;
}

}  // namespace

TEST_CASE("live: six results that explain themselves") {
    LiveView live;
    CHECK(live.platform() == Platform::Linux);
    const auto rs = evaluate(live, {});
    REQUIRE(rs.size() == 6);
    for (std::size_t i = 0; i < rs.size(); ++i) {
        CAPTURE(rs[i].id);
        CAPTURE(rs[i].summary);
        CHECK(rs[i].id == kCheckIds[i]);
        CHECK(!rs[i].summary.empty());
        CHECK(rs[i].summary.find("PLACEHOLDER") == std::string::npos);
        if (rs[i].status != Status::Pass) CHECK(!rs[i].remediation.empty());
        CHECK(rs[i].evidence.find("internal_error") == rs[i].evidence.end());
    }
}

TEST_CASE("live: facts of this machine") {
    LiveView live;
    const auto rs = evaluate(live, {});

    // os_version: the os-release ID and VERSION_ID, read here directly, are in the evidence,
    // and with no minimum required the check passes.
    const auto os = text::key_value_map(slurp("/etc/os-release"), '=');
    const auto& osr = find(rs, "os_version");
    CAPTURE(osr.summary);
    CHECK(osr.status == Status::Pass);
    std::string id = os.count("id") ? os.at("id") : "";
    CHECK(json::dump(json::Value(osr.evidence)).find("\"" + id + "\"") != std::string::npos);
    Requirements too_new;
    too_new.min_os_version[id] = "9999";
    CHECK(evaluate_one(live, too_new, "os_version").status == Status::Fail);

    // disk_encryption: a root filesystem straight on a disk or partition (no device-mapper
    // layer, not ZFS) is not encrypted.
    const auto [dev, type] = root_mount();
    CAPTURE(dev);
    CAPTURE(type);
    const auto& disk = find(rs, "disk_encryption");
    CAPTURE(disk.summary);
    const bool plain = dev.rfind("/dev/", 0) == 0 && dev.rfind("/dev/mapper/", 0) != 0 && dev.rfind("/dev/dm-", 0) != 0 &&
                       dev.rfind("/dev/md", 0) != 0 && type != "zfs";
    if (plain) CHECK(disk.status == Status::Fail);
    else CHECK(disk.status != Status::Pass);  // whatever it is, these CI machines are not encrypted

    // screen_lock: no desktop session here, so the check cannot tell.
    const auto& lock = find(rs, "screen_lock");
    CAPTURE(lock.summary);
    if (!desktop_running()) CHECK(lock.status == Status::Unknown);
}

TEST_CASE("live: a captured snapshot holds what the checks read and replays to the same results") {
    char tmpl[] = "/tmp/ztna-posture-live-XXXXXX";
    REQUIRE(::mkdtemp(tmpl));
    const std::string dir = std::string(tmpl) + "/snap";
    LiveView live;
    RecordingView rec(live);
    const auto at_capture = evaluate(rec, {});
    auto w = write_snapshot(rec.recorded(), dir);
    REQUIRE_MESSAGE(w, (w ? "" : w.error().message));
    CHECK(fs::exists(dir + "/fs/etc/os-release"));
    CHECK(fs::exists(dir + "/fs/proc/mounts"));
    auto snap = SnapshotView::open(dir);
    REQUIRE(snap);
    const auto replay = evaluate(*snap, {});
    REQUIRE(replay.size() == at_capture.size());
    for (std::size_t i = 0; i < replay.size(); ++i) {
        CAPTURE(replay[i].id);
        CHECK(json::dump(to_json(replay[i])) == json::dump(to_json(at_capture[i])));
    }
    // Nothing secret: no file of the snapshot comes from a forbidden place.
    for (const auto& e : fs::recursive_directory_iterator(dir + "/fs"))
        if (e.is_regular_file()) CHECK(!forbidden_path("/" + fs::relative(e.path(), dir + "/fs").string()));
    std::error_code ec;
    fs::remove_all(tmpl, ec);
}
