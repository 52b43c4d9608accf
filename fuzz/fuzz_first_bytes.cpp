// Fuzzes the greeting classifier that drives the plaintext/TLS mix-up diagnostics.
#include <cstddef>
#include <cstdint>
#include <string>

#include "mailwire/net/stream.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto f = mailwire::net::classify_first_bytes(std::string_view(reinterpret_cast<const char*>(data), size));
    if (f.first_line.size() > 120) __builtin_trap();
    return 0;
}
