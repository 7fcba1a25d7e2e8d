// A fresh temporary directory per test, removed with everything in it.
#pragma once

#include <string>

struct TestDir {
    TestDir();
    ~TestDir();
    TestDir(const TestDir&) = delete;
    TestDir& operator=(const TestDir&) = delete;
    std::string path;
    std::string operator/(const std::string& name) const { return path + "/" + name; }
};

// Writes data to path (replacing it); false on failure.
bool write_file(const std::string& path, const std::string& data);
std::string read_file(const std::string& path);
