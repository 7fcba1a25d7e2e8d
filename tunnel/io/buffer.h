// A fixed-size byte buffer whose pages the kernel maps only when first
// written: large per-thread packet buffers cost no memory while idle.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

namespace ztna::tunnel::io {

class Buffer {
public:
    explicit Buffer(std::size_t n) : data_(std::make_unique_for_overwrite<std::uint8_t[]>(n)), size_(n) {}
    std::uint8_t* data() { return data_.get(); }
    const std::uint8_t* data() const { return data_.get(); }
    std::size_t size() const { return size_; }
    operator std::span<std::uint8_t>() { return {data(), size_}; }

private:
    std::unique_ptr<std::uint8_t[]> data_;
    std::size_t size_;
};

}  // namespace ztna::tunnel::io
