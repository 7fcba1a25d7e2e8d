// What every entry point of the sans-I/O core is handed: the time and a
// source of randomness. The core never reads a clock or a global RNG.
#pragma once

#include <chrono>

#include "constants.h"
#include "rng.h"

namespace ztna::tunnel {

struct Env {
    Duration now;                // monotonic time; only differences matter
    std::chrono::nanoseconds wall;  // Unix time, for TAI64N timestamps and last-handshake reports
    Rng& rng;
    bool under_load = false;     // the embedder's verdict: demand cookies (mac2) on handshakes
};

}  // namespace ztna::tunnel
