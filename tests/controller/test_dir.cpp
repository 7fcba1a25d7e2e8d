#include "test_dir.h"

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

TestDir::TestDir() {
    char tmpl[] = "/tmp/ztna-controller-test-XXXXXX";
    if (!mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
    path = tmpl;
}

TestDir::~TestDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
}

bool write_file(const std::string& path, const std::string& data) {
    std::ofstream o(path, std::ios::binary | std::ios::trunc);
    o << data;
    return bool(o);
}

std::string read_file(const std::string& path) {
    std::ifstream i(path, std::ios::binary);
    std::ostringstream ss;
    ss << i.rdbuf();
    return ss.str();
}
