#include "posture_cli.h"

#include <cstdlib>
#include <memory>

#include "engine.h"
#include "live_view.h"
#include "posture_table.h"
#include "recording_view.h"
#include "snapshot_view.h"

namespace ztna::agent {

namespace {

constexpr const char* kUsage =
    "usage: ztnactl posture [--json] [--snapshot DIR] [--requirements FILE]\n"
    "       ztnactl posture snapshot DIR [--requirements FILE]\n"
    "\n"
    "Evaluates the device posture checks (disk_encryption, antivirus, managed_device, firewall,\n"
    "os_version, screen_lock) on this machine, or on a snapshot captured earlier, and prints\n"
    "each check's status, why, and what to do. `snapshot DIR` captures exactly what the checks\n"
    "read from this machine into DIR (a new directory), to replay or to send to your helpdesk.\n"
    "--requirements FILE: the organization's thresholds as JSON (see docs/posture.md).\n";

struct Options {
    bool json = false;
    bool capture = false;
    std::string snapshot;
    std::string requirements;
};

}  // namespace

int posture_cli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
    Options o;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        const auto value = [&](std::string& into) {
            if (i + 1 >= args.size() || args[i + 1].empty()) return false;
            into = args[++i];
            return true;
        };
        if (a == "--json") {
            o.json = true;
        } else if (a == "--snapshot") {
            if (!value(o.snapshot)) return err << "ztnactl posture: --snapshot needs a directory\n" << kUsage, 2;
        } else if (a == "--requirements") {
            if (!value(o.requirements)) return err << "ztnactl posture: --requirements needs a file\n" << kUsage, 2;
        } else if (a == "snapshot" && i == 0) {
            o.capture = true;
            if (!value(o.snapshot)) return err << "ztnactl posture snapshot: name the directory to create\n" << kUsage, 2;
        } else if (a == "-h" || a == "--help") {
            out << kUsage;
            return 0;
        } else {
            err << "ztnactl posture: unknown argument \"" << a << "\"\n" << kUsage;
            return 2;
        }
    }

    posture::Requirements req;
    if (!o.requirements.empty()) {
        auto raw = posture::read_regular_file(o.requirements, 1u << 20);
        if (!raw) return err << "ztnactl posture: cannot read requirements: " << raw.error().message << "\n", 1;
        auto v = json::parse(*raw);
        if (!v) return err << "ztnactl posture: " << o.requirements << ": " << v.error().message << "\n", 1;
        auto r = posture::requirements_from_json(*v);
        if (!r) return err << "ztnactl posture: " << o.requirements << ": " << r.error().message << "\n", 1;
        req = *r;
    }

    if (o.capture) {
        if (o.json) return err << "ztnactl posture snapshot: --json does not apply to a capture\n", 2;
        posture::LiveView live;
        auto r = posture::capture_snapshot(live, req, o.snapshot);
        if (!r) return err << "ztnactl posture snapshot: " << r.error().message << "\n", 1;
        out << "Captured what the posture checks read from this machine into " << o.snapshot << "\n"
            << "Evaluate it with: ztnactl posture --snapshot " << o.snapshot << "\n";
        return 0;
    }

    std::unique_ptr<posture::SystemView> view;
    if (!o.snapshot.empty()) {
        auto s = posture::SnapshotView::open(o.snapshot);
        if (!s) return err << "ztnactl posture: " << s.error().message << "\n", 1;
        view = std::make_unique<posture::SnapshotView>(std::move(*s));
    } else {
        view = std::make_unique<posture::LiveView>();
    }
    const auto results = posture::evaluate(*view, req);
    if (o.json) {
        json::Object doc;
        doc["platform"] = std::string(posture::platform_name(view->platform()));
        doc["collected_at"] = json::Value(view->now());
        doc["source"] = o.snapshot.empty() ? std::string("live") : "snapshot " + o.snapshot;
        doc["results"] = posture::to_json(results);
        out << json::dump_pretty(doc) << "\n";
    } else {
        const char* cols = std::getenv("COLUMNS");
        const int width = cols && std::atoi(cols) >= 60 ? std::atoi(cols) : 100;
        out << (o.snapshot.empty() ? std::string("Posture of this machine") : "Posture of snapshot " + o.snapshot)
            << " (" << posture::platform_name(view->platform()) << ")\n\n"
            << posture::format_table(results, std::size_t(width));
    }
    return 0;
}

}  // namespace ztna::agent
