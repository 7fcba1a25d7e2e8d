// The views: catalogue rules, the snapshot directory (reading, writing, hostile
// contents), the recorder, and running commands with a timeout and a cap.
#include <doctest/doctest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "command_catalogue.h"
#include "engine.h"
#include "posture_table.h"
#include "recording_view.h"
#include "run_command.h"
#include "snapshot_view.h"

namespace fs = std::filesystem;
using namespace ztna;
using namespace ztna::posture;

namespace {

struct TempDir {
    fs::path path;
    TempDir() {
        char tmpl[] = "/tmp/ztna-posture-test-XXXXXX";
        REQUIRE(::mkdtemp(tmpl));
        path = tmpl;
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
};

void put(const fs::path& p, const std::string& content) {
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << content;
}

}  // namespace

TEST_CASE("catalogue: tokens, parameters, forbidden paths") {
    CHECK(valid_token("lsblk"));
    CHECK(valid_token("loginctl-session"));
    CHECK(!valid_token(""));
    CHECK(!valid_token(".."));
    CHECK(!valid_token("a/b"));
    CHECK(!valid_token("a b"));
    CHECK(!valid_token(std::string(65, 'a')));
    CHECK(command_key("x", "") == "x");
    CHECK(command_key("x", "2") == "x@2");
    const CommandSpec spec{"t", "runuser -u {arg} -- id -u", "test"};
    CHECK(takes_arg(spec));
    CHECK(command_argv(spec, "alice") == std::vector<std::string>{"runuser", "-u", "alice", "--", "id", "-u"});
    CHECK(!check_command(Platform::Linux, "no-such-command", ""));
    CHECK(!check_query(Platform::Windows, "no-such-query"));
    for (const char* p : {"/etc/shadow", "/var/lib/ztna/device.key", "/root/.ssh/id_ed25519", "relative/path",
                          "/proc/../etc/shadow", "/dev/sda", "/etc/ssl/private/x.pem"})
        CHECK_MESSAGE(forbidden_path(p), p);
    CHECK(!forbidden_path("/proc/mounts"));
    CHECK(!forbidden_path("/etc/os-release"));
}

TEST_CASE("snapshot: missing or wrong platform and collected_at are clear errors") {
    TempDir d;
    auto none = SnapshotView::open(d.path.string());
    REQUIRE(!none);
    CHECK(none.error().message.find("platform") != std::string::npos);
    put(d.path / "platform", "beos\n");
    auto bad = SnapshotView::open(d.path.string());
    REQUIRE(!bad);
    CHECK(bad.error().message.find("beos") != std::string::npos);
    put(d.path / "platform", "Windows\r\n");
    auto no_time = SnapshotView::open(d.path.string());
    REQUIRE(!no_time);
    CHECK(no_time.error().message.find("collected_at") != std::string::npos);
    put(d.path / "collected_at", "yesterday");
    CHECK(!SnapshotView::open(d.path.string()));
    put(d.path / "collected_at", "1764806400\n");
    auto ok = SnapshotView::open(d.path.string());
    REQUIRE(ok);
    CHECK(ok->platform() == Platform::Windows);
    CHECK(ok->now() == 1764806400);
}

TEST_CASE("snapshot: a FIFO, a directory or a path escape in a hostile snapshot is refused, not waited on") {
    TempDir d;
    put(d.path / "platform", "linux\n");
    put(d.path / "collected_at", "1764806400\n");
    fs::create_directories(d.path / "fs/proc");
    REQUIRE(::mkfifo((d.path / "fs/proc/mounts").c_str(), 0600) == 0);
    fs::create_directories(d.path / "fs/etc/os-release");
    put(d.path / "secret", "do not read");
    auto v = SnapshotView::open(d.path.string());
    REQUIRE(v);
    CHECK(!v->file("/proc/mounts"));
    CHECK(!v->file("/etc/os-release"));
    CHECK(!v->file("/../secret"));
    CHECK(!v->file("../secret"));
    // And every check still answers (unknown: nothing readable).
    for (const auto& r : evaluate(*v, {})) CHECK(r.status == Status::Unknown);
}

TEST_CASE("recorder and writer: a snapshot holds exactly what was read and replays the same") {
    MemoryView m(Platform::Linux, 1764806400);
    m.files["/etc/os-release"] = "ID=debian\nVERSION_ID=\"12\"\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n";
    m.files["/proc/sys/kernel/osrelease"] = "6.1.0-27-amd64\n";
    m.files["/etc/unrelated"] = "never read by a probe";
    RecordingView rec(m);
    const auto live = evaluate(rec, {});
    CHECK(rec.recorded().files.count("/etc/os-release") == 1);
    CHECK(rec.recorded().files.count("/etc/unrelated") == 0);

    TempDir d;
    const std::string dir = (d.path / "snap").string();
    auto w = write_snapshot(rec.recorded(), dir);
    REQUIRE_MESSAGE(w, (w ? "" : w.error().message));
    CHECK(fs::exists(dir + "/fs/etc/os-release"));
    CHECK(!fs::exists(dir + "/fs/etc/unrelated"));
    auto snap = SnapshotView::open(dir);
    REQUIRE(snap);
    const auto replay = evaluate(*snap, {});
    REQUIRE(replay.size() == live.size());
    for (std::size_t i = 0; i < live.size(); ++i) CHECK(json::dump(to_json(replay[i])) == json::dump(to_json(live[i])));
    // A second capture into the same, now non-empty, directory is refused.
    auto again = write_snapshot(rec.recorded(), dir);
    REQUIRE(!again);
    CHECK(again.error().message.find("not empty") != std::string::npos);
}

TEST_CASE("run_command: output, exit status, not installed, timeout kills the group, output cap") {
    auto ok = run_command({"sh", "-c", "echo out; echo err >&2; exit 3"}, 3000, 1024);
    REQUIRE(ok);
    CHECK(ok->out == "out\n");
    CHECK(ok->err == "err\n");
    CHECK(ok->status == 3);
    CHECK(!ok->timed_out);

    auto env = run_command({"sh", "-c", "echo $LC_ALL:$HOME"}, 3000, 1024);
    REQUIRE(env);
    CHECK(env->out == "C:\n");

    auto missing = run_command({"ztna-no-such-program"}, 3000, 1024);
    REQUIRE(!missing);
    CHECK(missing.error().message.find("not installed") != std::string::npos);
    CHECK(!run_command({}, 1000, 10));

    // A child that keeps the pipe open in the background is killed with its group.
    auto slow = run_command({"sh", "-c", "sleep 30 & sleep 30"}, 300, 1024);
    REQUIRE(slow);
    CHECK(slow->timed_out);

    // One that closes its output and lingers is not waited for past the deadline either.
    auto lingering = run_command({"sh", "-c", "exec >&- 2>&-; sleep 30"}, 300, 1024);
    REQUIRE(lingering);
    CHECK(lingering->timed_out);

    auto big = run_command({"yes"}, 3000, 10000);
    REQUIRE(big);
    CHECK(big->out.size() == 10000);
}

TEST_CASE("the table: every check on its rows, remediation under the summary, wrapped") {
    const std::vector<CheckResult> rs = {
        CheckResult::pass("os_version", "Debian 12 (kernel 6.1); no minimum version is required."),
        CheckResult::fail("firewall", std::string(150, 'x') + " word", "Turn on the firewall: sudo ufw enable")};
    const std::string t = format_table(rs, 80);
    CHECK(t.find("os_version       PASS     Debian 12") != std::string::npos);
    CHECK(t.find("firewall         FAIL     ") != std::string::npos);
    CHECK(t.find("                          To fix: Turn on the firewall: sudo ufw enable") != std::string::npos);
    std::size_t start = 0, lines = 0;
    for (std::size_t nl; (nl = t.find('\n', start)) != std::string::npos; start = nl + 1, ++lines)
        CHECK(nl - start <= 26 + 150);  // only the one unbreakable 150-byte word may pass the width
    CHECK(lines >= 5);
}
