#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include "crypto.h"

int main(int argc, char** argv) {
    ztna::tunnel::crypto::init();
    doctest::Context ctx(argc, argv);
    return ctx.run();
}
