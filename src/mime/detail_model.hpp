// Internals shared by the message model, serialiser and builder.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace mailwire::mime::detail {

/// `bytes` random bytes as upper-case hex (std::random_device-seeded generator).
std::string random_hex(std::size_t bytes);
/// Removes the line breaks of folding (RFC 5322 §2.2.3).
std::string unfold(std::string_view v);
/// Message ids ("<a@b> <c@d>") without angle brackets.
std::vector<std::string> message_ids(std::string_view v);

}  // namespace mailwire::mime::detail
