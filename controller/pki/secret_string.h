// A string holding a secret (a private key PEM, a token): wiped when it is
// destroyed or reassigned, never printed (no operator<<).
#pragma once

#include <string.h>

#include <string>
#include <utility>

namespace ztna::controller {

class SecretString {
public:
    SecretString() = default;
    explicit SecretString(std::string s) : s_(std::move(s)) {}
    SecretString(const SecretString& o) : s_(o.s_) {}
    SecretString(SecretString&& o) noexcept : s_(std::move(o.s_)) { o.wipe(); }
    SecretString& operator=(SecretString o) noexcept {
        wipe();
        s_.swap(o.s_);
        return *this;
    }
    ~SecretString() { wipe(); }

    const std::string& reveal() const { return s_; }
    bool empty() const { return s_.empty(); }

private:
    void wipe() noexcept {
        if (!s_.empty()) explicit_bzero(s_.data(), s_.size());
        s_.clear();
    }
    std::string s_;
};

}  // namespace ztna::controller
