// grind(): feed an input whole, split at every offset, and one byte at a time (after Beast).
// Codec tests use it so results cannot depend on where the network splits the bytes.
#pragma once

#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace mailwire::test {

/// Calls `run` with every chunking of `input`: whole, each two-way split, and byte by byte.
/// `run` receives the chunks in order and must return the parsed result as a comparable value.
template <class Run>
void grind(std::string_view input, Run&& run) {
    std::vector<std::string_view> chunks{input};
    auto expected = run(chunks);
    for (std::size_t i = 1; i < input.size(); ++i) {
        chunks = {input.substr(0, i), input.substr(i)};
        auto got = run(chunks);
        if (!(got == expected)) throw std::runtime_error("result differs when split at offset " + std::to_string(i));
    }
    chunks.clear();
    for (std::size_t i = 0; i < input.size(); ++i) chunks.push_back(input.substr(i, 1));
    if (!(run(chunks) == expected)) throw std::runtime_error("result differs when fed one byte at a time");
}

}  // namespace mailwire::test
