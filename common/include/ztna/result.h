// A small Result<T> with the std::expected interface (C++23), for expected
// failures at module boundaries. Errors carry a message that says what failed,
// on what input, and what to do.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace ztna {

struct Error {
    std::string message;
    // A stable machine-readable code for the failures callers tell apart
    // ("token_used", "expired"...); empty when there is only the message.
    std::string code = {};
};

template <typename E>
struct Unexpected {
    E error;
};

inline Unexpected<Error> fail(std::string message) { return {Error{std::move(message)}}; }
inline Unexpected<Error> fail(std::string code, std::string message) { return {Error{std::move(message), std::move(code)}}; }

template <typename T>
class [[nodiscard]] Result {
public:
    Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}
    Result(Unexpected<Error> e) : v_(std::in_place_index<1>, std::move(e.error)) {}

    bool has_value() const { return v_.index() == 0; }
    explicit operator bool() const { return has_value(); }
    T& value() & { return std::get<0>(v_); }
    const T& value() const& { return std::get<0>(v_); }
    T&& value() && { return std::get<0>(std::move(v_)); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }
    const Error& error() const { return std::get<1>(v_); }

private:
    std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
public:
    Result() = default;
    Result(Unexpected<Error> e) : err_(std::move(e.error)), ok_(false) {}
    bool has_value() const { return ok_; }
    explicit operator bool() const { return ok_; }
    const Error& error() const { return err_; }

private:
    Error err_;
    bool ok_ = true;
};

}  // namespace ztna
