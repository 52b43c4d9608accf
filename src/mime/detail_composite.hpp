// The transfer-encoding rule for composite types (RFC 2045 §6.4, RFC 2046 §5.1 and §5.2): a
// multipart or message entity is never base64- or quoted-printable-encoded; its body is 7bit,
// 8bit or binary, chosen from what it holds. Every place that sets or writes a
// Content-Transfer-Encoding goes through check_composite_encoding.
#pragma once

#include <cstddef>
#include <string_view>

#include "mailwire/mime/encoding.hpp"
#include "mailwire/mime/params.hpp"

namespace mailwire::mime {
class entity;
}

namespace mailwire::mime::detail {

/// multipart/*, or message/* other than the RFC 6532 message/global family (which may be
/// encoded).
bool is_composite(const content_type& ct) noexcept;

/// 7bit, 8bit or binary.
bool is_identity(transfer_encoding e) noexcept;

/// Throws mailwire::error (invalid_argument) when `ct` is composite and `e` is not an identity
/// encoding.
void check_composite_encoding(const content_type& ct, transfer_encoding e);

/// Which identity encoding a body fits, read in pieces: 7bit (US-ASCII without NUL, lines of at
/// most 998 octets), 8bit (8-bit bytes too), binary (a NUL, or a longer line). CRLF, LF and CR
/// all end a line (SMTP submission makes each a CRLF).
class identity_scan {
public:
    void feed(std::string_view bytes) noexcept;
    [[nodiscard]] transfer_encoding result() const noexcept;

private:
    std::size_t line_ = 0;
    bool eight_ = false;
    bool binary_ = false;
};

}  // namespace mailwire::mime::detail
