// posture_bench: how long a full posture collection takes on this machine
// (every check, live, as ztnactl posture and the agent run it), over N runs:
// median, 90th percentile and maximum, and the median of each check alone.
// Usage: posture_bench [--runs N] [--markdown]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "engine.h"
#include "live_view.h"

using namespace ztna::posture;
using Clock = std::chrono::steady_clock;

namespace {

double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

double percentile(std::vector<double> v, double p) {
    std::sort(v.begin(), v.end());
    const std::size_t i = std::min(v.size() - 1, std::size_t(p * double(v.size() - 1) + 0.5));
    return v[i];
}

}  // namespace

int main(int argc, char** argv) {
    int runs = 30;
    bool markdown = false;
    for (int i = 1; i < argc; ++i) {
        if (!std::strcmp(argv[i], "--runs") && i + 1 < argc) runs = std::max(1, std::atoi(argv[++i]));
        else if (!std::strcmp(argv[i], "--markdown")) markdown = true;
        else {
            std::fprintf(stderr, "usage: posture_bench [--runs N] [--markdown]\n");
            return 2;
        }
    }
    const Requirements req;
    std::vector<double> full;
    std::vector<std::vector<double>> per(std::size(kCheckIds));
    std::vector<std::string> statuses(std::size(kCheckIds));
    for (int r = 0; r < runs; ++r) {
        LiveView live;
        const auto t0 = Clock::now();
        const auto results = evaluate(live, req);
        full.push_back(ms_since(t0));
        for (std::size_t c = 0; c < std::size(kCheckIds); ++c) {
            const auto t1 = Clock::now();
            const auto one = evaluate_one(live, req, kCheckIds[c]);
            per[c].push_back(ms_since(t1));
            statuses[c] = std::string(status_name(one.status));
        }
    }
    if (markdown) {
        std::printf("| measure (%d runs) | median ms | p90 ms | max ms |\n|---|---:|---:|---:|\n", runs);
        std::printf("| full collection, all six checks | %.2f | %.2f | %.2f |\n", percentile(full, 0.5),
                    percentile(full, 0.9), percentile(full, 1.0));
        for (std::size_t c = 0; c < per.size(); ++c)
            std::printf("| %s alone (%s here) | %.2f | %.2f | %.2f |\n", std::string(kCheckIds[c]).c_str(),
                        statuses[c].c_str(), percentile(per[c], 0.5), percentile(per[c], 0.9), percentile(per[c], 1.0));
    } else {
        std::printf("full collection over %d runs: median %.2f ms, p90 %.2f ms, max %.2f ms\n", runs,
                    percentile(full, 0.5), percentile(full, 0.9), percentile(full, 1.0));
        for (std::size_t c = 0; c < per.size(); ++c)
            std::printf("  %-16s median %7.2f ms  (%s)\n", std::string(kCheckIds[c]).c_str(), percentile(per[c], 0.5),
                        statuses[c].c_str());
    }
    return 0;
}
